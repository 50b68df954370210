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

  /** How many of the first ids are in the order of their paths (as JavaScript compares strings):
   *  a list of those ids sorted by number is sorted by path. */
  readonly ordered: number;

  /** `folders[id]`: the folder of each given path when its reader knows it (-1 otherwise);
   *  `ordered`: whether the given paths are in order. */
  constructor(paths: string[] = [], folders?: Int32Array, ordered = false) {
    this.paths = paths;
    this.ordered = ordered ? paths.length : 0;
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

}
