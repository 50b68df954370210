/**
 * Version tokens: one number per file version, so the no-op check compares numbers, not
 * records. A token summarises (dev, ino, mtime ns, size, type) as a 53-bit hash; 0 means absent.
 * A token match is trusted like a stat match in ninja or git; a mismatch is confirmed by hash.
 */
import { lstatSync, type BigIntStats } from 'node:fs';

export const ABSENT = 0;
/** A token that never matches: stored for racily-clean files so the next check hashes them. */
export const UNTRUSTED = -1;

/** Timestamps within this of the moment of recording are not trusted (coarse fs clocks). */
export const RACY_WINDOW_NS = 1_000_000_000n;

export function statOf(path: string): BigIntStats | undefined {
  try {
    return lstatSync(path, { bigint: true, throwIfNoEntry: false });
  } catch {
    return undefined; // ENOTDIR, EACCES: as good as absent for a dependency
  }
}

export function tokenOf(st: BigIntStats | undefined): number {
  if (!st) return ABSENT;
  const type = Number(st.mode) & 0o170000;
  return cyrb53(`${st.dev}:${st.ino}:${st.mtimeNs}:${st.size}:${type}`) || 1;
}

/** The token to store for a version recorded now: untrusted if the file may change within the same tick. */
export function tokenToRecord(st: BigIntStats | undefined, recordedAtNs: bigint): number {
  if (!st) return ABSENT;
  if (st.mtimeNs + RACY_WINDOW_NS >= recordedAtNs || st.ctimeNs + RACY_WINDOW_NS >= recordedAtNs) return UNTRUSTED;
  return tokenOf(st);
}

export function nowNs(): bigint {
  return BigInt(Date.now()) * 1_000_000n;
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
