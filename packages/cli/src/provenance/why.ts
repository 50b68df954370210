/**
 * `why FILE`: which step and command made the version on disk, from which input versions, down to
 * the sources; whether it is up to date now and, if not, the exact change that made it stale.
 */
import picomatch from 'picomatch';
import type { ExecutionRecord } from '@prov-make/cache';
import { buildLineage, walk, type LineageContext, type LineageNode, type ProducerNode } from './lineage.js';
import { describeFileChange } from './describe.js';

export interface WhyAnswer {
  path: string;
  exists: boolean;
  /** The tool has a record of the file: some step wrote or read it. */
  known: boolean;
  upToDate: boolean;
  staleBecause: string[];
  /** A file no step wrote: the steps that read it. */
  readBy: string[];
  /** The file on disk is not a version any step wrote (hand-edited, or written outside the pipeline). */
  modifiedAfter: ExecutionRecord | null;
  lineage: LineageNode;
}

export async function explainFile(
  ctx: LineageContext,
  stored: string,
  options: { planReasons?: Map<string, string> } = {},
): Promise<WhyAnswer> {
  // Always the whole tree: staleness must not depend on how much of it is displayed.
  const lineage = await buildLineage(ctx, stored);
  const writers = ctx.history.writersOf(stored);
  const readers = ctx.history.readersOf(stored);
  const exists = lineage.current !== null;
  const staleBecause: string[] = [];
  let modifiedAfter: ExecutionRecord | null = null;
  const lastWriter = [...writers].reverse().find((w) => w.status === 'succeeded') ?? writers[writers.length - 1];

  if (!lineage.producedBy && lastWriter) {
    const out = lastWriter.outputs.find((o) => o.path === stored);
    if (!exists) staleBecause.push(`${stored} was deleted (step ${lastWriter.step} wrote it last)`);
    else {
      modifiedAfter = lastWriter;
      staleBecause.push(`${stored} was modified after step ${lastWriter.step} wrote it${out?.version ? `: ${describeFileChange(stored, { size: out.version.size, mtimeNs: out.version.mtimeNs, hash: out.hash }, lineage.current).replace(`${stored} changed: `, '')}` : ''}`);
    }
  }
  for (const { node } of walk(lineage)) {
    if (node !== lineage && node.changed) {
      const reason = describeFileChange(node.path, node.version, node.current);
      if (!staleBecause.includes(reason)) staleBecause.push(reason);
    }
  }
  const producers: ProducerNode[] = [];
  for (const { node } of walk(lineage)) if (node.producedBy) producers.push(node.producedBy);
  for (const p of new Set(producers)) {
    if (p.history === 'edited') staleBecause.push(`the definition of step ${p.step} changed since it made this`);
    const planned = options.planReasons?.get(p.step);
    if (planned) staleBecause.push(`step ${p.step} would run: ${planned}`);
  }
  return {
    path: stored,
    exists,
    known: writers.length > 0 || readers.length > 0,
    upToDate: exists && staleBecause.length === 0,
    staleBecause,
    readBy: [...new Set(readers.map((r) => r.step))],
    modifiedAfter,
    lineage,
  };
}

/** DESIGN section 6 shape (with a few more fields). */
export function whyJson(a: WhyAnswer, depth = Infinity) {
  const producer = (p: ProducerNode | null, level = 1): unknown =>
    p && {
      step: p.step,
      command: p.command,
      executionId: p.execution.id,
      startedAt: new Date(p.execution.startedAt).toISOString(),
      finishedAt: new Date(p.execution.finishedAt).toISOString(),
      durationMs: p.execution.finishedAt - p.execution.startedAt,
      history: p.history,
      annotations: p.execution.annotations,
      // As in the text: the step beyond --depth is named, its inputs are not listed.
      ...(level > depth ? { truncated: true } : {}),
      inputs: (level > depth ? [] : p.inputs).map((n) => ({
        path: n.path,
        system: n.system,
        executed: n.executed,
        size: n.version?.size ?? null,
        mtimeNs: n.version?.mtimeNs ?? null,
        hash: n.version?.hash ?? null,
        changed: n.changed,
        producedBy: producer(n.producedBy, level + 1),
      })),
    };
  return {
    path: a.path,
    exists: a.exists,
    upToDate: a.upToDate,
    staleBecause: a.staleBecause,
    producedBy: producer(a.lineage.producedBy),
    ...(a.lineage.producedBy ? {} : { source: a.readBy.length > 0, readBy: a.readBy }),
  };
}

/** `--uses GLOB`: chains from a source matching GLOB up to the file. */
export function usesChains(a: WhyAnswer, glob: string): string[][] {
  const match = picomatch(glob, { dot: true });
  const chains: string[][] = [];
  const seen = new Set<string>();
  const visit = (node: LineageNode, trail: string[]) => {
    const here = [...trail, node.path];
    if (match(node.path)) {
      const key = here.join('\0');
      if (!seen.has(key)) {
        seen.add(key);
        chains.push([...here].reverse());
      }
    }
    const p = node.producedBy;
    if (!p) return;
    for (const child of p.inputs) visit(child, [...here, `[${p.step}]`]);
  };
  visit(a.lineage, []);
  return chains;
}
