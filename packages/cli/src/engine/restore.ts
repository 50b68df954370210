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
  sha256Bytes,
  tokenToRecord,
  versionFromStats,
  type CacheHit,
  type CachedExecution,
  type CachedOutput,
  type Disk,
  type ObservedInput,
  type ObservedOutput,
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
  for (const item of [...items].sort(byPath)) {
    signal?.throwIfAborted();
    if (item.target !== undefined) b.disk.symlink(item.target, prepare(b.disk, b.root, item.path));
    else if (item.hash === null) b.disk.mkdir(prepare(b.disk, b.root, item.path), item.mode & 0o7777);
    else await b.stores.blobs.restore(item.hash, item.path, item.mode);
  }
  const state = b.states[i]!;
  const now = nowNs();
  const tokens = Float64Array.from(state.outputs.ids, (id) => {
    b.tokens.forget(id);
    return tokenToRecord(b.disk.lstat(b.abs(b.deps.pathOf(id))), now);
  });
  b.deps.refreshTokens(b.steps[i].name, state.inputs.tokens, tokens);
  state.outputs.tokens = tokens;
}

async function restoreCached(b: BuildState, o: CachedOutput): Promise<void> {
  const abs = b.abs(o.path);
  if (o.kind === 'file') return b.stores.blobs.restore(o.hash, abs, o.mode, o.sha256);
  prepare(b.disk, b.root, abs);
  if (o.kind === 'dir') b.disk.mkdir(abs, o.mode & 0o777);
  else b.disk.symlink(o.target, abs);
}

/**
 * Restores every output of an entry, or none: its paths are checked against the disk as it is now
 * (another step may have changed it since the lookup), and what was written before a failure (a
 * blob that is not what the entry names, a full disk) is removed again.
 */
async function restoreEntry(b: BuildState, outputs: readonly CachedOutput[], signal?: AbortSignal): Promise<void> {
  const problem = cachedOutputsProblem(b.root, outputs, b.disk);
  if (problem) throw new Error(problem);
  const written: string[] = [];
  try {
    // parents first: folders are made before what goes in them
    for (const o of [...outputs].sort(byPath)) {
      signal?.throwIfAborted();
      const abs = b.abs(o.path);
      if (o.kind !== 'dir' || !b.disk.lstat(abs)) written.push(abs);
      await restoreCached(b, o);
    }
  } catch (err) {
    for (const abs of written.reverse()) b.disk.unlink(abs);
    throw err;
  }
}

/**
 * Takes a cached execution as step i's own: its outputs restored, its dependencies observed as they
 * are now, its history that of the execution that made them. Returns the record to commit.
 */
export async function adoptCacheHit(b: BuildState, i: number, hit: CacheHit, signal?: AbortSignal): Promise<StepRecord> {
  await restoreEntry(b, hit.entry.outputs, signal);
  const original = hit.entry.execution;
  const startedAt = Date.now();
  const recordedAtNs = nowNs();
  // Only what the path set names, which the lookup hashed: the entry's own lists are not trusted.
  const observed = new Set(hit.pathSet.inputs);
  const inputs: ObservedInput[] = [];
  for (const f of original.inputs) if (observed.has(f.path)) inputs.push(await observeNow(b, f.path, false));
  for (const f of original.executed) if (observed.has(f.path)) inputs.push(await observeNow(b, f.path, true));
  const outputs: ObservedOutput[] = [];
  for (const o of hit.entry.outputs) outputs.push(await restoredOutput(b, o));
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
    outputLogHash: await adoptedLog(b, original),
  };
}

/** The original's output log when this workspace holds those very bytes (checked by SHA-256), else none. */
async function adoptedLog(b: BuildState, original: CachedExecution): Promise<string | null> {
  const { outputLogHash: hash, outputLogSha256: sha256 } = original;
  if (!hash || !sha256 || !b.stores.blobs.has(hash)) return null;
  return sha256Bytes(await b.stores.blobs.read(hash)) === sha256 ? hash : null;
}

async function observeNow(b: BuildState, path: string, executed: boolean): Promise<ObservedInput> {
  const abs = b.abs(path);
  const st = b.disk.lstat(abs);
  const digests = st && !st.isDirectory() ? await b.disk.hash(abs, st) : null;
  return { path, id: b.deps.idOf(path), version: st ? versionFromStats(st) : null, hash: digests?.xxh64 ?? null, sha256: digests?.sha256 ?? null, executed };
}

async function restoredOutput(b: BuildState, o: CachedOutput): Promise<ObservedOutput> {
  const abs = b.abs(o.path);
  const id = b.deps.idOf(o.path);
  b.tokens.forget(id);
  const st = b.disk.lstat(abs);
  const version = st ? versionFromStats(st) : null;
  if (o.kind === 'file') return { path: o.path, id, version, hash: o.hash, sha256: o.sha256 };
  if (o.kind === 'dir') return { path: o.path, id, version, hash: null, sha256: null };
  const digests = st ? await b.disk.hash(abs, st) : null;
  return { path: o.path, id, version, hash: digests?.xxh64 ?? null, sha256: digests?.sha256 ?? null, target: o.target };
}
