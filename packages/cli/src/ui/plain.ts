/**
 * Plain line output for CI logs and pipes: every line whole, prefixed by its step, so steps
 * running at once never interleave mid-line.
 */
import type { Step } from '../pipeline/pipeline.js';
import type { Hazard, RunEvents, RunReport, StepReport } from '../engine/report.js';

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${ms} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
}

export function plainEvents(write: (s: string) => void, { streamOutput }: { streamOutput: boolean }): RunEvents {
  return {
    waitingForLock: (pid) => write(`prov-make: another prov-make (pid ${pid}) is running in this workspace; waiting for it to finish…\n`),
    stepStarted: (step: Step, reason: string) => write(`[${step.name}] running: ${reason}\n`),
    stepLine: streamOutput ? (step: Step, line: string) => write(`[${step.name}] ${line}\n`) : undefined,
    stepFinished: (r: StepReport) => write(formatStepLine(r, !streamOutput)),
    hazard: (h: Hazard) => write(formatHazard(h)),
  };
}

export function formatStepLine(r: StepReport, withOutput: boolean): string {
  const label: Record<string, string> = {
    ran: `done in ${formatDuration(r.durationMs)}`,
    skipped: `up to date`,
    restored: `restored: ${r.reason}`,
    failed: `FAILED: ${r.reason}`,
    blocked: `blocked: ${r.reason}`,
    'would-run': `would run: ${r.reason}`,
    'up-to-date': `up to date`,
    'would-restore': `would restore: ${r.reason}`,
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

export function formatSummary(report: RunReport): string {
  const count = (s: string) => report.steps.filter((x) => x.status === s).length;
  const parts = [`${count('ran')} ran`, `${count('skipped')} up to date`, `${count('restored')} restored`, `${count('failed')} failed`];
  if (count('blocked')) parts.push(`${count('blocked')} blocked`);
  const head = report.interrupted ? 'interrupted' : report.ok ? 'ok' : 'FAILED';
  let s = `prov-make: ${head}: ${parts.join(', ')} in ${formatDuration(report.durationMs)}\n`;
  if (report.hazards.length) s += `prov-make: ${report.hazards.length} hazard(s) above must be fixed\n`;
  return s;
}

export function formatPlan(report: RunReport): string {
  const lines = report.steps.map((r) => {
    const mark = r.status === 'up-to-date' ? '  ' : r.status === 'would-restore' ? 'R ' : '> ';
    return `${mark}${r.name}: ${r.status === 'up-to-date' ? 'up to date' : `${r.status === 'would-run' ? 'would run' : 'would restore'}, because ${r.reason}`}`;
  });
  const n = report.steps.filter((r) => r.status !== 'up-to-date').length;
  lines.push(n ? `${n} of ${report.steps.length} step(s) would run or restore` : `all ${report.steps.length} step(s) are up to date`);
  return lines.join('\n') + '\n';
}
