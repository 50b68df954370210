/** The `why` tree for people: workspace files expanded, system files grouped and collapsed. */
import { basename } from 'node:path';
import type { LineageNode, ProducerNode } from './lineage.js';
import type { WhyAnswer } from './why.js';
import { formatAgo, formatSize, formatTime, mtimeMs, shortHash } from './describe.js';
import { formatDuration } from '../ui/plain.js';

export function formatWhy(a: WhyAnswer, options: { all?: boolean; depth?: number } = {}): string {
  const lines: string[] = [];
  const source = !a.lineage.producedBy && !a.modifiedAfter && a.readBy.length > 0;
  const head = !a.exists && !a.known
    ? `${a.path}: prov-make has no record of this file`
    : source
      ? `${a.path}: a source file (no step wrote it)`
      : a.upToDate
        ? `${a.path}: up to date`
        : `${a.path}: stale: ${a.staleBecause[0] ?? 'it does not exist'}`;
  lines.push(head);
  for (const more of a.staleBecause.slice(1)) lines.push(`  also: ${more}`);
  const root = a.lineage;
  const v = root.current;
  lines.push(`${root.path}  ${v ? `${formatSize(v.size)}  ${shortHash(v.hash)}  modified ${formatAgo(mtimeMs(v) ?? Date.now())}` : '(not on disk)'}`);
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
  lines.push(`${indent}└─ made by step ${p.step}, ${formatTime(e.finishedAt)} (${formatAgo(e.finishedAt)}), ran ${formatDuration(e.finishedAt - e.startedAt)}${note}`);
  const inner = indent + '   ';
  lines.push(`${inner}$ ${p.command}`);
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
    const programs = system.filter((n) => n.executed && !/\.so(\.|$)/.test(n.path)).map((n) => basename(n.path));
    const sample = [...new Set(programs)].slice(0, 4).join(', ');
    lines.push(`${inner}└─ ${system.length} system files${sample ? ` (${sample}, …)` : ''}: --all lists them`);
  }
}

function nodeLine(n: LineageNode): string {
  const v = n.version;
  const kind = n.executed ? (/\.so(\.|$)/.test(n.path) ? 'library' : 'program') : n.producedBy ? '' : n.system ? '' : 'source';
  const change = n.changed ? (n.current ? `  CHANGED since: now ${formatSize(n.current.size)}` : '  DELETED since') : '';
  const size = v?.kind === 'symlink' ? 'symlink' : formatSize(v?.size ?? null); // its target is listed beside it
  return `${n.path}  ${size}  ${shortHash(v?.hash)}${kind ? `  ${kind}` : ''}${change}`;
}
