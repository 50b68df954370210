/**
 * What the reducer reads (reduce.ts): a step's records in event order over a table of paths, and
 * what the disk says of those paths at the end of the step. Two sources give it: the records of a
 * log read here (logs.ts; small logs, tests), and the summary of a big log that pm-collect read,
 * with the disk already looked at (summary.ts).
 */
import { basename } from 'node:path';
import { lstatSync } from 'node:fs';
import { fsPath, realPathOf } from './byte-path.js';
import type { LogRecord } from './logs.js';
import { PathTable } from './path-table.js';
import type { PathStat, RecordKind, TraceStats } from './types.js';

export type FileKind = 'file' | 'dir' | 'symlink' | 'other';

/** One record, its paths as ids (`path2`: -1 when none). */
export interface EventRecord {
  kind: RecordKind;
  arg: string;
  path: number;
  path2: number;
  pid: number;
}

/** What the disk says of a trace's paths at the end of the step, by id. */
export interface PathFacts {
  kindOf(id: number): FileKind | null;
  /** What lstat said when the reducer looked (null: missing), or undefined when nothing looked. */
  statOf(id: number): PathStat | null | undefined;
  /** Its fully resolved path (symlinks on the way and its own followed): itself when none leads to
   *  it; null when it does not exist or cannot be resolved. */
  realPathOf(id: number): number | null;
}

export interface TraceEvents {
  readonly paths: PathTable;
  readonly disk: PathFacts;
  /** Each record in event order; the object passed is reused. */
  forEach(visit: (r: EventRecord) => void): void;
}

/** What the reducer needs to know about the disk at the end of the step, by name. */
export interface DiskView {
  /** 'file' | 'dir' | 'symlink' | 'other', or null when the path does not exist. */
  kindOf(path: string): FileKind | null;
  /** lstat (null: missing), when the view can say: then kindOf is taken from it, and it is kept. */
  lstat?(path: string): PathStat | null;
  /** Fully resolved path (symlinks followed), or null when it cannot be resolved. */
  realPath(path: string): string | null;
}

export const liveDisk: DiskView = {
  kindOf(path) {
    const st = liveDisk.lstat!(path);
    return st && kindOfStat(st);
  },
  lstat(path) {
    try {
      // no throw for a missing path: a trace can hold a million absent paths, and an exception each cost ~10 us
      return lstatSync(fsPath(path), { bigint: true, throwIfNoEntry: false }) ?? null;
    } catch {
      return null;
    }
  },
  realPath(path) {
    try {
      return realPathOf(path);
    } catch {
      return null;
    }
  },
};

/**
 * Facts from a DiskView, each looked up once: an lstat per path, and realpath only for symlinks
 * and once per folder (a trace of 100,000 reads spent 2.9 s in a realpath per file).
 */
export function viewFacts(paths: PathTable, disk: DiskView): PathFacts {
  const kinds = new Map<number, FileKind | null>();
  const stats = new Map<number, PathStat | null>();
  const realFolders = new Map<number, number | null>();
  const kindOf = (id: number) => {
    let k = kinds.get(id);
    if (k === undefined) {
      if (disk.lstat) {
        const st = disk.lstat(paths.path(id));
        stats.set(id, st);
        k = st && kindOfStat(st);
      } else {
        k = disk.kindOf(paths.path(id));
      }
      kinds.set(id, k);
    }
    return k;
  };
  const resolve = (id: number) => {
    const real = disk.realPath(paths.path(id));
    return real === null ? null : paths.idOf(real);
  };
  const realFolder = (id: number) => {
    let real = realFolders.get(id);
    if (real === undefined) realFolders.set(id, (real = resolve(id)));
    return real;
  };
  return {
    kindOf,
    statOf: (id) => stats.get(id),
    realPathOf(id) {
      const k = kindOf(id);
      if (k === null) return null;
      if (k === 'symlink') return resolve(id);
      const folder = paths.folderOf(id);
      if (folder === null) return id;
      const real = realFolder(folder);
      if (real === null) return null;
      if (real === folder) return id;
      const dir = paths.path(real);
      return paths.idOf(`${dir === '/' ? '' : dir}/${basename(paths.path(id))}`);
    },
  };
}

/** The records of a log read here, as the reducer reads them. */
export function recordEvents(records: readonly LogRecord[], disk: DiskView = liveDisk): TraceEvents {
  const paths = new PathTable();
  const ids = records.map((r) => [paths.idOf(r.path), r.path2 === undefined ? -1 : paths.idOf(r.path2)]);
  return {
    paths,
    disk: viewFacts(paths, disk),
    forEach(visit) {
      const e: EventRecord = { kind: 'R', arg: '', path: 0, path2: -1, pid: 0 };
      records.forEach((r, i) => {
        e.kind = r.kind;
        e.arg = r.arg;
        [e.path, e.path2] = ids[i];
        e.pid = r.pid;
        visit(e);
      });
    },
  };
}

export function kindOfStat(st: PathStat): FileKind {
  return st.isFile() ? 'file' : st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'symlink' : 'other';
}

/** The lstat results the reducer took, by name (TraceResult.stats). */
export function traceStats(trace: TraceEvents): TraceStats {
  return {
    of(path) {
      const id = trace.paths.find(path);
      return id === undefined ? undefined : trace.disk.statOf(id);
    },
  };
}
