/**
 * One step of a run (ninja's per-edge logic in build.cc): check it; skip it, restore its damaged
 * outputs, or take a cache hit; otherwise run it, observe what it did, commit, check hazards and
 * offer the execution to the cache.
 */
import { relative } from 'node:path';
import { succeeded, type StepRecord } from '@prov-make/cache';
import { StepStartError, type StartedStep, type StepExecution, type StepRunner } from '../runner/step-runner.js';
import type { BuildState } from './build-state.js';
import { checkStep, type Refresh } from './check.js';
import type { Hazards } from './hazards.js';
import { keepEditedOutputs } from './kept-edits.js';
import { observe } from './observe.js';
import { diskFullFault } from './disk-full.js';
import { hashesBeforeStep } from './outputs.js';
import { describe, type Reason } from './reasons.js';
import type { RunEvents, StepReport } from './report.js';
import { systemFaultOf } from '../system-fault.js';
import { adoptCacheHit, restoreOutputs } from './restore.js';
import { folderProblem } from './step-folders.js';

/** What the per-step logic needs of its run. */
export interface StepRun {
  b: BuildState;
  runner: StepRunner;
  hazards: Hazards;
  events: RunEvents;
  forced(i: number): boolean;
  /** Steps running now, to cancel them. */
  live: Map<number, StartedStep>;
  interrupted(): boolean;
  /** Aborted with the run: long work on files (observing, keeping, restoring) stops at the next file. */
  signal: AbortSignal;
}

/** One step, to its end or to an interruption (then nothing of what it did is recorded: it runs again next time). */
export async function buildStep(c: StepRun, i: number): Promise<StepReport> {
  const t0 = Date.now();
  try {
    return await decideAndBuild(c, i, t0);
  } catch (err) {
    if (!c.interrupted()) throw err;
    return { name: c.b.steps[i].name, status: 'failed', reason: { kind: 'interrupted' }, durationMs: Date.now() - t0 };
  }
}

async function decideAndBuild(c: StepRun, i: number, t0: number): Promise<StepReport> {
  const { b } = c;
  const name = b.steps[i].name;
  const forced = c.forced(i);
  const verdict = await checkStep(b, i, { force: forced });
  if (verdict.action !== 'run' && verdict.refresh) keepRefresh(b, i, verdict.refresh);
  if (verdict.action === 'skip') return { name, status: 'skipped', reason: verdict.reason, durationMs: Date.now() - t0 };
  await keepEditedOutputs(b, i); // whatever replaces them now: a restore, a cache hit, the step itself
  let reason = verdict.reason;
  if (verdict.action === 'restore') {
    try {
      await restoreOutputs(b, i, verdict.restore, c.signal);
      return { name, status: 'restored', reason, durationMs: Date.now() - t0 };
    } catch (err) {
      if (c.interrupted()) throw err;
      reason = { kind: 'restore-failed', message: (err as Error).message };
    }
  }
  const hit = forced ? null : await fromCache(c, i, reason);
  if (hit) return { name, status: 'restored', reason: hit, durationMs: Date.now() - t0 };
  return runStep(c, i, reason, t0);
}

/** Tokens a hash confirmed: written with the next flush, and this run's states see them now. */
function keepRefresh(b: BuildState, i: number, refresh: Refresh): void {
  const state = b.state(i)!;
  b.deps.refreshTokens(b.steps[i].name, refresh.inputs, refresh.outputs);
  state.inputs.tokens = refresh.inputs;
  state.outputs.tokens = refresh.outputs;
}

/** A cached execution taken as this step's own, or null (no hit, a blob missing, a restore refused). */
async function fromCache(c: StepRun, i: number, cause: Reason): Promise<Reason | null> {
  const { b } = c;
  const { steps, warn } = b.stores;
  const name = b.steps[i].name;
  const hit = await steps.lookup({ step: name, definitionHash: b.definitionHash(i), leftOut: b.leftOut(i) });
  if (!hit || !(await steps.fetchBlobs(hit, c.signal))) return null;
  try {
    commit(b, i, await adoptCacheHit(b, i, hit, c.signal));
    return { kind: 'from-cache', cause, from: hit.from };
  } catch (err) {
    if (c.interrupted()) throw err;
    warn(`could not restore step ${name} from the cache (${(err as Error).message}); running it`);
    return null;
  }
}

/** History first, then the state (in the stores); this run's view follows. */
function commit(b: BuildState, i: number, record: StepRecord): void {
  b.setState(i, b.stores.commit(record));
}

async function runStep(c: StepRun, i: number, reason: Reason, t0: number): Promise<StepReport> {
  const { b, events } = c;
  const step = b.steps[i];
  const unusable = folderProblem(b, step);
  if (unusable) {
    const at = `${relative(process.cwd(), b.pipeline.file) || b.pipeline.file}:${(step.cwdLocation ?? step.location).line}:${(step.cwdLocation ?? step.location).col}`;
    return { name: step.name, status: 'failed', reason: { kind: 'folder-unusable', cwd: step.cwdRelative, problem: unusable, at }, durationMs: Date.now() - t0 };
  }
  events.stepStarted?.(step, reason);
  const before = hashesBeforeStep(b, i);
  let started: StartedStep;
  try {
    started = await c.runner.start({
      step: step.name,
      command: step.run,
      shell: step.shell,
      cwd: step.cwd,
      env: b.identity(i).env,
      ignore: b.ignored,
      onLine: (line) => events.stepLine?.(step, line),
      resources: step.resources,
    });
  } catch (err) {
    // Refused (a job sbatch would not take): nothing ran, nothing is recorded.
    if (!(err instanceof StepStartError)) throw err;
    return { name: step.name, status: 'failed', reason: { kind: 'not-started', message: err.message }, durationMs: Date.now() - t0, output: err.detail };
  }
  c.live.set(i, started);
  if (c.interrupted()) started.cancel('SIGTERM'); // the abort came while it was being started
  const run = await started.done.finally(() => c.live.delete(i));
  const exitCode = run.trace.exitCode;
  // Nothing is recorded for an interrupted step: next time it runs again.
  if (run.cancelled || c.interrupted()) return { name: step.name, status: 'failed', reason: { kind: 'interrupted' }, durationMs: Date.now() - t0, exitCode };
  let record: StepRecord;
  try {
    record = await observe(b, i, describe(reason), run, before, c.signal);
    commit(b, i, record);
  } catch (err) {
    const fault = systemFaultOf(err);
    if (!fault) throw err;
    // Not recorded: the next run runs it again.
    const message = `${diskFullFault(b.root, run.trace.deps.writes) ?? fault.problem}; nothing was recorded: it runs again next time`;
    return { name: step.name, status: 'failed', reason: { kind: 'fault', message }, durationMs: Date.now() - t0, exitCode, output: run.output.toString('utf8') };
  }
  for (const p of [...run.trace.deps.writes, ...run.trace.deps.deleted]) {
    const id = b.deps.knownIdOf(b.stored(p));
    if (id !== undefined) b.tokens.forget(id);
  }
  c.hazards.afterCommit(b, i, record);
  const ok = succeeded(record);
  if (ok) await offerToCache(c, i, record);
  const report: StepReport = {
    name: step.name,
    status: ok ? 'ran' : 'failed',
    reason: ok ? reason : failureOf(b, run, reason),
    // the command's own time, as `log` shows it (checks and hashing are the run's)
    durationMs: record.finishedAt - record.startedAt,
    exitCode,
  };
  if (!ok) report.output = run.output.toString('utf8');
  return report;
}

/**
 * Offers a trusted execution to the cache, locally and to the remote. It is recorded already: an
 * interruption or a cache that cannot be written (full, read-only) only leaves it out of the cache.
 */
async function offerToCache(c: StepRun, i: number, record: StepRecord): Promise<void> {
  const { b } = c;
  try {
    await b.stores.steps.store(record, b.leftOut(i), c.signal);
  } catch (err) {
    if (!c.interrupted()) b.stores.warn(`could not keep step ${record.step} in the cache (${(err as Error).message}); the run goes on`);
  }
}

/** Why an execution failed: the scheduler's verdict on its job, or the command's exit status. */
function failureOf(b: BuildState, run: StepExecution, cause: Reason): Reason {
  if (run.failure) return { kind: 'job-failed', scheduler: 'Slurm', failure: run.failure, cause };
  const fault = diskFullFault(b.root, run.trace.deps.writes);
  return { kind: 'failed', exitCode: run.trace.exitCode, signal: run.trace.signal, cause, ...(fault && { fault }) };
}
