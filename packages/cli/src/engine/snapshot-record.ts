/**
 * Writing the no-op snapshot (snapshot.ts) at the end of a run: only after a run that left every
 * step up to date, succeeded, trusted and hazard-free, with no racily clean token, and with every
 * step agreeing on each file's token. Otherwise it is removed.
 */
import { join } from 'node:path';
import { ABSENT, UNTRUSTED, writeFileAtomic } from '@prov-make/cache';
import { pathOfKey } from '@prov-make/cache/workspace-key';
import { encodePath } from '@prov-make/interposer/byte-path';
import type { BuildState } from './build-state.js';
import { environmentKey, visiblePatterns } from '../pipeline/step-env.js';
import { forgetSnapshot, SNAPSHOT_FILE, SNAPSHOT_FILES, SNAPSHOT_VERSION, type Snapshot } from './snapshot.js';

/** Writes the snapshot after a run, or removes it when the run does not prove everything up to date. */
export function recordSnapshot(b: BuildState, allClean: boolean): void {
  const { pipeline, states, deps } = b;
  const stateDir = b.paths.stateDir;
  const give = () => forgetSnapshot(stateDir);
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
  const snap: Snapshot = { version: SNAPSHOT_VERSION, pipelineKey: pipeline.contentKey, pipelineStamp: pipeline.sourceStamp ?? null, steps: pipeline.steps.map((s, i) => [s.name, b.definitionHash(i)]), listings, environment };
  // The list first, the snapshot last: the snapshot's presence vouches for the list beside it.
  // names as their own bytes: pm-check stats them as they are
  writeFileAtomic(join(stateDir, SNAPSHOT_FILES), encodePath(entries.join('')));
  writeFileAtomic(join(stateDir, SNAPSHOT_FILE), JSON.stringify(snap));
}

/** The entries of `absDir` left out of step i's listings. */
function leftOutNames(b: BuildState, i: number, absDir: string): string[] {
  const left = b.leftOut(i);
  return (b.disk.readdir(absDir) ?? []).filter((name) => left(join(absDir, name)));
}
