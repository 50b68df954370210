/**
 * The no-op fast path (ninja's trick of one small file per build): after a run in which every
 * step ended up to date, succeeded and trusted, with no hazard, one snapshot holds the version
 * token of every file any step depends on, every path looked for and not found, and every folder
 * listing. The next run first compares those against the disk: if all match and the pipeline file
 * has the same bytes, every step is up to date and nothing else (lmdb, stores, hashing) is opened.
 * Any difference falls back to the full engine, which decides step by step as usual. This module
 * is on that path: it imports nothing heavy.
 */
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Disk } from '@prov-make/cache/disk';
import { countedEntries } from '@prov-make/cache/listing-rules';
import { listingToken, tokenOf } from '@prov-make/cache/version-token';
import { fromWorkspaceKey } from '@prov-make/cache/workspace-key';
import { decodePath } from '@prov-make/interposer/byte-path';
import type { PipelineSource } from '../pipeline/load.js';
import { environmentKey } from '../pipeline/step-env.js';

/** up-to-date.json (snapshot-record.ts writes it). */
export interface Snapshot {
  version: 5;
  /** Written in the header of the files' index too: the two belong together. */
  generation: number;
  pipelineKey: string;
  /** The pipeline file's stamp with those bytes, when one vouches for them: no need to read it. */
  pipelineStamp: string | null;
  /** Step name and definition hash, in file order. */
  steps: [string, string][];
  /** Folder (stored path), names left out of its listing, the listing's token, and its listing rules (listing-rules.ts). */
  listings: [string, string[], number, string[]?][];
  /** The names (and globs) of the caller's variables any step sees, and environmentKey of their values. */
  environment: [string[], string];
}

export const SNAPSHOT_VERSION = 5;
export const SNAPSHOT_FILE = 'up-to-date.json';
/** Every file and the token it must still have (0: still absent), as entries "TOKEN\0PATH\0" for pm-check. */
export const SNAPSHOT_FILES = 'up-to-date.files';
/** For each of those entries, its deps-log id and the steps that depend on it (focus.ts reads it). */
export const SNAPSHOT_INDEX = 'up-to-date.index';

/**
 * What the snapshot tells about the workspace now: every step up to date; or only these files
 * changed (ordinals into the files' list), everything else as it was; or null, nothing it can vouch for.
 */
export type SnapshotCheck = { upToDate: true; names: string[] } | { upToDate: false; snap: Snapshot; changed: number[] } | null;

export interface SnapshotPlace {
  root: string;
  stateDir: string;
  disk: Disk;
  /** The caller's environment: a step sees part of it, and its values are part of the steps' identities. */
  callerEnv: NodeJS.ProcessEnv;
}

export function forgetSnapshot(stateDir: string): void {
  rmSync(join(stateDir, SNAPSHOT_FILE), { force: true });
}

/** The snapshot's files' list as tokens and paths (entry k: tokens[k], paths[k]), or null when it is unreadable. */
export function snapshotFiles(stateDir: string): { tokens: number[]; paths: string[] } | null {
  let bytes: Buffer;
  try {
    bytes = readFileSync(join(stateDir, SNAPSHOT_FILES));
  } catch {
    return null;
  }
  const parts = decodePath(bytes).split('\0');
  const tokens: number[] = [];
  const paths: string[] = [];
  for (let i = 0; i + 1 < parts.length; i += 2) {
    tokens.push(Number(parts[i]));
    paths.push(parts[i + 1]);
  }
  return { tokens, paths };
}

/**
 * The ordinals of the listed files whose token differs now; null when more than `max` differ (or the
 * list is unreadable). The disk's bulk check when it has one, else one lstat each.
 */
function changedFiles(at: SnapshotPlace, max: number): number[] | null {
  const bulk = at.disk.changedEntries?.(at.root, join(at.stateDir, SNAPSHOT_FILES), max);
  if (bulk !== undefined) return bulk;
  const files = snapshotFiles(at.stateDir);
  if (!files) return null;
  const changed: number[] = [];
  for (let k = 0; k < files.paths.length; k++) {
    if (tokenOf(at.disk.lstat(fromWorkspaceKey(at.root, files.paths[k]))) === files.tokens[k]) continue;
    if (changed.push(k) > max) return null;
  }
  return changed;
}

function readSnapshot(stateDir: string): Snapshot | null {
  try {
    const snap = JSON.parse(readFileSync(join(stateDir, SNAPSHOT_FILE), 'utf8')) as Snapshot;
    return snap.version === SNAPSHOT_VERSION ? snap : null;
  } catch {
    return null;
  }
}

/** The generation of the snapshot there now (undefined: none). */
export function snapshotGeneration(stateDir: string): number | undefined {
  return readSnapshot(stateDir)?.generation;
}

/**
 * Whether the snapshot proves every step of the pipeline up to date now (then the names of the
 * steps, in file order), or else that only files changed (at most `maxChanged` of them: which ones).
 * The pipeline file must have the bytes it had (its stamp, or else its content key, says so), so the
 * steps need not be parsed; when they are at hand, their names and definition hashes (`steps`) are
 * checked too. Its environment and every listing must be as they were.
 */
export function checkSnapshot(at: SnapshotPlace, pipeline: Pick<PipelineSource, 'stamp' | 'contentKey'>, steps: readonly [string, string][] | undefined, maxChanged: number): SnapshotCheck {
  const snap = readSnapshot(at.stateDir);
  if (!snap) return null;
  const sameBytes = (snap.pipelineStamp !== null && snap.pipelineStamp === pipeline.stamp()) || snap.pipelineKey === pipeline.contentKey();
  if (!sameBytes) return null;
  if (environmentKey(snap.environment[0], at.callerEnv) !== snap.environment[1]) return null;
  if (steps && (snap.steps.length !== steps.length || steps.some(([name, hash], i) => snap.steps[i][0] !== name || snap.steps[i][1] !== hash))) return null;
  for (const [dir, left, token, rules] of snap.listings) {
    const names = new Set(left);
    if (listingToken(countedEntries(at.disk, fromWorkspaceKey(at.root, dir), rules, (name) => names.has(name))) !== token) return null;
  }
  const changed = changedFiles(at, maxChanged);
  if (changed === null) return null;
  return changed.length === 0 ? { upToDate: true, names: snap.steps.map(([name]) => name) } : { upToDate: false, snap, changed };
}
