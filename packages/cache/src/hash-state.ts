// DVC's state trick (DESIGN §3): remember each file's stat together with its hash whenever we hash,
// write or restore it, so the next "did it change?" is one stat and one key lookup, not a full read.
import fs, { type BigIntStats } from 'node:fs';
import path from 'node:path';
import { open, type RootDatabase } from 'lmdb';
import { pathKey } from './db-key.js';
import { errnoCode, NotARegularFileError } from './errors.js';
import { hashDirectoryListing, hashFileVersioned, hashSpecialFile } from './hash.js';
import {
  isRacilyClean,
  nowNs,
  RACY_WINDOW_NS,
  sameVersion,
  statVersion,
  versionFromStats,
  type FileVersion,
} from './version.js';

export interface HashStateEntry {
  version: FileVersion;
  hash: string;
  /** Wall clock (ns, decimal) taken before the file was stat'ed and read; see isRacilyClean. */
  recordedAtNs: string;
}

export interface HashStateOptions {
  /** Racy-clean window; the default (2 s) is justified at RACY_WINDOW_NS. */
  racyWindowNs?: bigint;
  readOnly?: boolean;
}

export const HASH_STATE_FILE = 'hash-state.lmdb';

export class HashState {
  private constructor(
    private readonly db: RootDatabase<HashStateEntry, string>,
    private readonly racyWindowNs: bigint,
  ) {}

  /** Open (creating if needed) the state kept in `<stateDir>/hash-state.lmdb`. */
  static open(stateDir: string, options: HashStateOptions = {}): HashState {
    if (!options.readOnly) fs.mkdirSync(stateDir, { recursive: true });
    const db = open<HashStateEntry, string>({
      path: path.join(stateDir, HASH_STATE_FILE),
      readOnly: options.readOnly ?? false,
      // The in-process cache makes a remembered entry readable before its batched commit lands. A stale
      // cached entry (another process wrote since) is harmless: every entry is a true (version, hash)
      // pair, so the worst case is one extra hash.
      cache: true,
    });
    return new HashState(db, options.racyWindowNs ?? RACY_WINDOW_NS);
  }

  /** The raw stored entry for an absolute path, if any (shared with the cache: do not mutate). */
  entry(absPath: string): HashStateEntry | undefined {
    return this.db.get(pathKey(absPath));
  }

  /**
   * The remembered hash when it can be trusted without reading the file: same fast tuple as `version`,
   * and the record was not racily clean. Synchronous, for tight no-op loops.
   */
  peek(absPath: string, version: FileVersion): string | null {
    const e = this.entry(absPath);
    if (!e || !sameVersion(e.version, version)) return null;
    if (isRacilyClean(e.version, e.recordedAtNs, this.racyWindowNs)) return null;
    return e.hash;
  }

  /**
   * Content hash of `absPath`, or null when it does not exist. Pass `version` (a FileVersion, or lstat
   * with `{ bigint: true }`) if you just stat'ed the path: it saves a stat. Reads the file only when no trustworthy entry matches, then remembers the result
   * unless the file changed while being read. Directories hash their listing; devices, FIFOs and sockets
   * get a type-only stand-in and are never opened.
   */
  async hashOf(absPath: string, version?: FileVersion | BigIntStats | null): Promise<string | null> {
    assertAbsolute(absPath);
    const current = version ? asVersion(version) : await statVersion(absPath);
    if (!current) return null;
    const memo = this.peek(absPath, current);
    if (memo !== null) return memo;

    // Taken before reading: any write that lands after our read happened after this instant.
    const recordedAtNs = nowNs();
    try {
      if (current.kind === 'other') return await hashSpecialFile(current.mode);
      if (current.kind === 'dir') {
        const hash = await hashDirectoryListing(absPath);
        const after = await statVersion(absPath);
        if (after && sameVersion(current, after)) this.rememberQuietly(absPath, current, hash, recordedAtNs);
        return hash;
      }
      const read = await hashFileVersioned(absPath);
      if (read.stable) this.rememberQuietly(absPath, read.version, read.hash, recordedAtNs);
      return read.hash;
    } catch (err) {
      const code = errnoCode(err);
      if (code === 'ENOENT' || code === 'ENOTDIR') return null;
      // The path changed kind between the caller's stat and our read: start over from a fresh stat.
      if (err instanceof NotARegularFileError && version) return this.hashOf(absPath);
      throw err;
    }
  }

  /**
   * Record the hash of a file we just wrote or restored, so its next check is a stat. Its mtime is
   * recent, so the entry starts racily clean and is confirmed by one hash on the next check.
   * Writes are batched and committed in the background: call flush() or close() before exiting.
   */
  remember(absPath: string, version: FileVersion, hash: string, recordedAtNs: string = nowNs()): Promise<boolean> {
    assertAbsolute(absPath);
    return this.db.put(pathKey(absPath), { version, hash, recordedAtNs });
  }

  forget(absPath: string): Promise<boolean> {
    return this.db.remove(pathKey(absPath));
  }

  /** Wait until every remembered entry is committed and flushed to disk. */
  async flush(): Promise<void> {
    await this.db.committed;
    await this.db.flushed;
  }

  async close(): Promise<void> {
    await this.flush();
    await this.db.close();
  }

  // Losing a memo entry only costs a re-hash, so a failed write must not become an unhandled rejection.
  private rememberQuietly(absPath: string, version: FileVersion, hash: string, recordedAtNs: string): void {
    this.remember(absPath, version, hash, recordedAtNs).catch(() => undefined);
  }
}

function asVersion(v: FileVersion | BigIntStats): FileVersion {
  return typeof (v as BigIntStats).isFile === 'function' ? versionFromStats(v as BigIntStats) : (v as FileVersion);
}

function assertAbsolute(p: string): void {
  if (!path.isAbsolute(p)) throw new TypeError(`HashState needs absolute paths, got ${JSON.stringify(p)}`);
}
