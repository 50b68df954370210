/**
 * What an execution produced is what it changed (DESIGN 2). From the trace's write kinds, the
 * end-of-step stat, and the step's previous execution:
 *
 * - pure outputs: nothing of an old version survives and the step did not read it first. A later
 *   edit by anyone else is damage: the edited bytes are kept, then the step's version restored.
 * - both an input and an output: a file whose old content is part of the result (read then
 *   rewritten, as `sed -i`; appended to; written in place). A later edit by anyone else is an
 *   input change, and the step runs on the edited version: it is never restored over an edit.
 * - inputs only: a file whose bytes the step left as they were (chmod, chown, utime, opened for
 *   writing and not written, touched with the same content as before).
 * - carried over: a previous output this execution did not touch and that is still as that
 *   execution left it (an incremental tool inside the step, as make, rewrites only what changed:
 *   the rest is still its product).
 *
 * Soundness: each narrowing below keeps, on any doubt, the "both" reading, which reruns on any edit
 * and never restores over one. Only a file whose bytes provably did not change (metadata calls
 * alone, an mtime that did not move, the same content hash as before the step) is an input only.
 */
import { RACY_WINDOW_NS, tokenOf, type FileStat } from '@prov-make/cache';
import type { StepDependencies, WriteKind } from '@prov-make/interposer';
import type { BuildState } from './build-state.js';

export interface Produced {
  pure: Set<string>;
  both: Set<string>;
  /** Written but left as they were: inputs only. */
  unchanged: Set<string>;
  /** Previous outputs, untouched and as they were left; `both` when they were inputs too. */
  carried: Map<string, { both: boolean }>;
}

/**
 * Before step i runs: the content hash of each file its previous execution read, when that file is
 * still the version recorded (its token matches). A touch that rewrites nothing is then seen to
 * leave the same bytes, and a moved ctime on an input to leave its content (changed-while-running.ts).
 * Absolute path -> xxh64.
 */
export function hashesBeforeStep(b: BuildState, i: number): Map<string, string> {
  const known = new Map<string, string>();
  const state = b.state(i);
  const hashes = state && b.deps.getHashes(b.steps[i].name);
  if (!state || !hashes) return known;
  const { ids, tokens } = state.inputs;
  for (let k = 0; k < ids.length; k++) {
    const hash = hashes.inputs[k];
    if (hash && b.tokens.current(ids[k]) === tokens[k]) known.set(b.abs(b.deps.pathOf(ids[k])), hash);
  }
  return known;
}

/** Classifies what step i's execution wrote; `startedAt` in ms, `before` from hashesBeforeStep. */
export async function whatItProduced(b: BuildState, i: number, deps: StepDependencies, startedAt: number, before: Map<string, string>): Promise<Produced> {
  const produced: Produced = { pure: new Set(), both: new Set(), unchanged: new Set(), carried: new Map() };
  const ownBefore = previousOutputs(b, i);
  for (const abs of deps.writes) {
    if (b.ignored(abs)) continue;
    const kind = deps.writeKinds?.[abs] ?? 'new';
    const st = kind === 'new' || kind === 'replaced-after-read' || kind === 'metadata' ? undefined : b.disk.lstat(abs);
    const was = { own: ownBefore.get(abs), hash: before.get(abs) };
    produced[await classify(b, abs, kind, st, was, startedAt)].add(abs);
  }
  await carryOver(b, i, deps, ownBefore, produced);
  return produced;
}

/**
 * What one written path is to the execution. `was`: what the step's previous execution made of it,
 * and its hash before this one ran (hashesBeforeStep).
 */
async function classify(b: BuildState, abs: string, kind: WriteKind, st: FileStat | undefined, was: { own?: 'pure' | 'both'; hash?: string }, startedAt: number): Promise<'pure' | 'both' | 'unchanged'> {
  switch (kind) {
    case 'new':
      return 'pure';
    case 'metadata':
      return 'unchanged';
    case 'replaced-after-read':
      // re-reading its own product (an incremental tool's state, .tsbuildinfo) is not reading a source
      return was.own === 'pure' ? 'pure' : 'both';
    case 'new-if-created':
      // made now (its birth time says so), or its own empty file made before (a stamp it touches);
      // else it was there, empty: still empty, unchanged
      if (st && (madeSince(st, startedAt) || (was.own === 'pure' && st.size === 0n))) return 'pure';
      return st && st.size === 0n ? 'unchanged' : 'both';
    default: {
      // A write lands at most one coarse clock tick before Date.now() said the step started: the
      // racy window covers that with room (a file changed by someone else just before is taken as
      // written: both). Times set by the step say nothing; the same bytes as before the step do.
      const mayHaveChanged = !st || kind === 'in-place-retimed' || st.mtimeNs >= BigInt(startedAt) * 1_000_000n - RACY_WINDOW_NS;
      if (!mayHaveChanged) return 'unchanged';
      return st && was.hash !== undefined && (await b.disk.hash(abs, st))?.xxh64 === was.hash ? 'unchanged' : 'both';
    }
  }
}

/**
 * The execution's inputs and outputs (absolute, sorted) and the programs it ran that are inputs.
 * Its own products are not inputs, even when it read them (make stats its .o files): an edit to
 * one is damage to restore, not a change to build on.
 */
export function filesOf(produced: Produced, deps: StepDependencies, keep: (abs: string) => boolean): { inputsAbs: string[]; outputsAbs: string[]; executed: Set<string> } {
  const carried = [...produced.carried];
  const own = new Set([...produced.pure, ...carried.filter(([, c]) => !c.both).map(([abs]) => abs)]);
  const executed = new Set(deps.executed.filter((p) => keep(p) && !own.has(p)));
  const alsoRead = [...produced.both, ...produced.unchanged, ...carried.filter(([, c]) => c.both).map(([abs]) => abs)];
  const inputsAbs = [...new Set([...deps.reads, ...executed, ...alsoRead])].filter((p) => keep(p) && !own.has(p)).sort();
  const outputsAbs = [...produced.pure, ...produced.both, ...produced.carried.keys()].sort();
  return { inputsAbs, outputsAbs, executed };
}

/** Made after the step started, by its birth time (where the file system keeps one). */
function madeSince(st: FileStat, startedAt: number): boolean {
  return Boolean(st.birthtimeNs) && st.birthtimeNs! >= BigInt(startedAt - CLOCK_MARGIN_MS) * 1_000_000n;
}

/**
 * File times come from the kernel's coarse clock: one set during the step can precede, by up to a
 * tick, Date.now() taken before the spawn. Times within this of the start are taken as the step's.
 */
export const CLOCK_MARGIN_MS = 50;

/** Step i's previous outputs (absolute), each 'both' when it was an input too, else 'pure'. */
function previousOutputs(b: BuildState, i: number): Map<string, 'pure' | 'both'> {
  const state = b.state(i);
  const outputs = new Map<string, 'pure' | 'both'>();
  if (!state) return outputs;
  const inputs = new Set(state.inputs.ids);
  for (const id of state.outputs.ids) outputs.set(b.abs(b.deps.pathOf(id)), inputs.has(id) ? 'both' : 'pure');
  return outputs;
}

async function carryOver(b: BuildState, i: number, deps: StepDependencies, ownBefore: Map<string, 'pure' | 'both'>, produced: Produced): Promise<void> {
  const state = b.state(i);
  if (!state || ownBefore.size === 0) return;
  const touched = new Set([...deps.writes, ...deps.deleted]);
  const hashes = b.deps.getHashes(b.steps[i].name);
  const { ids, tokens } = state.outputs;
  for (let k = 0; k < ids.length; k++) {
    const abs = b.abs(b.deps.pathOf(ids[k]));
    if (touched.has(abs) || b.ignored(abs)) continue;
    const st = b.disk.lstat(abs);
    if (!st) continue;
    const recorded = hashes?.outputs[k] ?? null;
    const asLeft = tokenOf(st) === tokens[k] || st.isDirectory() || (recorded !== null && (await b.disk.hash(abs, st))?.xxh64 === recorded);
    if (asLeft) produced.carried.set(abs, { both: ownBefore.get(abs) === 'both' });
  }
}
