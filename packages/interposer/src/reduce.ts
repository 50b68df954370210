/**
 * Reducing a trace's records to a step's dependencies (DESIGN section 2):
 * inputs are files whose first access was a read; outputs are files the step created or changed
 * that still exist at the end; temp files created and removed inside the step are neither;
 * absent paths are lookups that failed and that the step did not create itself.
 */
import { basename, dirname } from 'node:path';
import { listingRules, noteListing, type FolderRoles } from './listing-roles.js';
import type { LogRecord } from './logs.js';
import { liveDisk, recordEvents, type DiskView, type EventRecord, type TraceEvents } from './trace-events.js';
import { RECORD, type RecordKind, type StepDependencies, type UntracedProgram, type WriteKind, type WriteLetter } from './types.js';
import { newWriteHistory, noteContentRead, noteReplaced, noteWrite, writeKindOf, type WriteHistory } from './write-kinds.js';

export { liveDisk, type DiskView } from './trace-events.js';

const { kind: K, write: W } = RECORD;
const has = (arg: string, ...letters: WriteLetter[]) => letters.some((l) => arg.includes(l));

/**
 * Kinds whose record changes nothing when the same record (kind, ARG, path) came before and the path
 * was not written or removed, and nothing was renamed, in between: the log's reader drops those
 * repeats (pm-collect --repeatable), so what is read grows with the paths, not the records. A rule
 * below that breaks this must take the kind out of the list.
 */
export const REPEATABLE: readonly RecordKind[] = [K.read, K.stat, K.absent, K.executed, K.untraced, K.lookedUp];

export interface ReduceOptions {
  /** Paths never to report (the tool's own state and logs, user ignore globs). */
  ignore?: (path: string) => boolean;
  disk?: DiskView;
}

interface PathState {
  /** First access was a read of content or metadata that existed before the step. */
  read: boolean;
  /** The step wrote it (it will be an output if it still exists at the end). */
  written: boolean;
  /** The step brought it into existence (open with create or truncate, mkdir, link, rename into place). */
  createdByStep: boolean;
  /** The step removed a version that existed before it started. */
  removedPreexisting: boolean;
  /** Looked up and not found before the step created it. */
  probedAbsent: boolean;
  /** The step created it at some point (so a failed lookup of it is not an outside dependency). */
  everCreated: boolean;
  /** Written by an open, which follows symlinks: what the name leads to was written. */
  writtenThrough: boolean;
  /** How it was written since the step last removed it (write-kinds.ts). */
  how: WriteHistory;
  /** Its id in the trace's path table. */
  id: number;
}

function fresh(id: number): PathState {
  return { id, read: false, written: false, createdByStep: false, removedPreexisting: false, probedAbsent: false, everCreated: false, writtenThrough: false, how: newWriteHistory() };
}

/** Kernel and device trees are never dependencies: the interposer skips them, but a symlink followed here can lead there. */
const isSystemPath = (p: string) => (p.charCodeAt(1) === 112 || p.charCodeAt(1) === 115 || p.charCodeAt(1) === 100) && /^\/(?:proc|sys|dev)(?:\/|$)/.test(p);

/** Reduces records read here (small logs, tests), looking at the disk through `options.disk`. */
export function reduceRecords(records: readonly LogRecord[], options: ReduceOptions = {}): StepDependencies {
  return reduceEvents(recordEvents(records, options.disk ?? liveDisk), options);
}

/** Reduces a trace's events (a log read here, or pm-collect's summary of a big one). */
export function reduceEvents(trace: TraceEvents, options: Pick<ReduceOptions, 'ignore'> = {}): StepDependencies {
  const { paths: ids, disk } = trace;
  const userIgnore = options.ignore;
  const ignore = (p: string) => isSystemPath(p) || (userIgnore ? userIgnore(p) : false);
  const paths = new Map<string, PathState>();
  const listed = new Set<string>();
  /** The rules each folder was listed under, by its role or its lister (listing-roles.ts). */
  const roles: FolderRoles = new Map();
  /** pid -> the program it runs, from its process record */
  const programs = new Map<number, string>();
  /** folder -> the names the import system looked up there (native/python.c) */
  const lookedUp = new Map<string, Set<string>>();
  const executed = new Set<string>();
  const untraced = new Map<string, UntracedProgram>();

  /** The record being reduced, as read and with its paths as strings. */
  let e: EventRecord = { kind: K.read, arg: '', path: -1, path2: -1, pid: 0 };
  const r: Omit<LogRecord, 'seq'> = { kind: K.read, arg: '', pid: 0, path: '', path2: undefined };
  const stateOf = (p: string): PathState => {
    let s = paths.get(p);
    // the record's own paths come with their ids; others (a rename's new names) are looked up
    if (!s) paths.set(p, (s = fresh(p === r.path ? e.path : p === r.path2 ? e.path2 : ids.idOf(p))));
    return s;
  };
  const touched = (s: PathState) => s.read || s.written || s.createdByStep || s.removedPreexisting;

  const remove = (s: PathState) => {
    if (!s.createdByStep) s.removedPreexisting = true;
    s.written = false;
    s.createdByStep = false;
    s.how = newWriteHistory();
  };

  // A rename moves what the step knew of every path under the old name to the new one.
  const rename = (from: string, to: string) => {
    const moved: [string, PathState][] = [];
    for (const [p, s] of paths) if (p === from || p.startsWith(from + '/')) moved.push([p, s]);
    const source = stateOf(from);
    // The new name holds the old one's content: a version that existed before is an input.
    if (!touched(source)) source.read = true;
    for (const [p, s] of moved) {
      if (p !== from && s.written) {
        const d = stateOf(to + p.slice(from.length));
        d.written = true;
        d.createdByStep = d.everCreated = s.createdByStep;
        noteReplaced(d.how);
      }
      remove(s);
    }
    if (!moved.some(([p]) => p === from)) remove(source);
    const target = stateOf(to);
    target.written = true;
    target.createdByStep = target.everCreated = true;
    noteReplaced(target.how);
  };

  trace.forEach((event) => {
    // one object for every record: a trace's records are never objects of their own
    e = event;
    r.kind = e.kind;
    r.arg = e.arg;
    r.pid = e.pid;
    r.path = ids.path(e.path);
    r.path2 = e.path2 < 0 ? undefined : ids.path(e.path2);
    switch (r.kind) {
      case K.read:
      case K.stat: {
        const s = stateOf(r.path);
        if (!touched(s)) s.read = true;
        if (r.kind === K.read) noteContentRead(s.how);
        break;
      }
      case K.write: {
        // Truncated, a new folder, a new name, or empty when opened: nothing of the old version
        // survives; otherwise (append, read-write, metadata, partial overwrite) the old version is
        // part of the result, so it is an input too.
        const s = stateOf(r.path);
        if (!touched(s) && !has(r.arg, W.truncate, W.mkdir, W.newName, W.empty)) s.read = true;
        s.written = true;
        if (has(r.arg, W.create, W.truncate, W.mkdir, W.newName)) s.createdByStep = s.everCreated = true;
        if (!has(r.arg, W.mkdir, W.newName, W.metadata)) s.writtenThrough = true;
        noteWrite(s.how, r.arg);
        break;
      }
      case K.absent: {
        const s = stateOf(r.path);
        if (!touched(s)) s.probedAbsent = true;
        break;
      }
      case K.listed: {
        // A folder the step made holds only what the step put there: not an outside dependency.
        if (paths.get(r.path)?.createdByStep) break;
        listed.add(r.path);
        noteListing(roles, r.path, r.arg, programs.get(r.pid));
        break;
      }
      case K.executed:
        executed.add(r.path);
        break;
      case K.untraced:
        // the first reason: a repeat can be dropped by the log's reader (REPEATABLE)
        if (!untraced.has(r.path)) untraced.set(r.path, { path: r.path, reason: r.arg as UntracedProgram['reason'] });
        break;
      case K.removed:
        remove(stateOf(r.path));
        break;
      case K.renamed:
        rename(r.path, r.path2!);
        break;
      case K.process:
        programs.set(r.pid, r.path);
        break;
      case K.lookedUp: {
        const folder = dirname(r.path);
        (lookedUp.get(folder) ?? lookedUp.set(folder, new Set()).get(folder)!).add(basename(r.path));
        break;
      }
    }
  });

  // What the disk says, from the trace's source (each path looked at once: trace-events.ts)
  const idOf = (p: string) => paths.get(p)?.id ?? ids.idOf(p);
  const kindOf = (p: string) => disk.kindOf(idOf(p));
  const realPathOf = (p: string): string | null => {
    const real = disk.realPathOf(idOf(p));
    return real === null ? null : ids.path(real);
  };

  const reads = new Set<string>();
  const writes = new Set<string>();
  const deleted = new Set<string>();
  const absent = new Set<string>();
  for (const [p, s] of paths) {
    // a path only probed needs no look at the disk
    const kind = s.read || s.written || s.removedPreexisting ? kindOf(p) : null;
    if (s.written && kind !== null) writes.add(p);
    else if (s.removedPreexisting && kind === null) deleted.add(p);
    if (s.read && kind !== 'dir') reads.add(p);
    if (s.probedAbsent && !s.everCreated && !s.written && !s.removedPreexisting) absent.add(p);
  }
  // The symlinked folders on the way to a file: retargeting one changes what the name reads.
  const linksOn = new Map<string, string[]>();
  const symlinkedFolders = (dir: string): string[] => {
    let links = linksOn.get(dir);
    if (links) return links;
    const real = realPathOf(dir);
    // a folder that is its own real path has no symlink above it either
    links = real === dir || dir === '/' ? [] : [...symlinkedFolders(dirname(dir)), ...(kindOf(dir) === 'symlink' ? [dir] : [])];
    linksOn.set(dir, links);
    return links;
  };
  // A symlink read is a read of the link and of what it points to.
  for (const set of [reads, executed]) {
    for (const p of [...set]) {
      const real = realPathOf(p);
      if (real && real !== p && !writes.has(real)) {
        if (kindOf(real) !== 'dir') set.add(real);
        if (set === reads) for (const link of symlinkedFolders(dirname(p))) if (!writes.has(link)) reads.add(link);
      }
    }
  }
  // How each was written, when not anew (write-kinds.ts)
  const writeKinds = new Map<string, WriteKind>();
  for (const p of writes) {
    const kind = writeKindOf(paths.get(p)!.how);
    if (kind !== 'new') writeKinds.set(p, kind);
  }
  // A write through a symlink (or a symlinked folder) is a write of the file it leads to.
  for (const [p, s] of paths) {
    if (!s.writtenThrough || !writes.has(p)) continue;
    const real = realPathOf(p);
    if (real && real !== p && kindOf(real) === 'file') {
      writes.add(real);
      const kind = writeKinds.get(p);
      if (kind && !paths.get(real)?.written) writeKinds.set(real, kind);
    }
  }
  // A program that ran is listed as executed, not also as read.
  for (const p of executed) reads.delete(p);

  const out = (set: Set<string>) => [...set].filter((p) => !ignore(p)).sort();
  return {
    reads: out(reads),
    writes: out(writes),
    deleted: out(deleted),
    absent: out(absent),
    listed: out(listed),
    listingRules: listingRules(roles, lookedUp, (p) => !ignore(p)),
    writeKinds: Object.fromEntries([...writeKinds].filter(([p]) => !ignore(p))),
    executed: out(executed),
    untraced: [...untraced.values()].filter((u) => !ignore(u.path)).sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)),
  };
}
