/** The build plan alone: which step comes next, over step indexes (no disk, no stores). */
import { describe, expect, it } from 'vitest';
import { stepGraph, type StepGraph } from '../../src/engine/graph.js';
import { BuildPlan } from '../../src/engine/plan.js';

/** waitFor and uses from lists of earlier steps. */
function graph(waits: number[][], uses: number[][] = waits): StepGraph {
  return { waitFor: waits.map((w) => new Set(w)), uses: uses.map((u) => new Set(u)) };
}

/** Hands out and finishes steps until none is left, `jobs` at a time; returns the batches. */
function drain(plan: BuildPlan, failed: number[] = []): number[][] {
  const batches: number[][] = [];
  for (;;) {
    const batch: number[] = [];
    for (let i = plan.next(); i !== undefined; i = plan.next()) batch.push(i);
    if (batch.length === 0) return batches;
    batches.push(batch);
    for (const i of batch) plan.finished(i, failed.includes(i));
  }
}

describe('BuildPlan', () => {
  it('one job: file order, one at a time, and no graph built', () => {
    let built = 0;
    const plan = new BuildPlan(4, 1, () => (built++, graph([[], [], [], []])));
    expect(drain(plan)).toEqual([[0], [1], [2], [3]]);
    expect(built).toBe(0);
  });

  it('more jobs: ready steps in file order, a step after the steps it waits for', () => {
    const plan = new BuildPlan(4, 2, () => graph([[], [], [0], [2]]));
    expect(drain(plan)).toEqual([[0, 1], [2], [3]]);
  });

  it('named steps bring what they use, transitively, and nothing else', () => {
    const plan = new BuildPlan(5, 1, () => graph([[], [], [0], [2], []]), [3]);
    expect(plan.order).toEqual([0, 2, 3]);
    expect(drain(plan)).toEqual([[0], [2], [3]]);
  });

  it('a step using a failed (or blocked) step is blocked; one that does not use it is not', () => {
    const plan = new BuildPlan(4, 1, () => graph([[], [], [0], [2]], [[], [], [0], [2]]));
    expect(plan.next()).toBe(0);
    plan.finished(0, true);
    expect(plan.next()).toBe(1);
    expect(plan.blockerOf(1)).toBeUndefined();
    plan.finished(1, false);
    expect(plan.next()).toBe(2);
    expect(plan.blockerOf(2)).toBe(0);
    plan.finished(2, true); // blocked counts as failed for its own users
    expect(plan.next()).toBe(3);
    expect(plan.blockerOf(3)).toBe(2);
  });

  it('a graph that leaves steps waiting forever is reported, not hung on', () => {
    const plan = new BuildPlan(2, 2, () => graph([[1], [0]]));
    expect(plan.next()).toBeUndefined();
    expect(plan.stuck).toEqual([0, 1]);
  });
});

describe('stepGraph', () => {
  it('waits for needs and for the writers of what a step touched; a step never traced waits for all before it', () => {
    const steps = ['gen', 'use', 'free', 'new'].map((name) => ({ name, needs: name === 'free' ? ['gen'] : [] }));
    const paths = ['', 'gen.txt', 'use.txt', 'free.txt', 'src.txt'];
    const state = (inputs: number[], outputs: number[]) => ({
      inputs: { ids: Uint32Array.from(inputs), tokens: new Float64Array(inputs.length) },
      outputs: { ids: Uint32Array.from(outputs), tokens: new Float64Array(outputs.length) },
      absent: new Uint32Array(0),
      listed: { ids: new Uint32Array(0), tokens: new Float64Array(0) },
    });
    const states = [state([4], [1]), state([1], [2]), state([], [3]), undefined] as never[];
    const g = stepGraph(steps, states, (id) => paths[id]);
    expect(g.uses.map((s) => [...s])).toEqual([[], [0], [0], [0, 1, 2]]);
    expect(g.waitFor.map((s) => [...s].sort())).toEqual([[], [0], [0], [0, 1, 2]]);
  });
});
