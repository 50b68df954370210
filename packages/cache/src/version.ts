// A file version is what one stat says about a file. The fast tuple (dev, ino, mtime ns, ctime ns, size)
// decides "unchanged" without reading the file; the content hash confirms when the tuple differs (DESIGN §3).
// The ctime is in it as in git's index: `cp -p`, `tar x`, `rsync -t` and `touch -r` put an mtime back,
// but no user call can set the ctime, so a rewrite is always seen (a chmod alone costs one hash).
import fs from 'node:fs';
import { fsPath } from '@prov-make/interposer/byte-path';
import { errnoCode } from './errors.js';
import type { PathStat } from '@prov-make/interposer';

export type FileKind = 'file' | 'dir' | 'symlink' | 'other';

export interface FileVersion {
  dev: number;
  /** Inode number as a decimal string: inodes can exceed 2^53 (btrfs, network filesystems). */
  ino: string;
  /** Nanoseconds since the epoch as a decimal string (a JS number only holds microseconds exactly). */
  mtimeNs: string;
  ctimeNs: string;
  size: number;
  mode: number;
  kind: FileKind;
}

/**
 * What one lstat says, as the engine needs it. Node's BigIntStats is one; an in-memory disk (engine
 * unit tests) makes its own.
 */
export interface FileStat extends PathStat {
  /** When the file was made (statx), where the file system keeps it; 0 or absent where it does not. */
  birthtimeNs?: bigint;
}

function fileKind(st: FileStat): FileKind {
  return st.isFile() ? 'file' : st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'symlink' : 'other';
}

export interface StatOptions {
  /** Describe what a symlink points to rather than the link itself. Default false: a link is its own file. */
  followSymlinks?: boolean;
}

/** Build a FileVersion from stats taken with `{ bigint: true }` (also for callers who already stat'ed). */
export function versionFromStats(st: FileStat): FileVersion {
  return {
    dev: Number(st.dev),
    ino: st.ino.toString(),
    mtimeNs: st.mtimeNs.toString(),
    ctimeNs: st.ctimeNs.toString(),
    size: Number(st.size),
    mode: Number(st.mode),
    kind: fileKind(st),
  };
}

// ENOENT and ENOTDIR both mean "no such path" (the interposer records them as absent-file dependencies).
function isAbsence(err: unknown): boolean {
  const code = errnoCode(err);
  return code === 'ENOENT' || code === 'ENOTDIR';
}

/** The version of `path`, or null when it does not exist. Does not follow a final symlink unless asked. */
export async function statVersion(path: string, options: StatOptions = {}): Promise<FileVersion | null> {
  try {
    const st = options.followSymlinks
      ? await fs.promises.stat(fsPath(path), { bigint: true })
      : await fs.promises.lstat(fsPath(path), { bigint: true });
    return versionFromStats(st);
  } catch (err) {
    if (isAbsence(err)) return null;
    throw err;
  }
}

/**
 * Synchronous statVersion, for the no-op check: thousands of stats in a loop are faster without a
 * promise and a thread-pool hop each. `throwIfNoEntry: false` avoids building an exception for ENOENT.
 */
export function statVersionSync(path: string, options: StatOptions = {}): FileVersion | null {
  try {
    const st = options.followSymlinks
      ? fs.statSync(fsPath(path), { bigint: true, throwIfNoEntry: false })
      : fs.lstatSync(fsPath(path), { bigint: true, throwIfNoEntry: false });
    return st ? versionFromStats(st) : null;
  } catch (err) {
    if (isAbsence(err)) return null;
    throw err;
  }
}

/** Same fast tuple: the file is taken as unchanged (subject to the racy-clean rule). */
export function sameVersion(a: FileVersion | null | undefined, b: FileVersion | null | undefined): boolean {
  if (!a || !b) return false;
  return a.dev === b.dev && a.ino === b.ino && a.mtimeNs === b.mtimeNs && a.ctimeNs === b.ctimeNs && a.size === b.size;
}

/** Wall-clock now in ns, comparable with mtimeNs (ms precision is plenty for a 1-2 s window). */
export function nowNs(): bigint {
  return BigInt(Date.now()) * 1_000_000n;
}



/** Human size in SI units, as `ls -h --si` and most GUIs print it: 10200 -> "10.2 kB". */
export function formatBytes(bytes: number): string {
  if (bytes < 1000) return `${bytes} B`;
  const units = ['kB', 'MB', 'GB', 'TB', 'PB'];
  let value = bytes;
  let unit = -1;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  // One decimal below 100 keeps three significant digits without printing "123.4 MB".
  const text = value >= 100 ? Math.round(value).toString() : value.toFixed(1).replace(/\.0$/, '');
  return `${text} ${units[unit]}`;
}

function pad(n: number): string {
  return n.toString().padStart(2, '0');
}

/** Local time "YYYY-MM-DD HH:MM:SS" of an mtime in ns. */
export function formatMtime(mtimeNs: string): string {
  const d = new Date(Number(BigInt(mtimeNs) / 1_000_000n));
  return (
    `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`
  );
}

/** One line for humans: "10.2 kB, modified 2026-11-22 23:14:05" (kinds other than files are named). */
export function describeVersion(v: FileVersion): string {
  const what =
    v.kind === 'file' ? formatBytes(v.size) : v.kind === 'dir' ? 'directory' : v.kind === 'symlink' ? 'symlink' : 'special file';
  return `${what}, modified ${formatMtime(v.mtimeNs)}`;
}
