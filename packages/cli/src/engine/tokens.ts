/**
 * Current version tokens of the files the deps log knows, looked at once per file per run (one
 * lstat each) and forgotten when a step writes the file. Indexed by file id: a million recorded
 * dependencies are compared as numbers.
 */
import { fromWorkspaceKey, tokenOf, type DepsLog, type Disk } from '@prov-make/cache';

export class TokenCache {
  /** NaN: not looked at yet in this run. */
  private tokens = new Float64Array(0);

  constructor(
    private readonly root: string,
    private readonly disk: Disk,
    private readonly deps: DepsLog,
  ) {}

  current(id: number): number {
    if (id >= this.tokens.length) this.grow(id);
    let t = this.tokens[id];
    if (t !== t) {
      t = tokenOf(this.disk.lstat(fromWorkspaceKey(this.root, this.deps.pathOf(id))));
      this.tokens[id] = t;
    }
    return t;
  }

  /** Tokens looked at already (the no-op snapshot's check confirmed them a moment ago). */
  seed(ids: ArrayLike<number>, tokens: ArrayLike<number>): void {
    for (let k = 0; k < ids.length; k++) {
      if (ids[k] >= this.tokens.length) this.grow(ids[k]);
      this.tokens[ids[k]] = tokens[k];
    }
  }

  private grow(id: number): void {
    const grown = new Float64Array(Math.max(id + 1, this.tokens.length * 2, 1024)).fill(NaN);
    grown.set(this.tokens);
    this.tokens = grown;
  }

  forget(id: number): void {
    if (id < this.tokens.length) this.tokens[id] = NaN;
  }
}
