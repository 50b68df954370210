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
import { ABSENT, fromWorkspaceKey, listingToken, tokenOf, UNTRUSTED, writeFileAtomic, type Disk } from '@prov-make/cache/light';
import type { DepsLog, StepState } from '@prov-make/cache';
import { definitionHash } from '../pipeline/definition.js';
import type { PipelineSource } from '../pipeline/load.js';
import type { Pipeline, Step } from '../pipeline/types.js';

interface Snapshot {
  version: 3;
  pipelineKey: string;
  /** The pipeline file's stamp with those bytes, when one vouches for them: no need to read it. */
  pipelineStamp: string | null;
  /** Step name and definition hash, in file order. */
  steps: [string, string][];
  /** Folder (stored path), names left out of its listing, and the listing's token. */
  listings: [string, string[], number][];
}

const FILE = 'up-to-date.json';
/** Every file and the token it must still have (0: still absent), as entries "TOKEN\0PATH\0" for pm-check. */
const FILES = 'up-to-date.files';

export interface SnapshotPlace {
  root: string;
  stateDir: string;
  disk: Disk;
}

export function forgetSnapshot(stateDir: string): void {
  rmSync(join(stateDir, FILE), { force: true });
}

/** True when every listed file still has its token: the disk's bulk check when it has one, else one lstat each. */
function filesUnchanged(at: SnapshotPlace): boolean {
  const list = join(at.stateDir, FILES);
  const bulk = at.disk.tokensMatch?.(at.root, list);
  if (bulk !== undefined) return bulk;
  let bytes: Buffer;
  try {
    bytes = readFileSync(list);
  } catch {
    return false;
  }
  const parts = bytes.toString('utf8').split('\0');
  for (let i = 0; i + 1 < parts.length; i += 2) {
    if (tokenOf(at.disk.lstat(fromWorkspaceKey(at.root, parts[i + 1]))) !== Number(parts[i])) return false;
  }
  return true;
}

/**
 * The names of the steps, in file order, when the snapshot proves every step of the pipeline is up
 * to date now; null otherwise. The pipeline file must have the bytes it had (its stamp, or else its
 * content key, says so), so the steps need not be parsed; when they are at hand they are checked too.
 */
export function everythingUpToDate(at: SnapshotPlace, pipeline: Pick<PipelineSource, 'stamp' | 'contentKey'>, steps?: readonly Step[]): string[] | null {
  let snap: Snapshot;
  try {
    snap = JSON.parse(readFileSync(join(at.stateDir, FILE), 'utf8')) as Snapshot;
  } catch {
    return null;
  }
  if (snap.version !== 3) return null;
  const sameBytes = (snap.pipelineStamp !== null && snap.pipelineStamp === pipeline.stamp()) || snap.pipelineKey === pipeline.contentKey();
  if (!sameBytes) return null;
  if (steps) {
    if (snap.steps.length !== steps.length) return null;
    for (let i = 0; i < steps.length; i++) {
      if (snap.steps[i][0] !== steps[i].name || snap.steps[i][1] !== definitionHash(steps[i])) return null;
    }
  }
  for (const [dir, left, token] of snap.listings) {
    const names = new Set(left);
    if (listingToken(at.disk.readdir(fromWorkspaceKey(at.root, dir)), (name) => names.has(name)) !== token) return null;
  }
  return filesUnchanged(at) ? snap.steps.map(([name]) => name) : null;
}

/**
 * Writes the snapshot after a run, or removes it when the run does not prove everything up to
 * date. `leftOut(i, dir)` names the entries of `dir` left out of step i's listings.
 */
export function recordSnapshot(
  at: SnapshotPlace,
  pipeline: Pipeline,
  states: readonly (StepState | undefined)[],
  deps: DepsLog,
  allClean: boolean,
  leftOut: (stepIndex: number, absDir: string) => string[],
): void {
  const give = () => forgetSnapshot(at.stateDir);
  if (!allClean || !pipeline.contentKey) return give();
  const tokens = new Map<number, number>();
  const want = (id: number, token: number): boolean => {
    if (token === UNTRUSTED) return false; // racily clean: the next run must hash it
    const had = tokens.get(id);
    if (had !== undefined && had !== token) return false; // steps disagree: let the engine decide
    tokens.set(id, token);
    return true;
  };
  const wantAll = (list: { ids: Uint32Array; tokens?: Float64Array }): boolean => {
    const { ids, tokens } = list;
    for (let k = 0; k < ids.length; k++) if (!want(ids[k], tokens ? tokens[k] : ABSENT)) return false;
    return true;
  };
  const listings: Snapshot['listings'] = [];
  for (let i = 0; i < states.length; i++) {
    const st = states[i];
    if (!st || !st.succeeded || st.distrust || st.definitionHash !== definitionHash(pipeline.steps[i])) return give();
    if (!wantAll(st.inputs) || !wantAll(st.outputs) || !wantAll({ ids: st.absent })) return give();
    const { ids, tokens: listed } = st.listed;
    for (let k = 0; k < ids.length; k++) {
      const dir = deps.pathOf(ids[k]);
      listings.push([dir, leftOut(i, fromWorkspaceKey(at.root, dir)), listed[k]]);
    }
  }
  const entries: string[] = [];
  for (const [id, token] of tokens) {
    const path = deps.pathOf(id);
    if (path.includes('\0')) return give();
    entries.push(`${token}\0${path}\0`);
  }
  const snap: Snapshot = { version: 3, pipelineKey: pipeline.contentKey, pipelineStamp: pipeline.sourceStamp ?? null, steps: pipeline.steps.map((s) => [s.name, definitionHash(s)]), listings };
  // The list first, the snapshot last: the snapshot's presence vouches for the list beside it.
  writeFileAtomic(join(at.stateDir, FILES), entries.join(''));
  writeFileAtomic(join(at.stateDir, FILE), JSON.stringify(snap));
}
