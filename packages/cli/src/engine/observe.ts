/**
 * From a finished trace to a StepRecord: every input, program, output, absent path and listing with
 * its stored path, deps-log id, version and digests, taken after the step (an fstat per open would
 * cost the traced program 23%). An input whose ctime is later than the step's start changed while
 * it ran: the execution is not trusted. Small workspace inputs and the outputs of a trusted,
 * successful execution are kept in the content store.
 */
import { isAbsolute } from 'node:path';
import { newExecutionId, nowNs, versionFromStats, type Distrust, type FileStat, type ObservedInput, type ObservedListing, type ObservedOutput, type StepRecord } from '@prov-make/cache';
import type { TraceResult } from '@prov-make/interposer';
import { definitionOf } from '../pipeline/definition.js';
import type { StepExecution } from '../runner/step-runner.js';
import { faultKind } from '../system-fault.js';
import type { BuildState } from './build-state.js';

/** Workspace inputs up to this size are kept in the content cache (documented in the README). */
export const KEEP_INPUTS_UP_TO = 256n * 1024n;

export async function observe(b: BuildState, i: number, reason: string, run: StepExecution, signal?: AbortSignal): Promise<StepRecord> {
  const { trace } = run;
  const deps = trace.deps;
  const keep = (p: string) => !b.ignored(p);
  const outputsAbs = deps.writes.filter(keep);
  const outputSet = new Set(outputsAbs);
  // A file the step both read and wrote is checked as an output: its last version is the step's own.
  const executed = new Set(deps.executed.filter((p) => keep(p) && !outputSet.has(p)));
  const inputsAbs = [...new Set([...deps.reads, ...executed])].filter((p) => keep(p) && !outputSet.has(p)).sort();
  const recordedAtNs = nowNs();
  let distrust = traceDistrust(b, trace);
  const inputs: ObservedInput[] = [];
  for (const abs of inputsAbs) {
    signal?.throwIfAborted();
    const input = await observeInput(b, abs, executed.has(abs));
    inputs.push(input.file);
    if (!distrust && input.st && input.st.ctimeNs >= BigInt(trace.startedAt) * 1_000_000n) {
      distrust = { kind: 'input-changed-while-running', path: input.file.path };
    }
  }
  // Only regular files go to the cache; an execution that was not fully observed is never cached.
  const keepOutputs = !distrust && trace.exitCode === 0;
  const outputs: ObservedOutput[] = [];
  for (const abs of outputsAbs) {
    signal?.throwIfAborted();
    outputs.push(await observeOutput(b, abs, keepOutputs));
  }
  const leftOut = b.leftOut(i);
  // its own outputs may not be in the writers map yet (first run)
  const later = (abs: string) => outputSet.has(abs) || leftOut(abs);
  const listed: ObservedListing[] = deps.listed.filter(keep).map((abs) => ({ ...b.observedPath(abs), token: b.listing(abs, later) }));
  const step = b.steps[i];
  return {
    step: step.name,
    executionId: newExecutionId(),
    runId: b.runId,
    definition: definitionOf(step),
    definitionHash: b.definitionHash(i),
    reason,
    startedAt: trace.startedAt,
    finishedAt: trace.finishedAt,
    exitCode: trace.exitCode,
    signal: trace.signal,
    fullyObserved: trace.fullyObserved,
    distrust,
    recordedAtNs,
    inputs,
    outputs,
    absent: deps.absent.filter(keep).map((abs) => b.observedPath(abs)),
    listed,
    deleted: deps.deleted.filter(keep).map((abs) => b.stored(abs)),
    untraced: deps.untraced.map((u) => ({ path: b.stored(u.path), reason: u.reason })),
    annotations: run.annotations,
    ...(run.job ? { job: run.job } : {}),
    outputLogHash: run.output.length ? await keepSoftly(b, () => b.stores.blobs.keepBytes(run.output)) : null,
    updated: deps.reads.filter((p) => outputSet.has(p)).map((abs) => b.stored(abs)),
  };
}

function traceDistrust(b: BuildState, trace: TraceResult): Distrust | null {
  const u = trace.deps.untraced[0];
  if (u) return { kind: 'untraced-program', path: b.stored(u.path), reason: u.reason };
  const p = trace.problems[0];
  return p ? { kind: 'trace-incomplete', problem: p.kind, message: p.message } : null;
}

async function observeInput(b: BuildState, abs: string, executed: boolean): Promise<{ file: ObservedInput; st: FileStat | undefined }> {
  const { path, id } = b.observedPath(abs);
  const st = b.disk.lstat(abs);
  const digests = st && !st.isDirectory() ? await b.disk.hash(abs, st) : null;
  // Small workspace inputs (scripts, configs) are kept, so `prov-make show` can print the exact
  // version that made an output.
  if (digests && st?.isFile() && st.size <= KEEP_INPUTS_UP_TO && !isAbsolute(path)) await keepSoftly(b, () => b.stores.blobs.keep(abs, digests.xxh64));
  const version = st ? versionFromStats(st) : null;
  return { file: { path, id, version, hash: digests?.xxh64 ?? null, sha256: digests?.sha256 ?? null, executed }, st };
}

async function observeOutput(b: BuildState, abs: string, keepInCache: boolean): Promise<ObservedOutput> {
  const { path, id } = b.observedPath(abs);
  const st = b.disk.lstat(abs);
  const version = st ? versionFromStats(st) : null;
  const output: ObservedOutput = { path, id, version, hash: null, sha256: null };
  if (st && (st.isFile() || st.isSymbolicLink())) {
    const digests = await b.disk.hash(abs, st);
    output.hash = digests?.xxh64 ?? null;
    output.sha256 = digests?.sha256 ?? null;
    if (output.hash && st.isFile() && keepInCache) await keepSoftly(b, () => b.stores.blobs.keep(abs, output.hash!));
    if (st.isSymbolicLink()) output.target = b.disk.readlink(abs);
  }
  return output;
}

const warnedCacheFault = new WeakSet<BuildState>();

/**
 * Keeps something in the content store, or (the cache full or not writable) leaves it out with one
 * warning per run: the observation is recorded all the same, and a missing object is a cache miss.
 */
async function keepSoftly<T>(b: BuildState, keep: () => Promise<T>): Promise<T | null> {
  try {
    return await keep();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const fault = faultKind(err) ?? (code === 'EACCES' || code === 'EPERM' ? 'permission denied' : null);
    if (!fault) throw err;
    if (!warnedCacheFault.has(b)) b.stores.warn(`could not keep outputs in the cache (${fault}); the run goes on without caching them`);
    warnedCacheFault.add(b);
    return null;
  }
}
