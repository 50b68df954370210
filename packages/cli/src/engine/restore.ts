/**
 * Bringing outputs back without running: damaged outputs of an up-to-date step from the content
 * store, and a cache hit's outputs taken as the step's own execution. Restores never write outside
 * the workspace: files go through the blob store's checks, folders and symlinks through
 * prepareRestoreFolders (no `..`, no absolute path, no symlinked folder on the way).
 */
import {
  cachedOutputsProblem,
  checkRestorePath,
  newExecutionId,
  nowNs,
  prepareRestoreFolders,
  tokenToRecord,
  versionFromStats,
  versionTokenToRecord,
  type CacheHit,
  type CachedOutput,
  type Disk,
  type FileVersion,
  type ObservedInput,
  type ObservedOutput,
  type RestoreRequest,
  type StepRecord,
} from '@prov-make/cache';
import { definitionOf } from '../pipeline/definition.js';
import type { BuildState } from './build-state.js';
import type { RestoreItem } from './check.js';
import { describe } from './reasons.js';

const byPath = (a: { path: string }, b: { path: string }) => (a.path < b.path ? -1 : 1);

/** Makes the folders on the way to `abs` (refusing symlinked ones) and returns it. */
function prepare(disk: Disk, root: string, abs: string): string {
  checkRestorePath(root, abs);
  return prepareRestoreFolders({ lstat: (p) => disk.lstat(p), mkdir: (p) => disk.mkdir(p) }, root, abs);
}

/** Restores the damaged outputs of step i, then takes every output's token as it is now. */
export async function restoreOutputs(b: BuildState, i: number, items: RestoreItem[], signal?: AbortSignal): Promise<void> {
  // parents first: a deleted folder is made again before the files that go in it
  const files: RestoreRequest[] = [];
  for (const item of [...items].sort(byPath)) {
    signal?.throwIfAborted();
    if (item.target !== undefined) b.disk.symlink(item.target, prepare(b.disk, b.root, item.path));
    else if (item.sha256 === null) b.disk.mkdir(prepare(b.disk, b.root, item.path), item.mode & 0o7777);
    else files.push({ sha256: item.sha256, path: item.path, mode: item.mode });
  }
  const written = await restoreFiles(b, files);
  const state = b.state(i)!;
  const now = nowNs();
  const tokens = Float64Array.from(state.outputs.ids, (id) => {
    b.tokens.forget(id);
    const abs = b.abs(b.deps.pathOf(id));
    const version = written.get(abs);
    return version ? versionTokenToRecord(version, now) : tokenToRecord(b.disk.lstat(abs), now);
  });
  b.deps.refreshTokens(b.steps[i].name, state.inputs.tokens, tokens);
  state.outputs.tokens = tokens;
}

/** Files restored by the blob store (all at once: it spreads them over its workers), by absolute path. */
async function restoreFiles(b: BuildState, files: RestoreRequest[]): Promise<Map<string, FileVersion>> {
  const versions = await b.stores.blobs.restore(files);
  return new Map(files.map((f, k) => [f.path, versions[k]]));
}

/** A cached output that is not a file: a folder or a symlink, made again. */
function remake(b: BuildState, o: Exclude<CachedOutput, { kind: 'file' }>): void {
  const abs = prepare(b.disk, b.root, b.abs(o.path));
  if (o.kind === 'dir') b.disk.mkdir(abs, o.mode & 0o777);
  else b.disk.symlink(o.target, abs);
}

/**
 * Restores every output of an entry, or none: its paths are checked against the disk as it is now
 * (another step may have changed it since the lookup), and what was written before a failure (a
 * blob that is not what the entry names, a full disk) is removed again. The versions of its files.
 */
async function restoreEntry(b: BuildState, outputs: readonly CachedOutput[], signal?: AbortSignal): Promise<Map<string, FileVersion>> {
  const problem = cachedOutputsProblem(b.root, outputs, b.disk);
  if (problem) throw new Error(problem);
  const made: string[] = [];
  const files: RestoreRequest[] = [];
  try {
    // parents first: folders and links are made before the files that go in them
    for (const o of [...outputs].sort(byPath)) {
      signal?.throwIfAborted();
      const abs = b.abs(o.path);
      if (o.kind === 'file') {
        files.push({ sha256: o.sha256, xxh64: o.hash, path: abs, mode: o.mode });
        continue;
      }
      if (o.kind !== 'dir' || !b.disk.lstat(abs)) made.push(abs);
      remake(b, o);
    }
    signal?.throwIfAborted();
    return await restoreFiles(b, files);
  } catch (err) {
    // the batch restores every file it can before the first failure is thrown: all are removed (the step runs)
    for (const abs of [...files.map((f) => f.path), ...made].reverse()) b.disk.unlink(abs);
    throw err;
  }
}

/**
 * Takes a cached execution as step i's own: its outputs restored, its dependencies observed as they
 * are now, its history that of the execution that made them. Returns the record to commit.
 */
export async function adoptCacheHit(b: BuildState, i: number, hit: CacheHit, signal?: AbortSignal): Promise<StepRecord> {
  const written = await restoreEntry(b, hit.entry.outputs, signal);
  const original = hit.entry.execution;
  const startedAt = Date.now();
  const recordedAtNs = nowNs();
  // Only what the path set names, which the lookup hashed: the entry's own lists are not trusted.
  const observed = new Set(hit.pathSet.inputs);
  const inputs: ObservedInput[] = [];
  for (const f of original.inputs) if (observed.has(f.path)) inputs.push(await observeNow(b, f.path, false));
  for (const f of original.executed) if (observed.has(f.path)) inputs.push(await observeNow(b, f.path, true));
  const outputs: ObservedOutput[] = [];
  for (const o of hit.entry.outputs) outputs.push(await restoredOutput(b, o, written));
  const leftOut = b.leftOut(i);
  const step = b.steps[i];
  return {
    step: step.name,
    executionId: newExecutionId(),
    runId: b.runId,
    definition: definitionOf(step), // the same by its hash, which the entry had to match
    definitionHash: b.definitionHash(i),
    reason: describe({ kind: 'adopted', executionId: original.id }),
    // its own times: history orders runs by when they happened; the original is named
    startedAt,
    finishedAt: Date.now(),
    adoptedFrom: original.adoptedFrom ?? original.id,
    exitCode: 0,
    signal: original.signal,
    fullyObserved: original.fullyObserved,
    distrust: null,
    recordedAtNs,
    inputs,
    outputs,
    absent: hit.pathSet.absent.map((path) => ({ path, id: b.deps.idOf(path) })),
    listed: hit.pathSet.listed.map((path) => {
      const rules = hit.pathSet.listedRules?.[path];
      return { path, id: b.deps.idOf(path), ...b.listingOf(b.abs(path), leftOut, rules), ...(rules ? { rules } : {}) };
    }),
    deleted: original.deleted,
    untraced: original.untraced,
    annotations: original.annotations,
    outputLogHash: adoptedLog(b, original.outputLogHash),
  };
}

/** The original's output log when this workspace holds it (its SHA-256 names it; read, it is checked), else none. */
function adoptedLog(b: BuildState, hash: string | null): string | null {
  return hash && b.stores.blobs.has(hash) ? hash : null;
}

async function observeNow(b: BuildState, path: string, executed: boolean): Promise<ObservedInput> {
  const abs = b.abs(path);
  const st = b.disk.lstat(abs);
  const digests = st && !st.isDirectory() ? await b.disk.hash(abs, st) : null;
  return { path, id: b.deps.idOf(path), version: st ? versionFromStats(st) : null, hash: digests?.xxh64 ?? null, sha256: digests?.sha256 ?? null, executed };
}

async function restoredOutput(b: BuildState, o: CachedOutput, written: Map<string, FileVersion>): Promise<ObservedOutput> {
  const abs = b.abs(o.path);
  const id = b.deps.idOf(o.path);
  b.tokens.forget(id);
  if (o.kind === 'file') return { path: o.path, id, version: written.get(abs) ?? null, hash: o.hash, sha256: o.sha256 };
  const st = b.disk.lstat(abs);
  const version = st ? versionFromStats(st) : null;
  if (o.kind === 'dir') return { path: o.path, id, version, hash: null, sha256: null };
  const digests = st ? await b.disk.hash(abs, st) : null;
  return { path: o.path, id, version, hash: digests?.xxh64 ?? null, sha256: digests?.sha256 ?? null, target: o.target };
}
