/**
 * Writing the no-op snapshot (snapshot.ts) at the end of a run: only after a run that left every
 * step up to date, succeeded, trusted and hazard-free, with no racily clean token, and with every
 * step agreeing on each file's token. Otherwise it is removed.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { ABSENT, UNTRUSTED, writeFileAtomic } from '@prov-make/cache';
import { pathOfKey } from '@prov-make/cache/workspace-key';
import { encodePath } from '@prov-make/interposer/byte-path';
import type { BuildState } from './build-state.js';
import { environmentKey, visiblePatterns } from '../pipeline/step-env.js';
import { forgetSnapshot, SNAPSHOT_FILE, SNAPSHOT_FILES, SNAPSHOT_INDEX, SNAPSHOT_VERSION, type Snapshot } from './snapshot.js';

/** Writes the snapshot after a run, or removes it when the run does not prove everything up to date. */
export function recordSnapshot(b: BuildState, allClean: boolean): void {
  const { pipeline, states, deps } = b;
  const stateDir = b.paths.stateDir;
  const give = () => forgetSnapshot(stateDir);
  if (!allClean || !pipeline.contentKey) return give();
  const tokens = new Map<number, number>();
  const users = new Map<number, number[]>(); // file id -> the steps depending on it, in file order
  let step = 0;
  const want = (id: number, token: number): boolean => {
    if (token === UNTRUSTED) return false; // racily clean: the next run must hash it
    const had = tokens.get(id);
    if (had !== undefined && had !== token) return false; // steps disagree: let the engine decide
    tokens.set(id, token);
    const list = users.get(id);
    if (!list) users.set(id, [step]);
    else if (list[list.length - 1] !== step) list.push(step);
    return true;
  };
  const wantAll = (list: { ids: Uint32Array; tokens?: Float64Array }): boolean => {
    const { ids, tokens } = list;
    for (let k = 0; k < ids.length; k++) if (!want(ids[k], tokens ? tokens[k] : ABSENT)) return false;
    return true;
  };
  const listings: Snapshot['listings'] = [];
  for (let i = 0; i < states.length; i++) {
    step = i;
    const st = states[i];
    if (!st || !st.succeeded || st.distrust || st.definitionHash !== b.definitionHash(i)) return give();
    if (!wantAll(st.inputs) || !wantAll(st.outputs) || !wantAll({ ids: st.absent })) return give();
    const { ids, tokens: listed } = st.listed;
    for (let k = 0; k < ids.length; k++) {
      const dir = deps.pathOf(ids[k]);
      const rules = st.listedRules?.[k];
      listings.push(rules ? [dir, leftOutNames(b, i, b.abs(dir)), listed[k], rules] : [dir, leftOutNames(b, i, b.abs(dir)), listed[k]]);
    }
  }
  // the folders foreach globs walked, as they were when the items were found: a change means other steps
  for (const [dir, token] of pipeline.foreachListings ?? []) listings.push([dir, [], token]);
  const entries: string[] = [];
  for (const [id, token] of tokens) {
    const path = deps.pathOf(id);
    if (path.includes('\0')) return give();
    entries.push(`${token}\0${pathOfKey(path)}\0`);
  }
  const patterns = visiblePatterns(pipeline.steps.flatMap((s) => s.passEnv));
  const environment: Snapshot['environment'] = [patterns, environmentKey(patterns, b.callerEnv)];
  const generation = randomBytes(4).readUInt32LE();
  const snap: Snapshot = { version: SNAPSHOT_VERSION, generation, pipelineKey: pipeline.contentKey, pipelineStamp: pipeline.sourceStamp ?? null, steps: pipeline.steps.map((s, i) => [s.name, b.definitionHash(i)]), listings, environment };
  // The list first, the snapshot last: the snapshot's presence vouches for the list beside it.
  // names as their own bytes: pm-check stats them as they are
  writeFileAtomic(join(stateDir, SNAPSHOT_FILES), encodePath(entries.join('')));
  writeFileAtomic(join(stateDir, SNAPSHOT_INDEX), snapshotIndex(generation, tokens.keys(), users));
  writeFileAtomic(join(stateDir, SNAPSHOT_FILE), JSON.stringify(snap));
}

/**
 * The files' index (focus.ts reads it), u32s: generation, entry count n, each entry's deps-log id,
 * n + 1 offsets into the steps that follow, and for each entry the steps depending on it.
 */
function snapshotIndex(generation: number, ids: Iterable<number>, users: Map<number, number[]>): Buffer {
  const order = [...ids];
  const total = order.reduce((n, id) => n + users.get(id)!.length, 0);
  const out = new Uint32Array(2 + order.length * 2 + 1 + total);
  out[0] = generation;
  out[1] = order.length;
  const offsetsAt = 2 + order.length;
  let at = offsetsAt + order.length + 1;
  order.forEach((id, k) => {
    out[2 + k] = id;
    out[offsetsAt + k] = at;
    for (const step of users.get(id)!) out[at++] = step;
  });
  out[offsetsAt + order.length] = at;
  return Buffer.from(out.buffer);
}

/** The entries of `absDir` left out of step i's listings. */
function leftOutNames(b: BuildState, i: number, absDir: string): string[] {
  const left = b.leftOut(i);
  return (b.disk.readdir(absDir) ?? []).filter((name) => left(join(absDir, name)));
}
