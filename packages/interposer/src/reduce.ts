/**
 * Reducing a trace's records to a step's dependencies (DESIGN section 2):
 * inputs are files whose first access was a read; outputs are files the step created or changed
 * that still exist at the end; temp files created and removed inside the step are neither;
 * absent paths are lookups that failed and that the step did not create itself.
 */
import { basename, dirname } from 'node:path';
import { listingRules, noteListing, type FolderRoles } from './listing-roles.js';
import type { LogRecord } from './logs.js';
import { MARK, PathMarks, TOUCHED } from './path-marks.js';
import { liveDisk, recordEvents, type DiskView, type TraceEvents } from './trace-events.js';
import { RECORD, type RecordKind, type StepDependencies, type UntracedProgram, type WriteKind, type WriteLetter } from './types.js';
import { NO_WRITES, noteContentRead, noteReplaced, noteWrite, writeKindOf } from './write-kinds.js';

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

/** Kernel and device trees are never dependencies: the interposer skips them, but a symlink followed here can lead there. */
const isSystemPath = (p: string) => (p.charCodeAt(1) === 112 || p.charCodeAt(1) === 115 || p.charCodeAt(1) === 100) && /^\/(?:proc|sys|dev)(?:\/|$)/.test(p);

/** Reduces records read here (small logs, tests), looking at the disk through `options.disk`. */
export function reduceRecords(records: readonly LogRecord[], options: ReduceOptions = {}): StepDependencies {
  return reduceEvents(recordEvents(records, options.disk ?? liveDisk), options);
}

/** Reduces a trace's events (a log read here, or pm-collect's summary of a big one). */
export function reduceEvents(trace: TraceEvents, options: Pick<ReduceOptions, 'ignore'> = {}): StepDependencies {
  const { paths: ids } = trace;
  const userIgnore = options.ignore;
  const ignore = (p: string) => isSystemPath(p) || (userIgnore ? userIgnore(p) : false);
  /** What the records said of each path, by id (path-marks.ts) */
  const m = new PathMarks(ids.size);
  const listed = new Set<string>();
  /** The rules each folder was listed under, by its role or its lister (listing-roles.ts). */
  const roles: FolderRoles = new Map();
  /** pid -> the program it runs, from its process record */
  const programs = new Map<number, string>();
  /** folder -> the names the import system looked up there (native/python.c) */
  const lookedUp = new Map<string, Set<string>>();
  const executed = new Set<number>();
  const untraced = new Map<string, UntracedProgram>();

  const remove = (id: number) => {
    if (!m.has(id, MARK.createdByStep)) m.set(id, MARK.removedPreexisting);
    m.put(id, MARK.written | MARK.createdByStep, false);
    m.how[id] = NO_WRITES;
  };
  /** Written into place by a rename: created by the step when `created`. */
  const renamedInto = (id: number, created: boolean) => {
    m.set(m.note(id), MARK.written);
    m.put(id, MARK.createdByStep | MARK.everCreated, created);
    m.how[id] = noteReplaced(m.how[id]);
  };

  // A rename moves what the step knew of every path under the old name to the new one.
  const rename = (from: number, to: number) => {
    const fromPath = ids.path(from);
    const under = fromPath + '/';
    const moved = m.known.filter((id) => id === from || ids.path(id).startsWith(under));
    // The new name holds the old one's content: a version that existed before is an input.
    if (!m.has(m.note(from), TOUCHED)) m.set(from, MARK.read);
    const toPath = ids.path(to);
    for (const id of moved) {
      if (id !== from && m.has(id, MARK.written)) renamedInto(ids.idOf(toPath + ids.path(id).slice(fromPath.length)), m.has(id, MARK.createdByStep));
      remove(id);
    }
    if (!moved.includes(from)) remove(from);
    renamedInto(to, true);
  };

  trace.forEach((e) => {
    const id = e.path;
    switch (e.kind) {
      case K.read:
      case K.stat: {
        if (!m.has(m.note(id), TOUCHED)) m.set(id, MARK.read);
        if (e.kind === K.read) m.how[id] = noteContentRead(m.how[id]);
        break;
      }
      case K.write: {
        // Truncated, a new folder, a new name, or empty when opened: nothing of the old version
        // survives; otherwise (append, read-write, metadata, partial overwrite) the old version is
        // part of the result, so it is an input too.
        const arg = e.arg;
        if (!m.has(m.note(id), TOUCHED) && !has(arg, W.truncate, W.mkdir, W.newName, W.empty)) m.set(id, MARK.read);
        m.set(id, MARK.written);
        if (has(arg, W.create, W.truncate, W.mkdir, W.newName)) m.set(id, MARK.createdByStep | MARK.everCreated);
        if (!has(arg, W.mkdir, W.newName, W.metadata)) m.set(id, MARK.writtenThrough);
        m.how[id] = noteWrite(m.how[id], arg);
        break;
      }
      case K.absent: {
        if (!m.has(m.note(id), TOUCHED)) m.set(id, MARK.probedAbsent);
        break;
      }
      case K.listed: {
        // A folder the step made holds only what the step put there: not an outside dependency.
        if (m.has(id, MARK.createdByStep)) break;
        const path = ids.path(id);
        listed.add(path);
        noteListing(roles, path, e.arg, programs.get(e.pid));
        break;
      }
      case K.executed:
        executed.add(id);
        break;
      case K.untraced: {
        // the first reason: a repeat can be dropped by the log's reader (REPEATABLE)
        const path = ids.path(id);
        if (!untraced.has(path)) untraced.set(path, { path, reason: e.arg as UntracedProgram['reason'] });
        break;
      }
      case K.removed:
        remove(m.note(id));
        break;
      case K.renamed:
        rename(id, e.path2);
        break;
      case K.process:
        programs.set(e.pid, ids.path(id));
        break;
      case K.lookedUp: {
        const path = ids.path(id);
        const folder = dirname(path);
        (lookedUp.get(folder) ?? lookedUp.set(folder, new Set()).get(folder)!).add(basename(path));
        break;
      }
    }
  });
  return outcome(trace, m, { listed, roles, lookedUp, executed, untraced }, ignore);
}

/** What the reduction found besides the marks of each path. */
interface Found {
  listed: Set<string>;
  roles: FolderRoles;
  lookedUp: Map<string, Set<string>>;
  executed: Set<number>;
  untraced: Map<string, UntracedProgram>;
}

/** The dependencies from the marks of each path and what the disk says of them at the end of the step. */
function outcome(trace: TraceEvents, m: PathMarks, found: Found, ignore: (p: string) => boolean): StepDependencies {
  const { paths: ids, disk } = trace;
  const { executed } = found;
  const kindOf = (id: number) => disk.kindOf(id);
  const reads = new Set<number>();
  const writes = new Set<number>();
  const deleted = new Set<number>();
  const absent = new Set<number>();
  for (const id of m.known) {
    const marks = m.marks[id];
    // a path only probed needs no look at the disk
    const kind = marks & (MARK.read | MARK.written | MARK.removedPreexisting) ? kindOf(id) : null;
    if (marks & MARK.written && kind !== null) writes.add(id);
    else if (marks & MARK.removedPreexisting && kind === null) deleted.add(id);
    if (marks & MARK.read && kind !== 'dir') reads.add(id);
    if (marks & MARK.probedAbsent && !(marks & (MARK.everCreated | MARK.written | MARK.removedPreexisting))) absent.add(id);
  }
  // The symlinked folders on the way to a file: retargeting one changes what the name reads.
  const linksOn = new Map<number, number[]>();
  const symlinkedFolders = (dir: number): number[] => {
    let links = linksOn.get(dir);
    if (links) return links;
    const real = disk.realPathOf(dir);
    const parent = ids.folderOf(dir);
    // a folder that is its own real path has no symlink above it either
    links = real === dir || parent === null ? [] : [...symlinkedFolders(parent), ...(kindOf(dir) === 'symlink' ? [dir] : [])];
    linksOn.set(dir, links);
    return links;
  };
  // A symlink read is a read of the link and of what it points to.
  for (const set of [reads, executed]) {
    for (const id of [...set]) {
      const real = disk.realPathOf(id);
      if (real !== null && real !== id && !writes.has(real)) {
        if (kindOf(real) !== 'dir') set.add(real);
        const folder = ids.folderOf(id);
        if (set === reads && folder !== null) for (const link of symlinkedFolders(folder)) if (!writes.has(link)) reads.add(link);
      }
    }
  }
  // How each was written, when not anew (write-kinds.ts)
  const writeKinds = new Map<number, WriteKind>();
  for (const id of writes) {
    const kind = writeKindOf(m.historyOf(id));
    if (kind !== 'new') writeKinds.set(id, kind);
  }
  // A write through a symlink (or a symlinked folder) is a write of the file it leads to.
  for (const id of m.known) {
    if (!m.has(id, MARK.writtenThrough) || !writes.has(id)) continue;
    const real = disk.realPathOf(id);
    if (real !== null && real !== id && kindOf(real) === 'file') {
      writes.add(real);
      const kind = writeKinds.get(id);
      if (kind && !m.has(real, MARK.written)) writeKinds.set(real, kind);
    }
  }
  // A program that ran is listed as executed, not also as read.
  for (const id of executed) reads.delete(id);

  // sorted by id when the table's ids are in path order (a string sort of 100,000 paths costs ~30 ms)
  const out = (set: Set<number>) => {
    const sorted = Int32Array.from(set).sort();
    const list = Array.from(sorted, (id) => ids.path(id)).filter((p) => !ignore(p));
    return sorted.length > 0 && sorted[sorted.length - 1] >= ids.ordered ? list.sort() : list;
  };
  const kept = (set: Set<string>) => [...set].filter((p) => !ignore(p)).sort();
  return {
    reads: out(reads),
    writes: out(writes),
    deleted: out(deleted),
    absent: out(absent),
    listed: kept(found.listed),
    listingRules: listingRules(found.roles, found.lookedUp, (p) => !ignore(p)),
    writeKinds: Object.fromEntries([...writeKinds].map(([id, kind]) => [ids.path(id), kind] as const).filter(([p]) => !ignore(p))),
    executed: out(executed),
    untraced: [...found.untraced.values()].filter((u) => !ignore(u.path)).sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)),
  };
}
