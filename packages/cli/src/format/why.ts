/** `why` for people (a tree: workspace files expanded, system files grouped) and as JSON (DESIGN section 6). */
import { basename } from 'node:path';
import { describe } from '../engine/reasons.js';
import type { LineageNode, ProducerNode, VersionInfo } from '../provenance/lineage.js';
import type { Staleness, WhyAnswer } from '../provenance/why.js';
import { pathOfKey } from '@prov-make/cache/workspace-key';
import { shownPath } from '../workspace/paths.js';
import { describeJob } from './history.js';
import { formatAgo, formatDuration, formatSize, formatTime, mtimeMs, shortHash } from './units.js';

/** How a file changed between two versions: "10.2 kB -> 12.0 kB, 3 min ago". */
function describeContentChange(used: VersionInfo | null, now: VersionInfo): string {
  const when = mtimeMs(now);
  const ago = when !== null ? `, ${formatAgo(when)}` : '';
  if (used?.size !== null && used?.size !== undefined && used.size !== now.size) return `${formatSize(used.size)} -> ${formatSize(now.size)}${ago}`;
  return `same size (${formatSize(now.size)}), different content${ago}`;
}

export function describeStaleness(s: Staleness): string {
  switch (s.kind) {
    case 'deleted-after-write': return `${shownPath(s.path)} was deleted (step ${s.step} wrote it last)`;
    case 'modified-after-write': return `${shownPath(s.path)} was modified after step ${s.step} wrote it${s.written ? `: ${describeContentChange(s.written, s.now)}` : ''}`;
    case 'input-changed': return s.now ? `${shownPath(s.path)} changed: ${describeContentChange(s.used, s.now)}` : `${shownPath(s.path)} was deleted`;
    case 'step-edited': return `the definition of step ${s.step} changed since it made this`;
    case 'step-would-run': return `step ${s.step} would run: ${describe(s.reason)}`;
  }
}

export function formatWhy(a: WhyAnswer, options: { all?: boolean; depth?: number } = {}): string {
  const lines: string[] = [];
  const source = !a.lineage.producedBy && !a.modifiedAfter && a.readBy.length > 0;
  const head = !a.exists && !a.known
    ? `${shownPath(a.path)}: prov-make has no record of this file`
    : source
      ? `${shownPath(a.path)}: a source file (no step wrote it)`
      : a.upToDate
        ? `${shownPath(a.path)}: up to date`
        : `${shownPath(a.path)}: stale: ${a.staleBecause[0] ? describeStaleness(a.staleBecause[0]) : 'it does not exist'}`;
  lines.push(head);
  for (const more of a.staleBecause.slice(1)) lines.push(`  also: ${describeStaleness(more)}`);
  const root = a.lineage;
  const v = root.current;
  lines.push(`${shownPath(root.path)}  ${v ? `${formatSize(v.size)}  ${shortHash(v.hash)}  modified ${formatAgo(mtimeMs(v) ?? Date.now())}` : '(not on disk)'}`);
  if (root.producedBy) {
    producer(root.producedBy, '', lines, options, new Set(), 1);
  } else if (a.modifiedAfter) {
    lines.push(`└─ no step wrote this version; step ${a.modifiedAfter.step} wrote it last, ${formatTime(a.modifiedAfter.finishedAt)}`);
    lines.push(`   $ ${a.modifiedAfter.definition.run}`);
  } else if (a.readBy.length) {
    lines.push(`└─ a source file: no step wrote it; read by ${a.readBy.map((s) => `step ${s}`).join(', ')}`);
  } else if (a.known) {
    lines.push('└─ no step wrote this version');
  }
  return lines.join('\n') + '\n';
}

function producer(p: ProducerNode, indent: string, lines: string[], options: { all?: boolean; depth?: number }, shown: Set<string>, level: number) {
  const e = p.execution;
  if (shown.has(e.id)) {
    lines.push(`${indent}└─ made by step ${p.step} (see above)`);
    return;
  }
  const note = p.history === 'removed' ? '  [history: step no longer in pipeline.yml]' : p.history === 'edited' ? '  [history: step edited since]' : '';
  const how = e.adoptedFrom ? `restored from the cache (it ran as execution ${e.adoptedFrom})` : `ran ${formatDuration(e.finishedAt - e.startedAt)}`;
  lines.push(`${indent}└─ made by step ${p.step}, ${formatTime(e.finishedAt)} (${formatAgo(e.finishedAt)}), ${how}${note}`);
  const inner = indent + '   ';
  lines.push(`${inner}$ ${p.command}`);
  if (e.job) lines.push(`${inner}${describeJob(e.job)}`);
  for (const a of e.annotations) lines.push(`${inner}note: ${a}`);
  shown.add(e.id);
  if (level > (options.depth ?? Infinity)) {
    lines.push(`${inner}… (--depth ${options.depth} reached)`);
    return;
  }
  const workspace = p.inputs.filter((n) => !n.system || options.all);
  const system = options.all ? [] : p.inputs.filter((n) => n.system);
  const rows = workspace.length + (system.length ? 1 : 0);
  workspace.forEach((n, i) => {
    const last = i === rows - 1;
    lines.push(`${inner}${last ? '└─' : '├─'} ${nodeLine(n)}`);
    if (n.producedBy) producer(n.producedBy, inner + (last ? '   ' : '│  '), lines, options, shown, level + 1);
  });
  if (system.length) {
    const programs = system.filter((n) => n.executed && !/\.so(\.|$)/.test(n.path)).map((n) => shownPath(basename(n.path)));
    const sample = [...new Set(programs)].slice(0, 4).join(', ');
    lines.push(`${inner}└─ ${system.length} system files${sample ? ` (${sample}, …)` : ''}: --all lists them`);
  }
}

function nodeLine(n: LineageNode): string {
  const v = n.version;
  const kind = n.executed ? (/\.so(\.|$)/.test(n.path) ? 'library' : 'program') : n.producedBy ? '' : n.system ? '' : 'source';
  const change = n.changed ? (n.current ? `  CHANGED since: now ${formatSize(n.current.size)}` : '  DELETED since') : '';
  const size = v?.kind === 'symlink' ? 'symlink' : formatSize(v?.size ?? null); // its target is listed beside it
  return `${shownPath(n.path)}  ${size}  ${shortHash(v?.hash)}${kind ? `  ${kind}` : ''}${change}`;
}

/**
 * DESIGN section 6, with each execution named once: `producedBy` (of the file, and of each input) is
 * an execution id or null, and `executions` maps each id to its step, command, times and inputs. A
 * tree where one step made many inputs of another repeats nothing. Paths keep their bytes: one that
 * is not UTF-8 has \udcXX escapes (Python's surrogateescape).
 */
export function whyJson(a: WhyAnswer, depth = Infinity) {
  const executions: Record<string, unknown> = {};
  const named = (p: ProducerNode | null, level: number): string | null => {
    if (!p) return null;
    const id = p.execution.id;
    if (id in executions) return id;
    executions[id] = null; // claimed before its inputs are walked: a loop refers back to it
    // As in the text: the step beyond --depth is named, its inputs are not listed.
    const inputs = level > depth ? [] : p.inputs.map((n) => ({
      path: pathOfKey(n.path),
      system: n.system,
      executed: n.executed,
      size: n.version?.size ?? null,
      mtimeNs: n.version?.mtimeNs ?? null,
      hash: n.version?.hash ?? null,
      changed: n.changed,
      producedBy: named(n.producedBy, level + 1),
    }));
    executions[id] = {
      step: p.step,
      command: p.command,
      startedAt: new Date(p.execution.startedAt).toISOString(),
      finishedAt: new Date(p.execution.finishedAt).toISOString(),
      durationMs: p.execution.finishedAt - p.execution.startedAt,
      ...(p.execution.adoptedFrom ? { restoredFrom: p.execution.adoptedFrom } : {}),
      history: p.history,
      annotations: p.execution.annotations,
      ...(p.execution.job ? { job: p.execution.job } : {}),
      ...(level > depth ? { truncated: true } : {}),
      inputs,
    };
    return id;
  };
  const producedBy = named(a.lineage.producedBy, 1);
  return {
    path: pathOfKey(a.path),
    exists: a.exists,
    upToDate: a.upToDate,
    staleBecause: a.staleBecause.map(describeStaleness),
    producedBy,
    executions,
    ...(a.lineage.producedBy ? {} : { source: a.readBy.length > 0, readBy: a.readBy }),
  };
}
