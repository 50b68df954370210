/**
 * A trace's paths by number: each distinct path once, so that what is kept about a step grows with
 * the paths it touched, not with its records, and a path is compared as a number. The ids a log's
 * reader gave (pm-collect: paths in the order first seen, with their folders) come first; paths
 * met later (a rename's new names, real paths) are added.
 */
import { dirname } from 'node:path';

export class PathTable {
  private readonly paths: string[];
  /** path -> id, built on the first lookup by name (most traces never need one) */
  private byPath: Map<string, number> | null = null;
  /** id -> its folder's id; -1: unknown yet, -2: none (/) */
  private folders: Int32Array;
  private withChildren: Uint8Array | null = null;

  /** `folders[id]`: the folder of each given path when its reader knows it (-1 otherwise). */
  constructor(paths: string[] = [], folders?: Int32Array) {
    this.paths = paths;
    this.folders = new Int32Array(Math.max(16, paths.length)).fill(-1);
    if (folders) this.folders.set(folders.subarray(0, paths.length));
  }

  get size(): number {
    return this.paths.length;
  }

  path(id: number): string {
    return this.paths[id];
  }

  /** The id of `path`, or undefined when the table does not hold it. */
  find(path: string): number | undefined {
    if (!this.byPath) {
      this.byPath = new Map();
      for (let id = 0; id < this.paths.length; id++) if (!this.byPath.has(this.paths[id])) this.byPath.set(this.paths[id], id);
    }
    return this.byPath.get(path);
  }

  /** The id of `path`, added when new. */
  idOf(path: string): number {
    let id = this.find(path);
    if (id === undefined) {
      id = this.paths.length;
      this.paths.push(path);
      this.byPath!.set(path, id);
      if (id >= this.folders.length) {
        const grown = new Int32Array(this.folders.length * 2).fill(-1);
        grown.set(this.folders);
        this.folders = grown;
      }
      this.withChildren = null;
    }
    return id;
  }

  /** The id of the folder holding `id`, or null for / (and for a path that is not absolute). */
  folderOf(id: number): number | null {
    let folder = this.folders[id];
    if (folder === -1) {
      const p = this.paths[id];
      folder = p === '/' || !p.startsWith('/') ? -2 : this.idOf(dirname(p));
      this.folders[id] = folder;
    }
    return folder === -2 ? null : folder;
  }

  /** The ids of every path under folder `id`, at any depth. */
  under(id: number): number[] {
    if (!this.withChildren) {
      // whether each path holds others: one pass over every path's folder, again after additions
      for (let i = 0; i < this.paths.length; i++) this.folderOf(i);
      const marks = new Uint8Array(this.paths.length);
      for (let i = 0; i < this.paths.length; i++) if (this.folders[i] >= 0) marks[this.folders[i]] = 1;
      this.withChildren = marks;
    }
    if (!this.withChildren[id]) return [];
    const prefix = this.paths[id] === '/' ? '/' : `${this.paths[id]}/`;
    const found: number[] = [];
    for (let i = 0; i < this.paths.length; i++) if (i !== id && this.paths[i].startsWith(prefix)) found.push(i);
    return found;
  }
}

/** A set of path ids. */
export interface IdSet {
  has(id: number): boolean;
  add(id: number): void;
  delete(id: number): void;
  /** In id order, as an array of its own. */
  ids(): number[];
}

/** Marks by path id (a few flags each): sets of paths that can hold most of a table, without a hash
 * table each. */
export class IdMarks {
  private marks: Uint8Array;
  /** how many ids have each mark (bit i) */
  private readonly counts = new Uint32Array(8);

  constructor(size = 1024) {
    this.marks = new Uint8Array(Math.max(size, 16));
  }

  has(id: number, mark: number): boolean {
    return id < this.marks.length && (this.marks[id] & mark) !== 0;
  }

  add(id: number, mark: number): void {
    if (id >= this.marks.length) {
      const grown = new Uint8Array(Math.max(id + 1, this.marks.length * 2));
      grown.set(this.marks);
      this.marks = grown;
    }
    const added = mark & ~this.marks[id];
    if (added === 0) return;
    this.marks[id] |= added;
    for (let bit = 0; bit < 8; bit++) if (added & (1 << bit)) this.counts[bit]++;
  }

  delete(id: number, mark: number): void {
    if (id >= this.marks.length) return;
    const removed = mark & this.marks[id];
    this.marks[id] &= ~removed;
    for (let bit = 0; bit < 8; bit++) if (removed & (1 << bit)) this.counts[bit]--;
  }

  /** The ids with `mark` (one bit) as a set. */
  set(mark: number): IdSet {
    return {
      has: (id) => this.has(id, mark),
      add: (id) => this.add(id, mark),
      delete: (id) => this.delete(id, mark),
      ids: () => this.ids(mark),
    };
  }

  /** The ids with `mark` (one bit), in id order. */
  ids(mark: number): number[] {
    const found: number[] = [];
    if (this.counts[31 - Math.clz32(mark)] === 0) return found;
    const marks = this.marks;
    for (let id = 0, n = marks.length; id < n; id++) if (marks[id] & mark) found.push(id);
    return found;
  }
}
