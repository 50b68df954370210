/**
 * Reducing a trace's records to a step's dependencies (DESIGN section 2):
 * inputs are files whose first access was a read; outputs are files the step created or changed
 * that still exist at the end; temp files created and removed inside the step are neither;
 * absent paths are lookups that failed and that the step did not create itself.
 */
import type { LogRecord } from './logs.js';
import { foldResolverListings, resolverLookups } from './resolver-listings.js';
import { IdMarks, type IdSet } from './path-table.js';
import { liveDisk, recordEvents, type DiskView, type TraceEvents } from './trace-events.js';
import { RECORD, type RecordKind, type StepDependencies, type UntracedProgram, type WriteLetter } from './types.js';

export { liveDisk, type DiskView } from './trace-events.js';

const { kind: K, write: W } = RECORD;
const has = (arg: string, ...letters: WriteLetter[]) => letters.some((l) => arg.includes(l));

/**
 * Kinds whose record changes nothing when the same record (kind, ARG, path) came before and the path
 * was not written or removed, and nothing was renamed, in between: the log's reader drops those
 * repeats (pm-collect --repeatable), so what is read grows with the paths, not the records. A rule
 * below that breaks this must take the kind out of the list.
 */
export const REPEATABLE: readonly RecordKind[] = [K.read, K.stat, K.absent, K.executed, K.untraced];

export interface ReduceOptions {
  /** Paths never to report (the tool's own state and logs, user ignore globs). */
  ignore?: (path: string) => boolean;
  disk?: DiskView;
}

/** What the step did to a path: bits of its state (by path id, in an IdMarks). */
const S = {
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
  /** Met in a record that gives it a state (any of the above, or none yet). */
  met: 128,
} as const;

/** Kernel and device trees are never dependencies: the interposer skips them, but a symlink followed here can lead there. */
const isSystemPath = (p: string) => (p.charCodeAt(1) === 112 || p.charCodeAt(1) === 115 || p.charCodeAt(1) === 100) && /^\/(?:proc|sys|dev)(?:\/|$)/.test(p);

/** Reduces records read here (small logs, tests), looking at the disk through `options.disk`. */
export function reduceRecords(records: readonly LogRecord[], options: ReduceOptions = {}): StepDependencies {
  return reduceEvents(recordEvents(records, options.disk ?? liveDisk), options);
}

export function reduceEvents(trace: TraceEvents, options: Pick<ReduceOptions, 'ignore'> = {}): StepDependencies {
  const { paths, disk } = trace;
  const userIgnore = options.ignore;
  const ignore = (p: string) => isSystemPath(p) || (userIgnore ? userIgnore(p) : false);
  const state = new IdMarks(paths.size);
  const sets = new IdMarks(paths.size);
  const listed = sets.set(1);
  /** Folders listed by a module resolver, and the names it looked for (resolver-listings.ts). */
  const resolverListed = new Map<number, readonly string[]>();
  /** pid -> the program it runs, from its process record */
  const programs = new Map<number, string>();
  const executed = sets.set(2);
  const untraced = new Map<number, UntracedProgram['reason']>();

  const is = (id: number, bit: number) => state.has(id, bit);
  const set = (id: number, bits: number) => state.add(id, S.met | bits);
  const touched = (id: number) => state.has(id, S.read | S.written | S.createdByStep | S.removedPreexisting);

  const remove = (id: number) => {
    if (!is(id, S.createdByStep)) set(id, S.removedPreexisting);
    state.delete(id, S.written | S.createdByStep);
  };

  // A rename moves what the step knew of every path under the old name to the new one.
  const rename = (from: number, to: number) => {
    const moved = [from, ...paths.under(from)].filter((id) => is(id, S.met));
    set(from, 0);
    // The new name holds the old one's content: a version that existed before is an input.
    if (!touched(from)) set(from, S.read);
    for (const id of moved) {
      if (id !== from && is(id, S.written)) {
        const d = paths.idOf(paths.path(to) + paths.path(id).slice(paths.path(from).length));
        state.delete(d, S.createdByStep | S.everCreated);
        set(d, S.written | (is(id, S.createdByStep) ? S.createdByStep | S.everCreated : 0));
      }
      remove(id);
    }
    if (!moved.includes(from)) remove(from);
    set(to, S.written | S.createdByStep | S.everCreated);
  };

  trace.forEach((r) => {
    switch (r.kind) {
      case K.read:
      case K.stat:
        if (!touched(r.path)) set(r.path, S.read);
        else set(r.path, 0);
        break;
      case K.write:
        // Truncated, a new folder, a new name, or empty when opened: nothing of the old version
        // survives; otherwise (append, read-write, metadata, partial overwrite) the old version is
        // part of the result, so it is an input too.
        if (!touched(r.path) && !has(r.arg, W.truncate, W.mkdir, W.newName, W.empty)) set(r.path, S.read);
        set(r.path, S.written);
        if (has(r.arg, W.create, W.truncate, W.mkdir, W.newName)) set(r.path, S.createdByStep | S.everCreated);
        if (!has(r.arg, W.mkdir, W.newName, W.metadata)) set(r.path, S.writtenThrough);
        break;
      case K.absent:
        set(r.path, touched(r.path) ? 0 : S.probedAbsent);
        break;
      case K.listed: {
        // A folder the step made holds only what the step put there: not an outside dependency.
        if (is(r.path, S.createdByStep)) break;
        const lookups = resolverLookups(programs.get(r.pid));
        if (lookups) resolverListed.set(r.path, lookups);
        else listed.add(r.path);
        break;
      }
      case K.executed:
        executed.add(r.path);
        break;
      case K.untraced:
        // the first reason: a repeat can be dropped by the log's reader (REPEATABLE)
        if (!untraced.has(r.path)) untraced.set(r.path, r.arg as UntracedProgram['reason']);
        break;
      case K.removed:
        set(r.path, 0);
        remove(r.path);
        break;
      case K.renamed:
        rename(r.path, r.path2);
        break;
      case K.process:
        programs.set(r.pid, paths.path(r.path));
        break;
    }
  });

  const [reads, writes, deleted, absent] = [4, 8, 16, 32].map((mark) => sets.set(mark));
  const met = state.ids(S.met);
  for (const id of met) {
    // a path only probed needs no look at the disk
    const kind = is(id, S.read | S.written | S.removedPreexisting) ? disk.kindOf(id) : null;
    if (is(id, S.written) && kind !== null) writes.add(id);
    else if (is(id, S.removedPreexisting) && kind === null) deleted.add(id);
    if (is(id, S.read) && kind !== 'dir') reads.add(id);
    if (is(id, S.probedAbsent) && !is(id, S.everCreated | S.written | S.removedPreexisting)) absent.add(id);
  }
  foldResolverListings(paths, resolverListed, reads, (id) => is(id, S.met) || disk.kindOf(id) !== null, listed, absent);
  // The symlinked folders on the way to a file: retargeting one changes what the name reads.
  const linksOn = new Map<number, number[]>();
  const symlinkedFolders = (dir: number | null): number[] => {
    if (dir === null) return [];
    let links = linksOn.get(dir);
    if (links) return links;
    // a folder that is its own real path has no symlink above it either
    links = disk.realPathOf(dir) === dir ? [] : [...symlinkedFolders(paths.folderOf(dir)), ...(disk.kindOf(dir) === 'symlink' ? [dir] : [])];
    linksOn.set(dir, links);
    return links;
  };
  // A symlink read is a read of the link and of what it points to.
  for (const set of [reads, executed]) {
    for (const id of set.ids()) {
      const real = disk.realPathOf(id);
      if (real !== null && real !== id && !writes.has(real)) {
        if (disk.kindOf(real) !== 'dir') set.add(real);
        if (set === reads) for (const link of symlinkedFolders(paths.folderOf(id))) if (!writes.has(link)) reads.add(link);
      }
    }
  }
  // A write through a symlink (or a symlinked folder) is a write of the file it leads to.
  for (const id of met) {
    if (!is(id, S.writtenThrough) || !writes.has(id)) continue;
    const real = disk.realPathOf(id);
    if (real !== null && real !== id && disk.kindOf(real) === 'file') writes.add(real);
  }
  // A program that ran is listed as executed, not also as read.
  for (const id of executed.ids()) reads.delete(id);

  const out = (set: IdSet) => {
    const list: string[] = [];
    let inOrder = true;
    for (const id of set.ids()) {
      if (id >= trace.ordered) inOrder = false;
      const p = paths.path(id);
      if (!ignore(p)) list.push(p);
    }
    return inOrder ? list : list.sort();
  };
  return {
    reads: out(reads),
    writes: out(writes),
    deleted: out(deleted),
    absent: out(absent),
    listed: out(listed),
    executed: out(executed),
    untraced: [...untraced]
      .map(([id, reason]) => ({ path: paths.path(id), reason }))
      .filter((u) => !ignore(u.path))
      .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)),
  };
}
