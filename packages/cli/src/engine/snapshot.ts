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
  version: 4;
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

export const SNAPSHOT_VERSION = 4;
export const SNAPSHOT_FILE = 'up-to-date.json';
/** Every file and the token it must still have (0: still absent), as entries "TOKEN\0PATH\0" for pm-check. */
export const SNAPSHOT_FILES = 'up-to-date.files';

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

/** True when every listed file still has its token: the disk's bulk check when it has one, else one lstat each. */
function filesUnchanged(at: SnapshotPlace): boolean {
  const list = join(at.stateDir, SNAPSHOT_FILES);
  const bulk = at.disk.tokensMatch?.(at.root, list);
  if (bulk !== undefined) return bulk;
  let bytes: Buffer;
  try {
    bytes = readFileSync(list);
  } catch {
    return false;
  }
  const parts = decodePath(bytes).split('\0');
  for (let i = 0; i + 1 < parts.length; i += 2) {
    if (tokenOf(at.disk.lstat(fromWorkspaceKey(at.root, parts[i + 1]))) !== Number(parts[i])) return false;
  }
  return true;
}

/**
 * The names of the steps, in file order, when the snapshot proves every step of the pipeline is up
 * to date now; null otherwise. The pipeline file must have the bytes it had (its stamp, or else its
 * content key, says so), so the steps need not be parsed; when they are at hand, their names and
 * definition hashes (`steps`) are checked too.
 */
export function everythingUpToDate(at: SnapshotPlace, pipeline: Pick<PipelineSource, 'stamp' | 'contentKey'>, steps?: readonly [string, string][]): string[] | null {
  let snap: Snapshot;
  try {
    snap = JSON.parse(readFileSync(join(at.stateDir, SNAPSHOT_FILE), 'utf8')) as Snapshot;
  } catch {
    return null;
  }
  if (snap.version !== SNAPSHOT_VERSION) return null;
  const sameBytes = (snap.pipelineStamp !== null && snap.pipelineStamp === pipeline.stamp()) || snap.pipelineKey === pipeline.contentKey();
  if (!sameBytes) return null;
  if (environmentKey(snap.environment[0], at.callerEnv) !== snap.environment[1]) return null;
  if (steps && (snap.steps.length !== steps.length || steps.some(([name, hash], i) => snap.steps[i][0] !== name || snap.steps[i][1] !== hash))) return null;
  for (const [dir, left, token, rules] of snap.listings) {
    const names = new Set(left);
    if (listingToken(countedEntries(at.disk, fromWorkspaceKey(at.root, dir), rules, (name) => names.has(name))) !== token) return null;
  }
  return filesUnchanged(at) ? snap.steps.map(([name]) => name) : null;
}
