/**
 * Which earlier steps a step must wait for: the ones it `needs`, and the ones whose last execution
 * wrote something it touched (or touched something it writes), as the past traces show. A step
 * with no trace yet could touch anything: it waits for every earlier step, and every later step
 * waits for it. Pure: over step indexes and the deps log's states.
 */
import { dirname } from 'node:path';
import type { StepState } from '@prov-make/cache';
import type { Step } from '../pipeline/types.js';

export interface StepGraph {
  /** Earlier steps to wait for before checking this one (conservative for steps never traced). */
  waitFor: Set<number>[];
  /**
   * Earlier steps that may produce something this one uses (`needs`, a past trace, or every earlier
   * step when it was never traced): if one fails, this one is blocked.
   */
  uses: Set<number>[];
}

function add<K>(m: Map<K, number[]>, k: K, i: number): void {
  const l = m.get(k);
  if (!l) m.set(k, [i]);
  else if (l[l.length - 1] !== i) l.push(i);
}

/** Every file id a step's last execution touched: inputs, outputs, absent paths, listed folders. */
function forEachTouched(st: StepState, f: (id: number) => void): void {
  for (const ids of [st.inputs.ids, st.outputs.ids, st.absent, st.listed.ids]) for (let k = 0; k < ids.length; k++) f(ids[k]);
}

export function stepGraph(steps: readonly Pick<Step, 'name' | 'needs'>[], states: readonly (StepState | undefined)[], pathOf: (id: number) => string): StepGraph {
  const index = new Map(steps.map((s, i) => [s.name, i]));
  const writers = new Map<number, number[]>(); // file id -> steps writing it
  const touchers = new Map<number, number[]>(); // file id -> steps touching it
  const dirWriters = new Map<string, number[]>(); // folder -> steps writing into it
  states.forEach((st, i) => {
    if (!st) return;
    const out = st.outputs.ids;
    for (let k = 0; k < out.length; k++) {
      add(writers, out[k], i);
      add(dirWriters, dirname(pathOf(out[k])), i);
    }
    forEachTouched(st, (id) => add(touchers, id, i));
  });

  const uses: Set<number>[] = [];
  const waitFor = steps.map((step, i) => {
    const known = new Set<number>();
    for (const n of step.needs) {
      const j = index.get(n);
      if (j !== undefined && j !== i) known.add(j);
    }
    const st = states[i];
    if (st) {
      forEachTouched(st, (id) => {
        for (const j of writers.get(id) ?? []) if (j < i) known.add(j);
      });
      for (const id of st.listed.ids) for (const j of dirWriters.get(pathOf(id)) ?? []) if (j < i) known.add(j);
    }
    const wait = new Set(known);
    if (!st) {
      // Never traced: it may use anything an earlier step makes.
      for (let j = 0; j < i; j++) wait.add(j);
      uses.push(wait);
      return wait;
    }
    uses.push(known);
    for (let j = 0; j < i; j++) if (!states[j]) wait.add(j);
    // Writing what an earlier step touched: wait for it too (write-after-read).
    for (const id of st.outputs.ids) for (const j of touchers.get(id) ?? []) if (j < i) wait.add(j);
    return wait;
  });
  return { waitFor, uses };
}

/** The named steps and everything they depend on, transitively. */
export function withDependencies(targets: readonly number[], uses: readonly Set<number>[]): Set<number> {
  const out = new Set<number>();
  const stack = [...targets];
  while (stack.length) {
    const i = stack.pop()!;
    if (out.has(i)) continue;
    out.add(i);
    for (const j of uses[i]) stack.push(j);
  }
  return out;
}
