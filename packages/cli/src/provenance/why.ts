/**
 * `why FILE`: which step and command made the version on disk, from which input versions, down to
 * the sources; whether it is up to date now and, if not, the exact change that made it stale.
 */
import picomatch from 'picomatch';
import type { ExecutionRecord } from '@prov-make/cache';
import { pathOfKey } from '@prov-make/cache/workspace-key';
import type { Reason } from '../engine/reasons.js';
import type { RunReport } from '../engine/report.js';
import { buildLineage, walk, type LineageContext, type LineageNode, type ProducerNode, type VersionInfo } from './lineage.js';

/** Why a file is stale: typed, said in words by describeStaleness (format/why.ts). */
export type Staleness =
  | { kind: 'deleted-after-write'; path: string; step: string }
  | { kind: 'modified-after-write'; path: string; step: string; written: VersionInfo | null; now: VersionInfo }
  | { kind: 'input-changed'; path: string; used: VersionInfo | null; now: VersionInfo | null }
  | { kind: 'step-edited'; step: string }
  | { kind: 'step-would-run'; step: string; reason: Reason };

export interface WhyAnswer {
  path: string;
  exists: boolean;
  /** The tool has a record of the file: some step wrote or read it. */
  known: boolean;
  upToDate: boolean;
  staleBecause: Staleness[];
  /** A file no step wrote: the steps that read it. */
  readBy: string[];
  /** The file on disk is not a version any step wrote (hand-edited, or written outside the pipeline). */
  modifiedAfter: ExecutionRecord | null;
  lineage: LineageNode;
}

/** Reasons a plan gives that the lineage walk does not already show better (input changes, upstream steps). */
function planReasons(plan: RunReport | null): Map<string, Reason> {
  const shown = new Set<Reason['kind']>(['input-changed', 'input-deleted', 'upstream-would-run']);
  const reasons = new Map<string, Reason>();
  for (const s of plan?.steps ?? []) if (s.status === 'would-run' && !shown.has(s.reason.kind)) reasons.set(s.name, s.reason);
  return reasons;
}

/** The same input change met twice in the tree is said once (the same file, the same kind of change). */
function changeKey(path: string, used: VersionInfo | null, now: VersionInfo | null): string {
  if (!now) return `${path}\0deleted`;
  return `${path}\0${used?.size !== null && used?.size !== undefined && used.size !== now.size ? used.size : 'same size'}`;
}

export async function explainFile(ctx: LineageContext, stored: string, plan: RunReport | null = null): Promise<WhyAnswer> {
  // Always the whole tree: staleness must not depend on how much of it is displayed.
  const lineage = await buildLineage(ctx, stored);
  const writers = ctx.history.writersOf(stored);
  const readers = ctx.history.readersOf(stored);
  const exists = lineage.current !== null;
  const lastWriter = [...writers].reverse().find((w) => w.status === 'succeeded') ?? writers[writers.length - 1];
  const { staleBecause, modifiedAfter } = historyStaleness(lineage, stored, lastWriter, planReasons(plan));
  const verdict = planVerdict(ctx, plan, stored);
  let because = staleBecause;
  if (verdict) because = verdict.stale ? [...verdict.causes.map((c) => asStaleness(c, staleBecause, lineage)), ...staleBecause].filter(unique()) : [];
  return {
    path: stored,
    exists,
    known: writers.length > 0 || readers.length > 0,
    upToDate: exists && because.length === 0,
    staleBecause: because,
    readBy: [...new Set(readers.map((r) => r.step))],
    modifiedAfter,
    lineage,
  };
}

/** Staleness as the recorded history shows it: the file changed after its writer, inputs changed since they were used. */
function historyStaleness(lineage: LineageNode, stored: string, lastWriter: ExecutionRecord | undefined, reasons: Map<string, Reason>): { staleBecause: Staleness[]; modifiedAfter: ExecutionRecord | null } {
  const staleBecause: Staleness[] = [];
  let modifiedAfter: ExecutionRecord | null = null;
  if (!lineage.producedBy && lastWriter) {
    const out = lastWriter.outputs.find((o) => o.path === stored);
    if (!lineage.current) staleBecause.push({ kind: 'deleted-after-write', path: stored, step: lastWriter.step });
    else {
      modifiedAfter = lastWriter;
      const written = out?.version ? { size: out.version.size, mtimeNs: out.version.mtimeNs, hash: out.hash } : null;
      staleBecause.push({ kind: 'modified-after-write', path: stored, step: lastWriter.step, written, now: lineage.current });
    }
  }
  const seen = new Set<string>();
  for (const { node } of walk(lineage)) {
    if (node === lineage || !node.changed) continue;
    const key = changeKey(node.path, node.version, node.current);
    if (seen.has(key)) continue;
    seen.add(key);
    staleBecause.push({ kind: 'input-changed', path: node.path, used: node.version, now: node.current });
  }
  const producers: ProducerNode[] = [];
  for (const { node } of walk(lineage)) if (node.producedBy) producers.push(node.producedBy);
  for (const p of new Set(producers)) {
    if (p.history === 'edited') staleBecause.push({ kind: 'step-edited', step: p.step });
    const reason = reasons.get(p.step);
    if (reason) staleBecause.push({ kind: 'step-would-run', step: p.step, reason });
  }
  return { staleBecause, modifiedAfter };
}

/** A step and the reason the plan gives for it. */
interface PlanCause {
  step: string;
  reason: Reason;
}

/**
 * What `status` says of the file, when a step of the pipeline writes it in its latest execution:
 * stale when that step would run, or would restore this very file; the cause is the plan's, from
 * the step up through the steps that would run before it. `why` and `status` then cannot disagree.
 */
function planVerdict(ctx: LineageContext, plan: RunReport | null, stored: string): { stale: boolean; causes: PlanCause[] } | null {
  if (!plan || !ctx.pipeline) return null;
  const byName = new Map(plan.steps.map((s) => [s.name, s]));
  const step = [...ctx.pipeline.steps].reverse().find((s) => byName.has(s.name) && ctx.history.latestForStep(s.name)?.outputs.some((o) => o.path === stored));
  if (!step) return null;
  const report = byName.get(step.name)!;
  const restoresOthers = report.status === 'would-restore' && report.reason.kind === 'outputs-restored' && !report.reason.damaged.some((d) => d.path === stored);
  if (report.status === 'up-to-date' || restoresOthers) return { stale: false, causes: [] };
  let cause: PlanCause = { step: report.name, reason: report.reason };
  for (let hops = 0; cause.reason.kind === 'upstream-would-run' && hops < plan.steps.length; hops++) {
    const upstream = byName.get(cause.reason.step);
    if (!upstream) break;
    cause = { step: upstream.name, reason: upstream.reason };
  }
  return { stale: true, causes: [cause] };
}

/** A cause the plan gives, said as history would say it when history shows it (an input, with its sizes). */
function asStaleness(c: PlanCause, history: Staleness[], lineage: LineageNode): Staleness {
  const r = c.reason.kind === 'from-cache' || c.reason.kind === 'in-cache' ? c.reason.cause : c.reason;
  if (r.kind === 'input-changed' || r.kind === 'input-deleted') {
    const shown = history.find((h) => h.kind === 'input-changed' && h.path === r.path);
    if (shown) return shown;
    for (const { node } of walk(lineage)) if (node.path === r.path && node.version) return { kind: 'input-changed', path: r.path, used: node.version, now: node.current };
  }
  if (r.kind === 'outputs-restored' || r.kind === 'output-lost') {
    const shown = history.find((h) => h.kind === 'modified-after-write' || h.kind === 'deleted-after-write');
    if (shown) return shown;
  }
  if (r.kind === 'definition-changed' && r.change.what === 'command') return { kind: 'step-edited', step: c.step };
  return { kind: 'step-would-run', step: c.step, reason: r };
}

/** A filter keeping the first of equal stalenesses. */
function unique(): (s: Staleness) => boolean {
  const seen = new Set<string>();
  return (s) => {
    const key = JSON.stringify(s);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  };
}

/** `--uses GLOB`: chains from a source matching GLOB up to the file. */
export function usesChains(a: WhyAnswer, glob: string): string[][] {
  const match = picomatch(glob, { dot: true });
  const chains: string[][] = [];
  const seen = new Set<string>();
  const visit = (node: LineageNode, trail: string[]) => {
    const here = [...trail, node.path];
    if (match(pathOfKey(node.path))) {
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
