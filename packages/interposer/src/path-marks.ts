/**
 * What the reducer knows of each path of a trace, in typed arrays indexed by path id (path-table.ts):
 * a step of 100,000 distinct opens keeps two bytes per path, not two objects and a map entry (which
 * cost 400-800 ms and 40 MiB, a third of it garbage collection).
 */
import { NO_WRITES, type WriteHistory } from './write-kinds.js';

/** The facts a path's records established (bits of `PathMarks.marks`). */
export const MARK = {
  /** First access was a read of content or metadata that existed before the step. */
  read: 1,
  /** The step wrote it (it will be an output if it still exists at the end). */
  written: 2,
  /** The step brought it into existence (open with create or truncate, mkdir, link, rename into place). */
  createdByStep: 4,
  /** The step removed a version that existed before it started. */
  removedPreexisting: 8,
  /** Looked up and not found before the step created it. */
  probedAbsent: 16,
  /** The step created it at some point (so a failed lookup of it is not an outside dependency). */
  everCreated: 32,
  /** Written by an open, which follows symlinks: what the name leads to was written. */
  writtenThrough: 64,
  /** Some record named it (it is in `known`). */
  known: 128,
} as const;

/** The marks by which a path was touched: read, written, created or removed. */
export const TOUCHED = MARK.read | MARK.written | MARK.createdByStep | MARK.removedPreexisting;

export class PathMarks {
  /** id -> MARK bits */
  marks: Uint8Array;
  /** id -> how it was written since the step last removed it (write-kinds.ts) */
  how: Uint8Array;
  /** The ids some record named, in the order first named. */
  readonly known: number[] = [];

  constructor(size: number) {
    this.marks = new Uint8Array(Math.max(16, size));
    this.how = new Uint8Array(this.marks.length);
  }

  /** `id`, now known (the arrays grow for ids added to the table since). */
  note(id: number): number {
    if (id >= this.marks.length) this.grow(id);
    if (!(this.marks[id] & MARK.known)) {
      this.marks[id] = MARK.known;
      this.known.push(id);
    }
    return id;
  }

  has(id: number, bits: number): boolean {
    return id < this.marks.length && (this.marks[id] & bits) !== 0;
  }

  set(id: number, bits: number): void {
    this.marks[id] |= bits;
  }

  /** Sets `bits` when `on`, clears them otherwise. */
  put(id: number, bits: number, on: boolean): void {
    this.marks[id] = on ? this.marks[id] | bits : this.marks[id] & ~bits;
  }

  historyOf(id: number): WriteHistory {
    return id < this.how.length ? this.how[id] : NO_WRITES;
  }

  private grow(id: number): void {
    const size = Math.max(id + 1, this.marks.length * 2);
    const marks = new Uint8Array(size);
    marks.set(this.marks);
    const how = new Uint8Array(size);
    how.set(this.how);
    this.marks = marks;
    this.how = how;
  }
}
