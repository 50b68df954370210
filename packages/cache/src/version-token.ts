/**
 * Version tokens: one number per file version, so the no-op check compares numbers, not records.
 * A token summarises (dev, ino, mtime ns, ctime ns, size, type) as a 53-bit hash; 0 means absent
 * (the ctime: see version.ts). A token
 * match is trusted like a stat match in ninja or git; a mismatch is confirmed by content hash.
 * `native/pm-check.c` (packages/interposer) computes the same token in C: change both together.
 */
import type { FileStat, FileVersion } from './version.js';

/*
 * Racy clean (git's index rule): a version recorded so soon after its mtime that a later write in the
 * same timestamp granule could keep the same tuple must be confirmed by hash next time. One rule
 * (isWithinRacyWindow), two windows side by side: the hash memo's and the version tokens'.
 */

/**
 * The one racy-clean window, for version tokens, the hash memo and the pipeline file's stamp. 2 s: FAT/exFAT store mtimes in 2 s steps, ext3/HFS+/some NFS and SMB mounts in 1 s, and even
 * "nanosecond" ext4/xfs/btrfs stamp files from the kernel's coarse clock (one tick, 1-10 ms), so two
 * writes a few ms apart can share an mtime. We cannot cheaply tell the filesystem, and a wide window
 * costs little: a file modified in the 2 s before we recorded it is hashed once more on the next check,
 * which then records it as clean. The window also covers modest clock skew with a file server.
 */
export const RACY_WINDOW_NS = 2_000_000_000n;

/** The racy-clean rule itself: a time (mtime or ctime) within `windowNs` of the recording moment, or after it. */
export function isWithinRacyWindow(timeNs: bigint, recordedAtNs: bigint, windowNs: bigint): boolean {
  return timeNs + windowNs >= recordedAtNs;
}

/**
 * True when `version` was recorded so soon after its mtime or ctime (or one is in the recorder's future)
 * that a later write could have kept the same tuple; such a record must be confirmed by hash next time.
 * Git's rule is "mtime >= index write time"; we widen it by the granularity window (see RACY_WINDOW_NS).
 * `recordedAtNs` must be taken before the file was stat'ed and read, so any write that followed the read
 * happened after it.
 */
export function isRacilyClean(
  version: FileVersion,
  recordedAtNs: string | bigint,
  windowNs: bigint = RACY_WINDOW_NS,
): boolean {
  const at = BigInt(recordedAtNs);
  return isWithinRacyWindow(BigInt(version.mtimeNs), at, windowNs) || isWithinRacyWindow(BigInt(version.ctimeNs), at, windowNs);
}

export const ABSENT = 0;
/** A token that never matches: stored for racily clean files, so the next check hashes them. */
export const UNTRUSTED = -1;

const TYPE_BITS = 0o170000;

function token(dev: bigint | number, ino: bigint | string, mtimeNs: bigint | string, ctimeNs: bigint | string, size: bigint | number, mode: number): number {
  return cyrb53(`${dev}:${ino}:${mtimeNs}:${ctimeNs}:${size}:${mode & TYPE_BITS}`) || 1;
}

/** The token of what lstat says now (undefined: absent). */
export function tokenOf(st: FileStat | undefined): number {
  return st ? token(st.dev, st.ino, st.mtimeNs, st.ctimeNs, st.size, Number(st.mode)) : ABSENT;
}

/** The same token from a recorded version (null: absent). */
export function versionToken(v: FileVersion | null): number {
  return v ? token(v.dev, v.ino, v.mtimeNs, v.ctimeNs, v.size, v.mode) : ABSENT;
}

/**
 * The token to store for a version seen at `recordedAtNs`: untrusted when its mtime or ctime is so
 * recent that a later write could keep the same tuple (racily clean, as git's index).
 */
export function tokenToRecord(st: FileStat | undefined, recordedAtNs: bigint): number {
  if (!st) return ABSENT;
  return racilyClean(st.mtimeNs, st.ctimeNs, recordedAtNs) ? UNTRUSTED : tokenOf(st);
}

/** tokenToRecord for a recorded version. */
export function versionTokenToRecord(v: FileVersion | null, recordedAtNs: bigint): number {
  if (!v) return ABSENT;
  return racilyClean(BigInt(v.mtimeNs), BigInt(v.ctimeNs), recordedAtNs) ? UNTRUSTED : versionToken(v);
}

function racilyClean(mtimeNs: bigint, ctimeNs: bigint, recordedAtNs: bigint): boolean {
  return isWithinRacyWindow(mtimeNs, recordedAtNs, RACY_WINDOW_NS) || isWithinRacyWindow(ctimeNs, recordedAtNs, RACY_WINDOW_NS);
}

/**
 * A folder listing as one token: its entry names (null: not a readable folder), minus the ones
 * `leftOut` names. Only which names exist matters; the entries' contents are dependencies of their own.
 */
export function listingToken(names: readonly string[] | null, leftOut?: (name: string) => boolean): number {
  if (names === null) return ABSENT;
  const sorted = [...names].sort();
  const kept = leftOut ? sorted.filter((n) => !leftOut(n)) : sorted;
  return cyrb53(kept.join('\0')) || 1;
}

/** cyrb53 (public domain): a fast 53-bit string hash. */
export function cyrb53(str: string, seed = 0): number {
  let h1 = 0xdeadbeef ^ seed;
  let h2 = 0x41c6ce57 ^ seed;
  for (let i = 0; i < str.length; i++) {
    const ch = str.charCodeAt(i);
    h1 = Math.imul(h1 ^ ch, 2654435761);
    h2 = Math.imul(h2 ^ ch, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507);
  h1 ^= Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507);
  h2 ^= Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return 4294967296 * (2097151 & h2) + (h1 >>> 0);
}
