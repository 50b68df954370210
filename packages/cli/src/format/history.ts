/** `log`, `diff` and `graph --json` output: recorded history for people and for scripts. */
import { targetOf, type ExecutionJob, type ExecutionRecord, type KeptEdit } from '@prov-make/cache';
import type { InputChange, RunDiff, RunSummary } from '../provenance/history.js';
import { shownPath } from '../workspace/paths.js';
import { formatDuration, formatSize, formatTime, shortHash } from './units.js';

export function runsJson(runs: RunSummary[]) {
  return runs.map((r) => ({ runId: r.runId, startedAt: new Date(r.startedAt).toISOString(), executions: r.executions.length, steps: r.executions.map((e) => e.step) }));
}

export function formatRuns(runs: RunSummary[]): string {
  return runs.map((r) => `${r.runId}  ${formatTime(r.startedAt)}  ${r.executions.length} execution(s): ${r.executions.map((e) => e.step).join(', ')}\n`).join('');
}

export function executionsJson(all: ExecutionRecord[]) {
  return all.map((e) => ({
    id: e.id, runId: e.runId, step: e.step, status: e.status, reason: e.reason, exitCode: e.exitCode,
    startedAt: new Date(e.startedAt).toISOString(), durationMs: e.finishedAt - e.startedAt, annotations: e.annotations,
    ...(e.job ? { job: e.job } : {}),
  }));
}

/**
 * One line per execution (and one per note it attached), newest first (the order `log` gives), and,
 * where they happened among them, the edits of outputs kept before a step's version replaced them,
 * with the command that brings one back.
 */
export function formatExecutions(all: ExecutionRecord[], edits: KeptEdit[] = []): string {
  if (all.length === 0 && edits.length === 0) return 'no executions recorded yet\n';
  const lines: [number, string][] = [];
  for (const e of all) {
    const status = e.status === 'succeeded' ? 'ok' : `${e.status}${e.exitCode !== null ? ` (exit ${e.exitCode})` : ''}`;
    const head = `${e.id}  ${formatTime(e.startedAt)}  `;
    let s = `${head}${e.step.padEnd(16)} ${status.padEnd(8)} ${formatDuration(e.finishedAt - e.startedAt).padStart(8)}  ${e.reason}\n`;
    if (e.job) s += `${' '.repeat(head.length)}${describeJob(e.job)}\n`;
    for (const a of e.annotations) s += `${' '.repeat(head.length)}note: ${a}\n`;
    lines.push([e.startedAt, s]);
  }
  const oldest = all.length ? Math.min(...all.map((e) => e.startedAt)) : -Infinity;
  for (const k of edits) {
    if (k.keptAt >= oldest) lines.push([k.keptAt, `${k.id}  ${formatTime(k.keptAt)}  ${k.step.padEnd(16)} ${'kept'.padEnd(8)} ${''.padStart(8)}  ${describeKeptEdit(k)}\n`]);
  }
  return lines.sort((a, b) => b[0] - a[0]).map(([, s]) => s).join('');
}

/** A kept edit, and how to get it back. */
export function describeKeptEdit(k: KeptEdit): string {
  const back = k.hash !== null ? `prov-make show ${quote(k.path)} --version ${k.hash} > ${quote(k.path)}` : `ln -sfn ${quote(targetOf(k.target) ?? '')} ${quote(k.path)}`;
  return `your edit of ${shownPath(k.path)}${k.hash !== null ? ` (${formatSize(k.size)})` : ''} was kept before the step's version replaced it; to get it back: ${back}`;
}

/** A word for a POSIX shell, quoted when it needs to be. */
function quote(word: string): string {
  return /^[A-Za-z0-9_./:=@%+-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/** "Slurm job 1234 on node7: TIMEOUT" */
export function describeJob(job: ExecutionJob): string {
  return `Slurm job ${job.id}${job.nodes ? ` on ${job.nodes}` : ''}: ${job.state}`;
}

function describeInputChange(c: InputChange): string {
  if (c.kind === 'added') return 'added';
  if (c.kind === 'no-longer-read') return 'no longer read';
  return `changed: ${formatSize(c.sizeBefore)} -> ${formatSize(c.sizeAfter)}`;
}

export function diffJson(d: RunDiff) {
  if (d.step === null) return { runA: d.runA, runB: d.runB, step: null, files: [] };
  const files = d.files.map((f) => ({ path: f.path, change: describeInputChange(f.change), before: f.before, after: f.after }));
  return { runA: d.runA, runB: d.runB, step: d.step, definitionChanged: d.definitionChanged, files };
}

export function formatDiff(d: RunDiff): string {
  if (d.step === null) return `no step's inputs differ between runs ${d.runA} and ${d.runB}\n`;
  let s = `first step whose inputs differ between runs ${d.runA} and ${d.runB}: ${d.step}\n`;
  if (d.definitionChanged) s += `  its definition changed\n`;
  for (const f of d.files) s += `  ${shownPath(f.path)}: ${describeInputChange(f.change)} (${shortHash(f.before)} -> ${shortHash(f.after)})\n`;
  return s;
}

export function graphJson(executions: ExecutionRecord[]) {
  return {
    executions: executions.map((e) => ({
      id: e.id, step: e.step, command: e.definition.run, status: e.status,
      startedAt: new Date(e.startedAt).toISOString(), finishedAt: new Date(e.finishedAt).toISOString(),
      inputs: e.inputs.map((f) => ({ path: f.path, hash: f.hash })),
      executed: e.executed.map((f) => ({ path: f.path, hash: f.hash })),
      outputs: e.outputs.map((f) => ({ path: f.path, hash: f.hash })),
      annotations: e.annotations,
      ...(e.job ? { job: e.job } : {}),
    })),
  };
}
