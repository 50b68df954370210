/** Run and status reports as people and scripts read them (DESIGN section 6). */
import { pathOfKey } from '@prov-make/cache/workspace-key';
import { describe } from '../engine/reasons.js';
import type { Hazard, RunReport, StepReport } from '../engine/report.js';
import { formatDuration } from './units.js';

/** `run --json` / `status --json`: exactly one object. */
export function reportJson(report: RunReport) {
  return {
    ok: report.ok,
    steps: report.steps.map((s) => ({ name: s.name, status: s.status, reason: describe(s.reason), durationMs: s.durationMs })),
    // a hazard's path as it is (a name that is not UTF-8 as \udcXX), not in its stored form
    ...(report.hazards.length ? { hazards: report.hazards.map((h) => ({ ...h, path: pathOfKey(h.path) })) } : {}),
  };
}

/** `run --json` / `status --json` when the run cannot start (bad pipeline, unknown step): still one object. */
export function startupErrorJson(err: unknown) {
  const e = err as { name?: string; message?: string; problem?: string; fix?: string; hint?: string; file?: string; line?: number; col?: number };
  const error = { message: e?.problem ?? e?.message ?? String(err), hint: e?.fix ?? e?.hint ?? null, file: e?.file ?? null, line: e?.line ?? null, col: e?.col ?? null };
  return { ok: false, error, steps: [] };
}

/** One line per finished step, prefixed by its name; a failed step's output below it when asked. */
export function formatStepLine(r: StepReport, withOutput: boolean): string {
  const reason = describe(r.reason);
  const label: Record<StepReport['status'], string> = {
    ran: `done in ${formatDuration(r.durationMs)}`,
    skipped: `up to date`,
    restored: `restored: ${reason}`,
    failed: `FAILED: ${reason}`,
    blocked: `blocked: ${reason}`,
    'would-run': `would run: ${reason}`,
    'up-to-date': `up to date`,
    'would-restore': `would restore: ${reason}`,
  };
  let s = `[${r.name}] ${label[r.status]}\n`;
  if (r.status === 'failed' && withOutput && r.output) {
    s += r.output.split('\n').filter((l, i, a) => l || i < a.length - 1).map((l) => `[${r.name}] | ${l}`).join('\n') + '\n';
  }
  return s;
}

export function formatHazard(h: Hazard): string {
  return `prov-make: error: ${h.message}\n  fix: ${h.fix}\n`;
}

/** The closing lines: counts, then each blocked step and why, then what a stopped run never started. */
export function formatSummary(report: RunReport): string {
  const count = (s: string) => report.steps.filter((x) => x.status === s).length;
  const notStarted = report.steps.filter((x) => x.reason.kind === 'stopped');
  const blocked = report.steps.filter((x) => x.status === 'blocked' && x.reason.kind !== 'stopped');
  const parts = [`${count('ran')} ran`, `${count('skipped')} up to date`, `${count('restored')} restored`, `${count('failed')} failed`];
  if (blocked.length) parts.push(`${blocked.length} blocked`);
  if (notStarted.length) parts.push(`${notStarted.length} not started`);
  const head = report.interrupted ? 'interrupted' : report.ok ? 'ok' : 'FAILED';
  let s = `prov-make: ${head}: ${parts.join(', ')} in ${formatDuration(report.durationMs)}\n`;
  for (const b of blocked.slice(0, LISTED)) s += `  blocked: ${b.name}: ${describe(b.reason)}\n`;
  if (blocked.length > LISTED) s += `  (and ${blocked.length - LISTED} more blocked)\n`;
  if (notStarted.length) {
    const names = notStarted.slice(0, LISTED).map((x) => x.name).join(', ') + (notStarted.length > LISTED ? `, … (${notStarted.length} in all)` : '');
    s += `  not started: ${names}: ${describe(notStarted[0].reason).replace(/^not started: /, '')}\n`;
  }
  if (report.hazards.length) s += `prov-make: ${report.hazards.length} hazard(s) above must be fixed\n`;
  return s;
}

/** How many blocked steps the summary names one by one. */
const LISTED = 10;

/** `status` for people. */
export function formatPlan(report: RunReport): string {
  const lines = report.steps.map((r) => {
    const mark = r.status === 'up-to-date' ? '  ' : r.status === 'would-restore' ? 'R ' : '> ';
    return `${mark}${r.name}: ${r.status === 'up-to-date' ? 'up to date' : `${r.status === 'would-run' ? 'would run' : 'would restore'}, because ${describe(r.reason)}`}`;
  });
  const n = report.steps.filter((r) => r.status !== 'up-to-date').length;
  lines.push(n ? `${n} of ${report.steps.length} step(s) would run or restore` : `all ${report.steps.length} step(s) are up to date`);
  return lines.join('\n') + '\n';
}

/** The output of failed steps, for the end of an interactive run. */
export function formatFailedOutputs(report: RunReport): string {
  let s = '';
  for (const r of report.steps) {
    if (r.status === 'failed' && r.output) s += `\n── output of ${r.name} (${describe(r.reason)}) ──\n${r.output}${r.output.endsWith('\n') ? '' : '\n'}`;
  }
  return s;
}
