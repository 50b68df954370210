/**
 * The build plan (ninja's Plan): which selected step to look at next, over step indexes only.
 * With one job, steps go in file order, each after the previous one finished, and no graph is
 * built unless a failure must block something. With more, a step is ready when every selected step
 * it waits for (`needs`, or the past traces) is done; ready steps start in file order. A step whose
 * producers failed or were blocked is blocked in turn.
 */
import { withDependencies, type StepGraph } from './graph.js';

export class BuildPlan {
  /** Selected steps in file order. */
  readonly order: number[];
  private readonly ready: number[];
  private readonly remaining = new Map<number, number>();
  private readonly dependents = new Map<number, number[]>();
  private readonly failed = new Set<number>();
  private readonly pending: Set<number>;
  private running = 0;

  /**
   * `graph` is built on first use: a sequential run that fails nothing never needs it. `targets`:
   * the steps to bring up to date with what they use (all when empty).
   */
  constructor(
    stepCount: number,
    private readonly jobs: number,
    private readonly graph: () => StepGraph,
    targets: readonly number[] = [],
  ) {
    const selected = targets.length ? withDependencies(targets, graph().uses) : null;
    this.order = selected ? [...selected].sort((a, b) => a - b) : [...Array(stepCount).keys()];
    this.ready = jobs === 1 ? [...this.order] : this.readyQueue(selected);
    this.pending = new Set(this.order);
  }

  private readyQueue(selected: Set<number> | null): number[] {
    const { waitFor } = this.graph();
    for (const i of this.order) {
      let n = 0;
      for (const j of waitFor[i]) {
        if (selected && !selected.has(j)) continue;
        n++;
        const list = this.dependents.get(j);
        if (list) list.push(i);
        else this.dependents.set(j, [i]);
      }
      this.remaining.set(i, n);
    }
    return this.order.filter((i) => this.remaining.get(i) === 0);
  }

  /** The next step to look at now, or undefined when none may start until a running one finishes. */
  next(): number | undefined {
    if (this.running >= this.jobs || this.ready.length === 0) return undefined;
    this.running++;
    const i = this.ready.shift()!;
    this.pending.delete(i);
    return i;
  }

  /** Step i is done (ran, skipped, restored, failed or blocked): its dependents may become ready. */
  finished(i: number, failed: boolean): void {
    this.running--;
    if (failed) this.failed.add(i);
    for (const d of this.dependents.get(i) ?? []) {
      const left = this.remaining.get(d)! - 1;
      this.remaining.set(d, left);
      if (left === 0) {
        let at = this.ready.length;
        while (at > 0 && this.ready[at - 1] > d) at--;
        this.ready.splice(at, 0, d);
      }
    }
  }

  /** A failed or blocked step that i uses (so i is blocked), if any. */
  blockerOf(i: number): number | undefined {
    if (this.failed.size === 0) return undefined;
    for (const j of this.graph().uses[i]) if (this.failed.has(j)) return j;
    return undefined;
  }

  /** Steps never handed out although nothing runs: a bug in the graph, never a user error. */
  get stuck(): number[] {
    return this.running === 0 && this.ready.length === 0 ? [...this.pending] : [];
  }
}
