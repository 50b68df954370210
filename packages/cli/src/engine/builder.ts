/**
 * The builder (ninja's Builder): hands steps out as the plan allows, up to `jobs` at once, builds
 * each (build-step.ts), blocks the users of a failed step, stops everything on an abort, then
 * checks the order hazards and writes (or removes) the no-op snapshot.
 */
import type { StartedStep, StepRunner } from '../runner/step-runner.js';
import type { BuildState } from './build-state.js';
import { buildStep, type StepRun } from './build-step.js';
import type { Focus } from './focus.js';
import { Hazards } from './hazards.js';
import { BuildPlan } from './plan.js';
import type { RunEvents, RunReport, StepReport } from './report.js';
import { recordSnapshot } from './snapshot-record.js';
import { checkStepFolders } from './step-folders.js';
import { stepIndexes } from './targets.js';

export interface BuildOptions {
  /** Steps to bring up to date (with what they depend on); all when empty. */
  targets?: string[];
  jobs?: number;
  force?: boolean;
  /** Go on after a failure with the steps that do not use the failed one (make -k); else start nothing new. */
  keepGoing?: boolean;
  events?: RunEvents;
  signal?: AbortSignal;
}

/** A stopped step gets SIGTERM, then SIGKILL if it is still there after this long. */
const KILL_AFTER_MS = 3000;

/** With a `focus` (focus.ts), only the steps it examines are checked: the others are up to date. */
export async function build(b: BuildState, runner: StepRunner, options: BuildOptions, started: number, focus?: Focus): Promise<RunReport> {
  const targets = stepIndexes(b.pipeline, options.targets);
  checkStepFolders(b);
  const plan = new BuildPlan(b.steps.length, Math.max(1, options.jobs ?? 1), () => b.graph(), targets);
  const events = options.events ?? {};
  const hazards = new Hazards(events.hazard);
  const live = new Map<number, StartedStep>();
  // what the steps see: aborted once the run is, so work after a step (hashing, keeping, restoring) stops too
  const stop = new AbortController();
  const onAbort = () => {
    stop.abort();
    for (const r of live.values()) r.cancel('SIGTERM');
    setTimeout(() => { for (const r of live.values()) r.cancel('SIGKILL'); }, KILL_AFTER_MS).unref();
  };
  options.signal?.addEventListener('abort', onAbort, { once: true });
  if (options.signal?.aborted) onAbort();
  const forced = (i: number) => Boolean(options.force) && (targets.length === 0 || targets.includes(i));
  const interrupted = () => stop.signal.aborted;
  const run: StepRun = { b, runner, hazards, events, forced, live, interrupted, signal: stop.signal };
  const reports = new Map<number, StepReport>();
  let stoppedAfter: string | undefined;
  try {
    stoppedAfter = await schedule(plan, run, reports, Boolean(options.keepGoing), focus);
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
  }
  hazards.twoWriters(b);
  hazards.readBeforeWrite(b);
  const steps = plan.order.filter((i) => reports.has(i) || stoppedAfter !== undefined).map((i) => reports.get(i) ?? notStarted(b, i, stoppedAfter!));
  const ok = !interrupted() && hazards.found.length === 0 && steps.every((s) => s.status !== 'failed' && s.status !== 'blocked');
  b.deps.flush();
  recordSnapshot(b, ok && steps.length === b.steps.length);
  return { ok, steps, hazards: hazards.found, interrupted: interrupted(), durationMs: Date.now() - started };
}

/**
 * Runs the plan to its end (or until interrupted), at most `jobs` steps at a time. Without
 * `keepGoing`, a failure stops it from starting more steps (running ones finish): returns the
 * failed step's name then.
 */
async function schedule(plan: BuildPlan, run: StepRun, reports: Map<number, StepReport>, keepGoing: boolean, focus?: Focus): Promise<string | undefined> {
  const running = new Map<number, Promise<void>>();
  let stoppedAfter: string | undefined;
  const finish = (i: number, report: StepReport) => {
    reports.set(i, report);
    run.events.stepFinished?.(report);
    plan.finished(i, report.status === 'failed' || report.status === 'blocked');
    if (report.status === 'failed' && !keepGoing) stoppedAfter ??= report.name;
  };
  for (;;) {
    let next: number | undefined;
    while (!run.interrupted() && stoppedAfter === undefined && (next = plan.next()) !== undefined) {
      const i = next;
      const report = blocked(run.b, i, plan, reports) ?? (focus && !focus.examined.has(i) ? upToDate(run.b, i) : null);
      if (report) finish(i, report);
      else running.set(i, buildStep(run, i).then((r) => (focus?.done(i), finish(i, r))).finally(() => running.delete(i)));
    }
    if (running.size === 0) break;
    await Promise.race(running.values());
  }
  await Promise.allSettled(running.values());
  const stuck = run.interrupted() || stoppedAfter !== undefined ? [] : plan.stuck;
  if (stuck.length) throw new Error(`internal: no runnable step among ${stuck.map((i) => run.b.steps[i].name).join(', ')}`);
  return run.interrupted() ? undefined : stoppedAfter;
}

/** A step the snapshot vouches for (focus.ts). */
function upToDate(b: BuildState, i: number): StepReport {
  return { name: b.steps[i].name, status: 'skipped', reason: { kind: 'up-to-date' }, durationMs: 0 };
}

/** A step the run did not start because an earlier failure stopped it. */
function notStarted(b: BuildState, i: number, failed: string): StepReport {
  return { name: b.steps[i].name, status: 'blocked', reason: { kind: 'stopped', after: failed }, durationMs: 0 };
}

/** A step whose producers failed is not run: it is blocked, with the reason. */
function blocked(b: BuildState, i: number, plan: BuildPlan, reports: Map<number, StepReport>): StepReport | null {
  const j = plan.blockerOf(i);
  if (j === undefined) return null;
  const reason = { kind: 'blocked', by: b.steps[j].name, byWasBlocked: reports.get(j)?.status === 'blocked', neverRan: !b.state(i) } as const;
  return { name: b.steps[i].name, status: 'blocked', reason, durationMs: 0 };
}
