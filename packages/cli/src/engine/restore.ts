/**
 * Bringing outputs back without running: damaged outputs of an up-to-date step from the content
 * store, and a cache hit's outputs taken as the step's own execution. Restores never write outside
 * the workspace: files go through the blob store's checks, folders and symlinks through
 * prepareRestoreFolders (no `..`, no absolute path, no symlinked folder on the way).
 */
import {
  checkRestorePath,
  newExecutionId,
  nowNs,
  prepareRestoreFolders,
  tokenToRecord,
  versionFromStats,
  type CacheHit,
  type CachedOutput,
  type Disk,
  type ObservedInput,
  type ObservedOutput,
  type RecordedFile,
  type StepRecord,
} from '@prov-make/cache';
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
export async function restoreOutputs(b: BuildState, i: number, items: RestoreItem[]): Promise<void> {
  // parents first: a deleted folder is made again before the files that go in it
  for (const item of [...items].sort(byPath)) {
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
  if (o.kind === 'file') return b.stores.blobs.restore(o.hash, abs, o.mode);
  prepare(b.disk, b.root, abs);
  if (o.kind === 'dir') b.disk.mkdir(abs, o.mode);
  else b.disk.symlink(o.target, abs);
}

/**
 * Takes a cached execution as step i's own: its outputs restored, its dependencies observed as they
 * are now, its history that of the execution that made them. Returns the record to commit.
 */
export async function adoptCacheHit(b: BuildState, i: number, hit: CacheHit): Promise<StepRecord> {
  // parents first: folders are made before what goes in them
  for (const o of [...hit.entry.outputs].sort(byPath)) await restoreCached(b, o);
  const original = hit.entry.execution;
  const startedAt = Date.now();
  const recordedAtNs = nowNs();
  const inputs: ObservedInput[] = [];
  for (const f of original.inputs) inputs.push(await observeNow(b, f, false));
  for (const f of original.executed) inputs.push(await observeNow(b, f, true));
  const outputs: ObservedOutput[] = [];
  for (const o of hit.entry.outputs) outputs.push(await restoredOutput(b, o));
  const leftOut = b.leftOut(i);
  return {
    step: b.steps[i].name,
    executionId: newExecutionId(),
    runId: b.runId,
    definition: original.definition,
    definitionHash: original.definitionHash,
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
    outputLogHash: original.outputLogHash,
  };
}

async function observeNow(b: BuildState, f: RecordedFile, executed: boolean): Promise<ObservedInput> {
  const abs = b.abs(f.path);
  const st = b.disk.lstat(abs);
  const digests = st && !st.isDirectory() ? await b.disk.hash(abs, st) : null;
  return { path: f.path, id: b.deps.idOf(f.path), version: st ? versionFromStats(st) : null, hash: digests?.xxh64 ?? null, sha256: digests?.sha256 ?? null, executed };
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
