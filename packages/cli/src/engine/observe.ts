/**
 * From a finished trace to a StepRecord: every input, program, output, absent path and listing with
 * its stored path, deps-log id, version and digests, taken after the step (an fstat per open would
 * cost the traced program 23%). An input whose content changed while the step ran (its ctime moved,
 * confirmed in changed-while-running.ts) makes the execution untrusted. Small workspace inputs and
 * the outputs of a trusted, successful execution are kept in the content store.
 */
import { basename, dirname, isAbsolute } from 'node:path';
import { newExecutionId, nowNs, rulesAfterReads, versionFromStats, type Distrust, type FileStat, type FileVersion, type ObservedInput, type ObservedListing, type ObservedOutput, type ReadFile, type StepRecord } from '@prov-make/cache';
import type { TraceResult } from '@prov-make/interposer';
import type { StepExecution } from '../runner/step-runner.js';
import { faultKind } from '../system-fault.js';
import type { BuildState } from './build-state.js';
import { changedWhileRunning } from './changed-while-running.js';
import { filesOf, whatItProduced } from './outputs.js';

/** Workspace inputs up to this size are kept in the content cache (documented in the README). */
export const KEEP_INPUTS_UP_TO = 256n * 1024n;

export async function observe(b: BuildState, i: number, reason: string, run: StepExecution, before: Map<string, string>, signal?: AbortSignal): Promise<StepRecord> {
  const { trace } = run;
  const deps = trace.deps;
  const keep = (p: string) => !b.ignored(p);
  const { inputsAbs, outputsAbs, executed } = filesOf(await whatItProduced(b, i, deps, trace.startedAt, before), deps, keep);
  const writtenHere = new Set(deps.writes);
  const inputSet = new Set(inputsAbs);
  const firstRead = new Set(deps.reads);
  const recordedAtNs = nowNs();
  let distrust = traceDistrust(b, trace);
  const inputs: ObservedInput[] = [];
  const kept: [string, string][] = [];
  const changed = changedWhileRunning(b, { startedAt: trace.startedAt, before, written: deps.writes });
  for (const abs of inputsAbs) {
    signal?.throwIfAborted();
    const input = await observeInput(b, abs, executed.has(abs), trace.stats?.of(abs), kept);
    inputs.push(input.file);
    // A file the step wrote itself, even only its times (touch, utime), has times the step set:
    // another writer racing the step on a file the step itself writes goes unseen there.
    if (!distrust && input.st && !writtenHere.has(abs) && changed(abs, input.st, input.file.hash)) {
      distrust = { kind: 'input-changed-while-running', path: input.file.path };
    }
  }
  await keepSoftly(b, () => b.stores.blobs.keep(kept));
  // Only regular files go to the cache; an execution that was not fully observed is never cached.
  const outputs = await observeOutputs(b, outputsAbs, !distrust && trace.exitCode === 0, signal);
  // Recorded after the step, leaving out exactly what the next check will: this execution's outputs
  // (carried ones included) and later steps' (writers.ts).
  const leftOut = b.leftOutAfter(i, new Set(outputsAbs));
  const readIn = namesByFolder(deps.reads);
  const listed: ObservedListing[] = deps.listed.filter(keep).map((abs) => {
    const rules = rulesAfterReads(deps.listingRules?.[abs], readIn.get(abs) ?? []);
    return { ...b.observedPath(abs), ...b.listingOf(abs, leftOut, rules), ...(rules ? { rules } : {}) };
  });
  const step = b.steps[i];
  return {
    step: step.name,
    executionId: newExecutionId(),
    runId: b.runId,
    definition: b.identity(i).definition,
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
    // there before the step wrote them: first looked at or read (clean keeps those), or inputs too (outputs.ts)
    updated: outputsAbs.filter((p) => inputSet.has(p) || firstRead.has(p)).map((abs) => b.stored(abs)),
  };
}

/** Folder -> the names of the files in it (of `paths`). */
function namesByFolder(paths: readonly string[]): Map<string, string[]> {
  const m = new Map<string, string[]>();
  for (const p of paths) {
    const dir = dirname(p);
    (m.get(dir) ?? m.set(dir, []).get(dir)!).push(basename(p));
  }
  return m;
}

function traceDistrust(b: BuildState, trace: TraceResult): Distrust | null {
  const u = trace.deps.untraced[0];
  if (u) return { kind: 'untraced-program', path: b.stored(u.path), reason: u.reason };
  const p = trace.problems[0];
  return p ? { kind: 'trace-incomplete', problem: p.kind, message: p.message } : null;
}

/**
 * Each run's inputs as first observed (lstat, digests): a later step whose trace's end-of-step lstat
 * finds the same version takes the observation as it is, without an lstat or a hash of its own, so
 * versions are taken once per path per run. A file changed since has another version (its ctime
 * moves with any change) and is observed anew.
 */
const observedInRun = new WeakMap<BuildState, Map<string, ObservedInput>>();

async function observeInput(b: BuildState, abs: string, executed: boolean, traced: FileStat | null | undefined, kept: [string, string][]): Promise<{ file: ObservedInput; st: FileStat | undefined }> {
  let seen = observedInRun.get(b);
  if (!seen) observedInRun.set(b, (seen = new Map()));
  const before = seen.get(abs);
  if (before && traced && isVersion(traced, before.version)) return { file: { ...before, executed }, st: traced };
  const input = await observeNow(b, abs, executed, traced, kept); // a version seen before was kept then
  if (input.file.version) seen.set(abs, input.file);
  return input;
}

/** The same version: what lstat says now is what was observed. */
function isVersion(st: FileStat, v: FileVersion | null): boolean {
  if (!v) return false;
  const now = versionFromStats(st);
  return now.dev === v.dev && now.ino === v.ino && now.mtimeNs === v.mtimeNs && now.ctimeNs === v.ctimeNs && now.size === v.size && now.mode === v.mode;
}

/**
 * An input with its version and digests; a small workspace file is added to `kept` ([path, sha256]).
 * `traced`: what lstat said after the step, when the trace's reader looked (then it is not asked again).
 */
async function observeNow(b: BuildState, abs: string, executed: boolean, traced: FileStat | null | undefined, kept: [string, string][]): Promise<{ file: ObservedInput; st: FileStat | undefined }> {
  const { path, id } = b.observedPath(abs);
  const st = traced === undefined ? b.disk.lstat(abs) : (traced ?? undefined);
  const digests = st && !st.isDirectory() ? await b.disk.hash(abs, st) : null;
  // Small workspace inputs (scripts, configs) are kept, so `prov-make show` can print the exact
  // version that made an output.
  if (digests && st?.isFile() && st.size <= KEEP_INPUTS_UP_TO && !isAbsolute(path)) kept.push([abs, digests.sha256]);
  const version = st ? versionFromStats(st) : null;
  return { file: { path, id, version, hash: digests?.xxh64 ?? null, sha256: digests?.sha256 ?? null, executed }, st };
}

/** Outputs read in chunks on the content store's workers (the next chunk is read while one is recorded). */
const OUTPUT_CHUNK = 4096;

/**
 * Every output read once for its version and digests, a regular file's bytes kept from the same read
 * when `keep` (a full or unwritable cache: read again without keeping, with keepSoftly's warning).
 */
async function observeOutputs(b: BuildState, paths: string[], keep: boolean, signal?: AbortSignal): Promise<ObservedOutput[]> {
  const outputs: ObservedOutput[] = [];
  const read = (at: number) => {
    const some = paths.slice(at, at + OUTPUT_CHUNK);
    const chunk = keep ? keepSoftly(b, () => b.stores.blobs.readFiles(some, true)).then((r) => r ?? ((keep = false), b.stores.blobs.readFiles(some, false))) : b.stores.blobs.readFiles(some, false);
    chunk.catch(() => undefined); // read ahead: its failure is thrown where it is awaited
    return chunk;
  };
  let next = read(0);
  for (let at = 0; at < paths.length; at += OUTPUT_CHUNK) {
    signal?.throwIfAborted();
    const chunk = await next;
    if (at + OUTPUT_CHUNK < paths.length) next = read(at + OUTPUT_CHUNK);
    chunk.forEach((r, k) => outputs.push(observedOutput(b, paths[at + k], r)));
  }
  return outputs;
}

function observedOutput(b: BuildState, abs: string, r: ReadFile): ObservedOutput {
  const { path, id } = b.observedPath(abs);
  // a folder's or a device's content is not recorded: a folder is made again, a device makes the step run
  const digests = r.version?.kind === 'file' || r.version?.kind === 'symlink' ? r.digests : null;
  const output: ObservedOutput = { path, id, version: r.version, hash: digests?.xxh64 ?? null, sha256: digests?.sha256 ?? null };
  if (r.target !== undefined) output.target = r.target;
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
