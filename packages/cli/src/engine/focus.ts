/**
 * The run after an edit, decided from the no-op snapshot (issue 12, item 5): when only some of its
 * files changed (the pipeline, its environment and every listing as they were: snapshot.ts), every
 * step that depends on none of them is up to date as the snapshot proved it, and only the steps that
 * do, and the steps that use what those make, are examined. Their unchanged files' tokens are the
 * snapshot's (pm-check confirmed them a moment ago) and their paths come from its list, so neither
 * the other steps' states nor the deps log's path table are read. A snapshot with listings is not
 * used: a step that lists a folder depends on who writes into it, which the index does not hold.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { keyOf } from '@prov-make/cache/workspace-key';
import type { BuildState } from './build-state.js';
import { snapshotFiles, snapshotGeneration, SNAPSHOT_INDEX, type Snapshot } from './snapshot.js';

/** More changed files than this: the full check (examining most steps costs as much anyway). */
export const FOCUS_MAX_CHANGED = 1000;

export interface Focus {
  /** The steps to check; every other one is up to date. */
  readonly examined: ReadonlySet<number>;
  /** For an examined step, the examined steps it uses (StepGraph.uses, among the examined). */
  uses(i: number): Iterable<number>;
  /** Step i is done (a run may have changed what it makes): the later steps depending on what it makes now are examined too. */
  done(i: number): void;
}

/** The snapshot's index (snapshot-record.ts), or null when it is unreadable or not this snapshot's. */
function readIndex(stateDir: string, generation: number): { ids: Uint32Array; usersOf(entry: number): Uint32Array } | null {
  let bytes: Buffer;
  try {
    bytes = readFileSync(join(stateDir, SNAPSHOT_INDEX));
  } catch {
    return null;
  }
  if (bytes.length < 8 || bytes.length % 4 !== 0) return null;
  const all = new Uint32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
  const n = all[1];
  if (all[0] !== generation || all.length < 3 + 2 * n || all[2 + 2 * n] !== all.length) return null;
  const offsetsAt = 2 + n;
  return { ids: all.subarray(2, 2 + n), usersOf: (entry) => all.subarray(all[offsetsAt + entry], all[offsetsAt + entry + 1]) };
}

/**
 * The steps to examine after files `changed` (ordinals into the snapshot's list) changed, with the
 * tokens and paths of the snapshot's files given to `b`; null when the snapshot cannot vouch for the
 * rest (then every step is checked, as without a snapshot).
 */
export function focusOnChanges(b: BuildState, snap: Snapshot, changed: readonly number[]): Focus | null {
  if (snap.listings.length > 0) return null;
  const index = readIndex(b.paths.stateDir, snap.generation);
  const files = snapshotFiles(b.paths.stateDir);
  if (!index || !files || files.paths.length !== index.ids.length) return null;
  const entryOf = new Map<number, number>();
  index.ids.forEach((id, entry) => entryOf.set(id, entry));
  const neededBy = new Map<string, number[]>();
  b.steps.forEach((s, i) => s.needs.forEach((n) => neededBy.set(n, [...(neededBy.get(n) ?? []), i])));

  const examined = new Set<number>();
  const uses = new Map<number, Set<number>>();
  const queue: number[] = [];
  const examine = (i: number, usedStep?: number) => {
    if (usedStep !== undefined) {
      const set = uses.get(i);
      if (set) set.add(usedStep);
      else uses.set(i, new Set([usedStep]));
    }
    if (!examined.has(i)) queue.push(i), examined.add(i);
  };
  // what j makes: a later step depending on it uses j (as the graph has it), and so does one naming j in `needs`
  const usersOfOutputs = (j: number): boolean => {
    const st = b.state(j);
    if (!st) return false;
    for (const id of st.outputs.ids) {
      const entry = entryOf.get(id); // a file no step depended on: no one to examine
      if (entry !== undefined) for (const i of index.usersOf(entry)) if (i > j) examine(i, j);
    }
    for (const i of neededBy.get(b.steps[j].name) ?? []) if (i !== j) examine(i, j);
    return true;
  };
  const follow = (): boolean => {
    while (queue.length) if (!usersOfOutputs(queue.pop()!)) return false;
    return true;
  };
  for (const entry of changed) for (const i of index.usersOf(entry)) examine(i);
  if (!follow()) return null;

  // a run rewrites the list and the index only after removing the snapshot, and gives the new one another generation
  if (snapshotGeneration(b.paths.stateDir) !== snap.generation) return null;
  const differs = new Set(changed);
  const ids: number[] = [];
  const tokens: number[] = [];
  index.ids.forEach((id, entry) => {
    if (!differs.has(entry)) ids.push(id), tokens.push(files.tokens[entry]);
  });
  b.tokens.seed(ids, tokens);
  b.deps.seedPaths(index.ids, files.paths.map(keyOf));
  return {
    examined,
    uses: (i) => uses.get(i) ?? [],
    done(i) {
      if (usersOfOutputs(i)) follow();
    },
  };
}
