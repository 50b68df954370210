/**
 * Plain line output for CI logs and pipes: every line whole, prefixed by its step, so steps
 * running at once never interleave mid-line.
 */
import { describe } from '../engine/reasons.js';
import type { RunEvents } from '../engine/report.js';
import { formatHazard, formatStepLine } from '../format/run.js';
import { describeOwner } from '../workspace/lock.js';

export function plainEvents(write: (s: string) => void, { streamOutput }: { streamOutput: boolean }): RunEvents {
  return {
    waitingForLock: (pid, host) => write(`prov-make: another prov-make (${describeOwner(pid, host)}) is running in this workspace; waiting for it to finish…\n`),
    stepStarted: (step, reason) => write(`[${step.name}] running: ${describe(reason)}\n`),
    stepLine: streamOutput ? (step, line) => write(`[${step.name}] ${line}\n`) : undefined,
    stepFinished: (r) => write(formatStepLine(r, !streamOutput)),
    hazard: (h) => write(formatHazard(h)),
  };
}
