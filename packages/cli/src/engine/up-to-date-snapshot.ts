/**
 * The no-op fast path (ninja's trick of one small file per build): after a run in which every
 * step ended up to date, succeeded and trusted, with no hazard, one snapshot holds the version
 * token of every file any step depends on, every path looked for and not found, and every folder
 * listing. The next run first compares those against the disk: if all match and the pipeline file
 * has the same bytes, every step is up to date and nothing else (lmdb, stores, hashing) is opened.
 * Any difference falls back to the full engine, which decides step by step as usual.
 */
import { randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { fileCheckProgram } from '@prov-make/interposer';
import { basename, join } from 'node:path';
import { listingToken } from './listing.js';
import type { Pipeline, Step } from '../pipeline/pipeline.js';
import type { DepsLog, StepState } from './deps-log.js';
import { definitionHash } from './definition.js';
import { absolutePath, type Workspace } from './workspace.js';
import { ABSENT, UNTRUSTED, statOf, tokenOf } from './version-token.js';

interface Snapshot {
  version: 2;
  pipelineKey: string;
  /** Step name and definition hash, in file order. */
  steps: [string, string][];
  /** Folder (stored path), names left out of its listing, and the listing's token. */
  listings: [string, string[], number][];
}

const FILE = 'up-to-date.json';
/** Every file and the token it must still have (0: still absent), as entries "TOKEN\0PATH\0" for pm-check. */
const FILES = 'up-to-date.files';

export function forgetSnapshot(ws: Workspace): void {
  rmSync(join(ws.stateDir, FILE), { force: true });
}

/** True when every listed file still has its token: pm-check (C) when built, else one lstat each from here. */
function filesUnchanged(ws: Workspace): boolean {
  const list = join(ws.stateDir, FILES);
  if (existsSync(fileCheckProgram)) {
    const r = spawnSync(fileCheckProgram, [ws.root, list], { stdio: 'ignore' });
    if (r.status === 0 || r.status === 1) return r.status === 0;
  }
  let bytes: Buffer;
  try {
    bytes = readFileSync(list);
  } catch {
    return false;
  }
  const parts = bytes.toString('utf8').split('\0');
  for (let i = 0; i + 1 < parts.length; i += 2) {
    if (tokenOf(statOf(absolutePath(ws, parts[i + 1]))) !== Number(parts[i])) return false;
  }
  return true;
}

/**
 * The names of the steps, in file order, when the snapshot proves every step of the pipeline whose
 * bytes have this content key is up to date now; null otherwise. The key names the exact file, so
 * the steps need not be parsed; when they are at hand they are checked too.
 */
export function everythingUpToDate(ws: Workspace, contentKey: string | undefined, steps?: readonly Step[]): string[] | null {
  if (!contentKey) return null;
  let snap: Snapshot;
  try {
    snap = JSON.parse(readFileSync(join(ws.stateDir, FILE), 'utf8')) as Snapshot;
  } catch {
    return null;
  }
  if (snap.version !== 2 || snap.pipelineKey !== contentKey) return null;
  if (steps) {
    if (snap.steps.length !== steps.length) return null;
    for (let i = 0; i < steps.length; i++) {
      if (snap.steps[i][0] !== steps[i].name || snap.steps[i][1] !== definitionHash(steps[i])) return null;
    }
  }
  for (const [dir, left, token] of snap.listings) {
    const names = new Set(left);
    if (listingToken(absolutePath(ws, dir), (abs) => names.has(basename(abs))) !== token) return null;
  }
  return filesUnchanged(ws) ? snap.steps.map(([name]) => name) : null;
}


/**
 * Writes the snapshot after a run, or removes it when the run does not prove everything up to
 * date. `leftOut(i, dir)` names the entries of `dir` left out of step i's listings.
 */
export function recordSnapshot(
  ws: Workspace,
  pipeline: Pipeline,
  states: readonly (StepState | undefined)[],
  log: DepsLog,
  allClean: boolean,
  leftOut: (stepIndex: number, absDir: string) => string[],
): void {
  const give = () => forgetSnapshot(ws);
  if (!allClean || !pipeline.contentKey) return give();
  const tokens = new Map<number, number>();
  const want = (id: number, token: number): boolean => {
    if (token === UNTRUSTED) return false; // racily clean: the next run must hash it
    const had = tokens.get(id);
    if (had !== undefined && had !== token) return false; // steps disagree: let the engine decide
    tokens.set(id, token);
    return true;
  };
  const listings: Snapshot['listings'] = [];
  for (let i = 0; i < states.length; i++) {
    const st = states[i];
    if (!st || !st.succeeded || !st.trusted || st.definitionHash !== definitionHash(pipeline.steps[i])) return give();
    for (let k = 0; k < st.inputs.length; k += 2) if (!want(st.inputs[k], st.inputs[k + 1])) return give();
    for (let k = 0; k < st.outputs.length; k += 2) if (!want(st.outputs[k], st.outputs[k + 1])) return give();
    for (let k = 0; k < st.absent.length; k++) if (!want(st.absent[k], ABSENT)) return give();
    for (let k = 0; k < st.listed.length; k += 2) {
      const dir = log.pathOf(st.listed[k]);
      listings.push([dir, leftOut(i, absolutePath(ws, dir)), st.listed[k + 1]]);
    }
  }
  const snap: Snapshot = {
    version: 2,
    pipelineKey: pipeline.contentKey,
    steps: pipeline.steps.map((s) => [s.name, definitionHash(s)]),
    listings,
  };
  const entries: string[] = [];
  for (const [id, token] of tokens) {
    const path = log.pathOf(id);
    if (path.includes('\0')) return give();
    entries.push(`${token}\0${path}\0`);
  }
  // The list first, the snapshot last: the snapshot's presence vouches for the list beside it.
  atomicWrite(join(ws.stateDir, FILES), entries.join(''));
  atomicWrite(join(ws.stateDir, FILE), JSON.stringify(snap));
}

function atomicWrite(file: string, data: string): void {
  const tmp = `${file}.${randomBytes(4).toString('hex')}.tmp`;
  writeFileSync(tmp, data);
  renameSync(tmp, file);
}
