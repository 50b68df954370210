/** `trace` output: a group per kind of access for people, one JSON object for scripts (DESIGN section 6). */
import { relative, sep } from 'node:path';
import { describeUntracedReason, type StepDependencies, type TraceResult } from '@prov-make/interposer';
import { displayPath } from './terminal-text.js';

/** `complete`: false when something escaped observation (the problems are warnings on stderr). */
export type TraceJson = { exitCode: number | null; complete: boolean } & Omit<StepDependencies, 'untraced'> & { untraced: string[] };

/** Paths keep their bytes: one that is not UTF-8 has \udcXX escapes (Python's surrogateescape). */
export function traceJson(result: TraceResult): TraceJson {
  const d = result.deps;
  return {
    exitCode: result.exitCode,
    complete: result.fullyObserved,
    reads: d.reads,
    writes: d.writes,
    deleted: d.deleted,
    absent: d.absent,
    listed: d.listed,
    executed: d.executed,
    untraced: d.untraced.map((u) => u.path),
  };
}

/** Human output: one group per kind, workspace paths relative, outside paths collapsed. */
export function formatTrace(result: TraceResult, cwd: string, { all }: { all: boolean }): string {
  const d = result.deps;
  const inside = (p: string) => p === cwd || p.startsWith(cwd + sep);
  const show = (p: string) => displayPath(inside(p) ? relative(cwd, p) || '.' : p);
  const lines: string[] = [];
  const status = result.signal ? `killed by ${result.signal}` : `exit code ${result.exitCode}`;
  lines.push(`\nprov-make trace: ${status}, ${((result.finishedAt - result.startedAt) / 1000).toFixed(2)} s`);
  const group = (title: string, paths: string[], note?: (p: string) => string) => {
    if (paths.length === 0) return;
    const mine = all ? paths : paths.filter(inside);
    const hidden = paths.length - mine.length;
    lines.push(`  ${title} (${paths.length})`);
    for (const p of mine) lines.push(`    ${show(p)}${note ? note(p) : ''}`);
    if (hidden > 0) lines.push(`    … and ${hidden} outside ${displayPath(cwd)} (--all lists them)`);
  };
  group('read', d.reads);
  group('written', d.writes);
  group('deleted', d.deleted);
  group('absent (looked up, not found)', d.absent);
  group('listed', d.listed);
  const programs = d.executed.filter((p) => !/\.so(\.|$)/.test(p));
  const libraries = d.executed.length - programs.length;
  if (d.executed.length) {
    lines.push(`  executed (${programs.length} programs, ${libraries} libraries)`);
    for (const p of all ? d.executed : programs) lines.push(`    ${show(p)}`);
    if (!all && libraries) lines.push(`    … and ${libraries} shared libraries (--all lists them)`);
  }
  if (d.untraced.length) {
    lines.push(`  untraced: not observed, the trace is incomplete (${d.untraced.length})`);
    for (const u of d.untraced) lines.push(`    ${show(u.path)}  (${describeUntracedReason(u.reason)})`);
  }
  return lines.join('\n') + '\n';
}
