/**
 * Which earlier steps a step must wait for: the ones it `needs`, and the ones whose last
 * execution wrote something it touched (or touched something it writes), as the past traces
 * show. A step with no trace yet could touch anything: it waits for every earlier step, and every
 * later step waits for it.
 */
import { dirname } from 'node:path';
import type { Step } from '../pipeline/pipeline.js';
import type { DepsLog, StepState } from './deps-log.js';

export interface StepDependencies {
  /** Earlier steps to wait for before checking this one (conservative for steps never traced). */
  waitFor: Set<number>[];
  /** Earlier steps that may produce something this one uses (`needs`, a past trace, or every earlier step when it was never traced): if one fails, this one is blocked. */
  uses: Set<number>[];
}

export function stepDependencies(steps: readonly Step[], states: readonly (StepState | undefined)[], log: DepsLog): StepDependencies {
  const index = new Map(steps.map((s, i) => [s.name, i]));
  const writers = new Map<number, number[]>();     // file id -> steps writing it
  const touchers = new Map<number, number[]>();    // file id -> steps touching it
  const dirWriters = new Map<string, number[]>();  // folder -> steps writing into it
  const add = <K>(m: Map<K, number[]>, k: K, i: number) => {
    const l = m.get(k);
    if (!l) m.set(k, [i]);
    else if (l[l.length - 1] !== i) l.push(i);
  };
  states.forEach((st, i) => {
    if (!st) return;
    for (let k = 0; k < st.outputs.length; k += 2) {
      add(writers, st.outputs[k], i);
      add(dirWriters, dirname(log.pathOf(st.outputs[k])), i);
    }
    for (const id of touchedIds(st)) add(touchers, id, i);
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
      for (const id of touchedIds(st)) for (const j of writers.get(id) ?? []) if (j < i) known.add(j);
      for (let k = 0; k < st.listed.length; k += 2) for (const j of dirWriters.get(log.pathOf(st.listed[k])) ?? []) if (j < i) known.add(j);
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
    for (let k = 0; k < st.outputs.length; k += 2) for (const j of touchers.get(st.outputs[k]) ?? []) if (j < i) wait.add(j);
    return wait;
  });
  return { waitFor, uses };
}

function* touchedIds(st: StepState): Iterable<number> {
  for (let k = 0; k < st.inputs.length; k += 2) yield st.inputs[k];
  for (let k = 0; k < st.outputs.length; k += 2) yield st.outputs[k];
  for (let k = 0; k < st.absent.length; k++) yield st.absent[k];
  for (let k = 0; k < st.listed.length; k += 2) yield st.listed[k];
}

/** The named steps and everything they depend on, transitively. */
export function withDependencies(targets: readonly number[], deps: readonly Set<number>[]): Set<number> {
  const out = new Set<number>();
  const stack = [...targets];
  while (stack.length) {
    const i = stack.pop()!;
    if (out.has(i)) continue;
    out.add(i);
    for (const j of deps[i]) stack.push(j);
  }
  return out;
}
