// DVC's state trick (DESIGN §3): remember each file's stat together with its hash whenever we hash,
// write or restore it, so the next "did it change?" is one stat and one key lookup, not a full read.
import fs, { type BigIntStats } from 'node:fs';
import path from 'node:path';
import { open, type RootDatabase } from 'lmdb';
import { isRacilyClean, RACY_WINDOW_NS } from './version-token.js';
import { pathKey } from './db-key.js';
import { errnoCode, NotARegularFileError } from './errors.js';
import { digestFileVersioned, hashDirectoryListing, hashSpecialFile, specialFileDigests, type Digests } from './hash.js';
import {
  nowNs,
  sameVersion,
  statVersion,
  versionFromStats,
  type FileVersion,
} from './version.js';

export interface HashStateEntry {
  version: FileVersion;
  /** xxh64. */
  hash: string;
  /** SHA-256 of the same bytes, when they were read here (a hash given to remember() comes without it). */
  sha256?: string;
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
  /** A memo write failed: see memoWrite. */
  private failed = false;
  private onFailure!: () => void;
  private readonly failure = new Promise<boolean>((resolve) => (this.onFailure = () => resolve(false)));
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
    return this.trusted(absPath, version)?.hash ?? null;
  }

  private trusted(absPath: string, version: FileVersion): HashStateEntry | null {
    const e = this.entry(absPath);
    if (!e || !sameVersion(e.version, version)) return null;
    if (isRacilyClean(e.version, e.recordedAtNs, this.racyWindowNs)) return null;
    return e;
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
    if (current.kind === 'dir') return this.hashListing(absPath, current);
    if (current.kind === 'other') return hashSpecialFile(current.mode);
    try {
      return (await this.read(absPath))?.xxh64 ?? null;
    } catch (err) {
      // The path changed kind between the caller's stat and our read: start over from a fresh stat.
      if (err instanceof NotARegularFileError && version) return this.hashOf(absPath);
      throw err;
    }
  }

  /**
   * xxh64 and SHA-256 of a file (a symlink: of its target text; a device or FIFO: a type-only stand-in),
   * or null when it does not exist or is a folder. Both come from one read and are remembered together.
   */
  async digestsOf(absPath: string, version?: FileVersion | null): Promise<Digests | null> {
    assertAbsolute(absPath);
    const current = version ?? (await statVersion(absPath));
    if (!current || current.kind === 'dir') return null;
    const memo = this.trusted(absPath, current);
    if (memo?.sha256) return { xxh64: memo.hash, sha256: memo.sha256 };
    if (current.kind === 'other') return specialFileDigests(current.mode);
    try {
      return await this.read(absPath);
    } catch (err) {
      if (err instanceof NotARegularFileError && version) return this.digestsOf(absPath);
      throw err;
    }
  }

  private async hashListing(absPath: string, current: FileVersion): Promise<string | null> {
    const recordedAtNs = nowNs();
    try {
      const hash = await hashDirectoryListing(absPath);
      const after = await statVersion(absPath);
      if (after && sameVersion(current, after)) this.rememberQuietly(absPath, current, hash, recordedAtNs);
      return hash;
    } catch (err) {
      if (isAbsence(err)) return null;
      throw err;
    }
  }

  /**
   * Reads the file once for both digests and remembers them unless it changed while being read. Throws
   * NotARegularFileError when the path is no longer a file or symlink.
   */
  private async read(absPath: string): Promise<Digests | null> {
    // Taken before reading: any write that lands after our read happened after this instant.
    const recordedAtNs = nowNs();
    try {
      const read = await digestFileVersioned(absPath);
      this.rememberRead(absPath, read, recordedAtNs);
      return read.digests;
    } catch (err) {
      if (isAbsence(err)) return null;
      throw err;
    }
  }

  /**
   * Record the hash of a file we just wrote or restored, so its next check is a stat. Its mtime is
   * recent, so the entry starts racily clean and is confirmed by one hash on the next check.
   * Writes are batched and committed in the background: call flush() or close() before exiting.
   */
  remember(absPath: string, version: FileVersion, hash: string, recordedAtNs: string | bigint = nowNs(), sha256?: string): Promise<boolean> {
    assertAbsolute(absPath);
    const entry: HashStateEntry = { version, hash, recordedAtNs: String(recordedAtNs) };
    if (sha256) entry.sha256 = sha256;
    return this.memoWrite(() => this.db.put(pathKey(absPath), entry));
  }

  /**
   * Remembers what one read of a file found (recordedAtNs: taken before it was read), unless it
   * changed while being read or is racily clean: such an entry could never be trusted.
   */
  rememberRead(absPath: string, read: { version: FileVersion | null; digests: Digests | null; stable: boolean }, recordedAtNs: bigint): void {
    const { version, digests } = read;
    if (!version || !digests || !read.stable || (version.kind !== 'file' && version.kind !== 'symlink')) return;
    if (isRacilyClean(version, recordedAtNs, this.racyWindowNs)) return;
    this.rememberQuietly(absPath, version, digests.xxh64, recordedAtNs, digests.sha256);
  }

  forget(absPath: string): Promise<boolean> {
    return this.memoWrite(() => this.db.remove(pathKey(absPath)));
  }

  /**
   * A memo write that failed (a full disk) is only a memo entry lost: false, never a rejection; and
   * once one failed, the memo is left alone for the rest of this process (each try would fail again,
   * and lmdb prints each failure).
   */
  private memoWrite(write: () => Promise<boolean>): Promise<boolean> {
    if (this.failed) return Promise.resolve(false);
    ignoreFailedCommits();
    const written = write().catch((err: { commitError?: Promise<unknown> }) => {
      err?.commitError?.catch(() => undefined);
      this.failed = true;
      this.onFailure();
      return false;
    });
    // Writes queued behind a failed commit are never settled by lmdb: they end with the failure.
    return Promise.race([written, this.failure]);
  }

  /**
   * Wait until every remembered entry is committed and flushed to disk. A write that failed (a full
   * disk) only loses memo entries: those files are hashed again next time.
   */
  async flush(): Promise<void> {
    try {
      if (!this.failed) await Promise.race([this.db.committed, this.failure]);
      if (!this.failed) await Promise.race([this.db.flushed, this.failure]);
    } catch {
      /* see above */
    }
  }

  async close(): Promise<void> {
    await this.flush();
    // After a failed commit lmdb's close waits for writes that never end; the file is as safe open
    // (every commit is atomic) and the process is about to exit.
    if (!this.failed) await this.db.close();
  }

  // Losing a memo entry only costs a re-hash, so a failed write must not become an unhandled rejection.
  private rememberQuietly(absPath: string, version: FileVersion, hash: string, recordedAtNs: bigint, sha256?: string): void {
    this.remember(absPath, version, hash, recordedAtNs, sha256).catch(() => undefined);
  }
}

let ignoring = false;

/**
 * lmdb rejects the promises of every write queued into a commit that failed, some of them created
 * inside lmdb where no caller can catch them. Those (they carry `commitError`) are the memo's
 * background writes; anything else is left to end the process as before.
 */
function ignoreFailedCommits(): void {
  if (ignoring) return;
  ignoring = true;
  process.on('unhandledRejection', (reason) => {
    const commit = reason as { commitError?: Promise<unknown> } | null;
    if (!commit?.commitError) throw reason;
    commit.commitError.catch(() => undefined);
  });
}

function isAbsence(err: unknown): boolean {
  const code = errnoCode(err);
  return code === 'ENOENT' || code === 'ENOTDIR';
}

function asVersion(v: FileVersion | BigIntStats): FileVersion {
  return typeof (v as BigIntStats).isFile === 'function' ? versionFromStats(v as BigIntStats) : (v as FileVersion);
}

function assertAbsolute(p: string): void {
  if (!path.isAbsolute(p)) throw new TypeError(`HashState needs absolute paths, got ${JSON.stringify(p)}`);
}
