/**
 * The content store's per-file work, synchronous: a worker's loop runs it (file-pool.ts), and so
 * does the main thread for a handful of files. Each byte is read once. Keeping a workspace file
 * feeds both digests and the copy into the store from the same chunks; restoring an object feeds
 * the check of its SHA-256 and the copy into the workspace. Where the file system clones (FICLONE:
 * btrfs, xfs), a large file's copy is a clone and the one read is of the clone. Never a hard link:
 * a user editing a restored output in place would change the stored object with it. Workspace paths
 * cross to the workers as strings (a name's raw bytes as lone surrogates, byte-path.ts) and become
 * bytes here, at each call; the store's own paths are plain.
 */
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { threadId } from 'node:worker_threads';
import { fsPath, readlinkPath } from '@prov-make/interposer/byte-path';
import { CorruptObjectError, DigestMismatchError, errnoCode, MissingObjectError } from './errors.js';
import { HASH_CHUNK_BYTES, SHA256_RE, type ContentDigest, type Digests, type Hasher } from './hash.js';
import { restorableMode } from './restore-mode.js';
import { sameVersion, versionFromStats, type FileVersion } from './version.js';
import { prepareRestoreFolders, type FolderOps } from './workspace-path.js';

/** Where a content store keeps objects and its temp files (one file system: renames stay atomic). */
export interface StoreLayout {
  /** Objects by SHA-256, fanned out by its first two hex digits (`cas/ab/abcd...`). */
  casDir: string;
  tempDir: string;
}

export function objectFile(casDir: string, sha256: string): string {
  return path.join(casDir, sha256.slice(0, 2), sha256);
}

/** What one read of a workspace file found: its version, digests and (a symlink's) target. */
export interface ReadFile {
  /** fstat of the file that was read (lstat for a symlink); null when it is gone. */
  version: FileVersion | null;
  /** null for a folder or a path that is gone; a symlink's are of its target text, a device's a stand-in. */
  digests: Digests | null;
  /** False when the file changed while it was read: its digests may mix two versions. */
  stable: boolean;
  target?: string;
  /** A small file's bytes, when kept: for the store's database (small-objects.ts), not for callers. */
  bytes?: Uint8Array;
}

/** A blob to write at an absolute workspace path with a mode (its permission bits are restored). */
export interface RestoreRequest {
  sha256: string;
  path: string;
  mode: number;
  /** The short hash a cache entry names too: checked in the same read, so no record keeps a forged one. */
  xxh64?: string;
}

/** A restore as a worker gets it: a small object comes with its bytes, a large one is a file of the store. */
export interface RestoreJob extends RestoreRequest {
  bytes?: Uint8Array;
}

const GONE: ReadFile = { version: null, digests: null, stable: true };
const READ_FLAGS = fs.constants.O_RDONLY | (fs.constants.O_NOFOLLOW ?? 0) | (fs.constants.O_NONBLOCK ?? 0);
// O_EXCL: a temp name someone planted (a symlink) makes the open fail instead of writing through it.
const CREATE_FLAGS = fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL;
const CLONE_FLAGS = fs.constants.COPYFILE_FICLONE_FORCE | fs.constants.COPYFILE_EXCL;
/** Objects up to this size are kept in the store's database (small-objects.ts), larger ones as files of their own. */
export const SMALL_OBJECT_MAX = 64 * 1024;
/** Read-only: a stray writer cannot change an object in place. */
const OBJECT_MODE = 0o444;
/** Last use is an object's mtime (gc removes the least recently used), bumped at most this often. */
export const TOUCH_EVERY_MS = 60 * 60 * 1000;

/** Every folder checked once per batch: restoring a thousand files into one folder checks it once. */
export function checkedFolders(): FolderOps {
  const known = new Set<string>();
  const dir = { isDirectory: () => true, isSymbolicLink: () => false };
  return {
    lstat(p) {
      if (known.has(p)) return dir;
      const st = fs.lstatSync(fsPath(p), { throwIfNoEntry: false });
      if (st?.isDirectory()) known.add(p);
      return st;
    },
    mkdir: (p) => fs.mkdirSync(fsPath(p)),
  };
}

export class FileOps {
  private readonly buf = Buffer.allocUnsafe(HASH_CHUNK_BYTES);
  private readonly tempPrefix = `${process.pid}-${threadId}-${randomBytes(4).toString('hex')}`;
  private seq = 0;
  /** Whether the store's file system clones files: learned from the first large copy. */
  private clones: boolean | undefined;

  constructor(
    private readonly hasher: Hasher,
    private readonly layout: StoreLayout,
    /** The process's umask: a restored mode it would mask off is set again with fchmod. */
    private readonly umask: number,
  ) {}

  /**
   * Reads a workspace file once for its version and digests. When `keep`, a small regular file's bytes
   * come back with them (for the store's database), a large one is copied into the store from the same
   * chunks (unless the store holds its content already).
   */
  read(file: string, keep: boolean): ReadFile {
    let fd: number;
    try {
      fd = fs.openSync(fsPath(file), READ_FLAGS);
    } catch (err) {
      const code = errnoCode(err);
      if (code === 'ELOOP' || code === 'EMLINK') return this.readLink(file, keep);
      if (code === 'ENOENT' || code === 'ENOTDIR') return GONE;
      throw err;
    }
    try {
      const st = fs.fstatSync(fd, { bigint: true });
      const version = versionFromStats(st);
      if (version.kind === 'dir') return { version, digests: null, stable: true };
      if (version.kind === 'other') return { version, digests: this.hasher.special(version.mode), stable: true };
      let bytes: Uint8Array | undefined;
      let digests: Digests;
      if (!keep) digests = this.pump(fd, version.size, this.hasher.begin());
      else if (version.size <= SMALL_OBJECT_MAX) ({ digests, bytes } = this.readSmall(fd, version.size));
      else digests = this.cloneIn(file, version) ?? this.storeVia((out) => this.pump(fd, version.size, this.hasher.begin(), out));
      const after = fs.fstatSync(fd, { bigint: true });
      const read: ReadFile = { version, digests, stable: sameVersion(version, versionFromStats(after)) && after.ctimeNs === st.ctimeNs };
      if (bytes) read.bytes = bytes;
      return read;
    } finally {
      fs.closeSync(fd);
    }
  }

  /**
   * Writes object `req.sha256` at `req.path` (folders on the way checked: no symlinked one, nothing
   * outside `root`), checking its digest on the way; returns the version written. Atomic: a temp file
   * beside the destination, renamed over it (never writing through a symlink there).
   */
  restore(req: RestoreJob, root: string, folders: FolderOps = checkedFolders(), tempDir?: string): FileVersion {
    assertSha256(req.sha256);
    const dest = prepareRestoreFolders(folders, root, req.path);
    const tmp = this.restoreTemp(dest, tempDir);
    if (req.bytes) return this.writeVerified(req, dest, tmp, (out) => this.written(out, req.bytes!, this.restoreDigest(req)));
    const object = objectFile(this.layout.casDir, req.sha256);
    let src: number;
    try {
      src = fs.openSync(object, fs.constants.O_RDONLY);
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') throw new MissingObjectError(req.sha256);
      throw err;
    }
    try {
      const st = fs.fstatSync(src);
      if (Date.now() - st.mtimeMs > TOUCH_EVERY_MS) fs.futimesSync(src, new Date(), new Date());
      return this.writeVerified(req, dest, tmp, (out) => this.pump(src, st.size, this.restoreDigest(req), out), { object, size: st.size });
    } finally {
      fs.closeSync(src);
    }
  }

  /** Whether object `sha256` still hashes to its name (null: it is gone). */
  verify(sha256: string): boolean | null {
    let fd: number;
    try {
      fd = fs.openSync(objectFile(this.layout.casDir, sha256), READ_FLAGS);
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') return null;
      return false; // unreadable (EIO, a symlink planted in the store): as useless as corrupt
    }
    try {
      return this.pump(fd, fs.fstatSync(fd).size, this.hasher.begin()).sha256 === sha256;
    } catch {
      return false;
    } finally {
      fs.closeSync(fd);
    }
  }

  /**
   * Where a restore to `dest` is copied first: in `tempDir` (made if missing), so a step listing or
   * copying the destination's folder never meets a half-restored file; beside `dest` without one.
   */
  private restoreTemp(dest: string, tempDir: string | undefined): string {
    if (!tempDir) return this.besideTemp(dest);
    fs.mkdirSync(tempDir, { recursive: true });
    return path.join(tempDir, `restore-${this.tempPrefix}-${this.seq++}`);
  }

  private besideTemp(dest: string): string {
    return path.join(path.dirname(dest), `.${path.basename(dest)}.prov-make-${this.tempPrefix}-${this.seq++}.tmp`);
  }

  /**
   * Renames a restored copy (of `version`) into place; one made on another device is copied beside
   * it first. The version at `dest`.
   */
  private renameInto(tmp: string, dest: string, version: FileVersion): FileVersion {
    try {
      fs.renameSync(fsPath(tmp), fsPath(dest)); // replaces a symlink at dest, never writes through it
      return version;
    } catch (err) {
      if (errnoCode(err) !== 'EXDEV') throw err;
      const beside = this.besideTemp(dest);
      try {
        fs.copyFileSync(fsPath(tmp), fsPath(beside), fs.constants.COPYFILE_EXCL);
        fs.renameSync(fsPath(beside), fsPath(dest));
      } finally {
        fs.rmSync(fsPath(beside), { force: true });
      }
      return versionFromStats(fs.lstatSync(fsPath(dest), { bigint: true }));
    }
  }

  /** What a restore checks: the object's name (SHA-256), and the short hash its request names too. */
  private restoreDigest(req: RestoreRequest): ContentDigest {
    return req.xxh64 === undefined ? sha256Only() : this.hasher.begin();
  }

  /** A new, unique temp name in the store. */
  private tempFile(): string {
    return path.join(this.layout.tempDir, `${this.tempPrefix}-${this.seq++}`);
  }

  /** Renames a finished temp file to the object `sha256` (making its fan-out folder the first time). */
  private install(tmp: string, sha256: string): void {
    const object = objectFile(this.layout.casDir, sha256);
    try {
      fs.renameSync(tmp, object);
    } catch (err) {
      if (errnoCode(err) !== 'ENOENT') throw err;
      fs.mkdirSync(path.dirname(object), { recursive: true });
      fs.renameSync(tmp, object);
    }
  }

  /** Creates a temp file in the store (making the temp folder the first time). */
  private createTemp(): { tmp: string; fd: number } {
    const tmp = this.tempFile();
    try {
      return { tmp, fd: fs.openSync(tmp, CREATE_FLAGS, OBJECT_MODE) };
    } catch (err) {
      if (errnoCode(err) !== 'ENOENT') throw err;
      fs.mkdirSync(this.layout.tempDir, { recursive: true });
      return { tmp, fd: fs.openSync(tmp, CREATE_FLAGS, OBJECT_MODE) };
    }
  }

  private readLink(file: string, keep: boolean): ReadFile {
    const before = fs.lstatSync(fsPath(file), { bigint: true, throwIfNoEntry: false });
    if (!before) return GONE;
    if (!before.isSymbolicLink()) return this.read(file, keep); // replaced meanwhile: read what is there
    const target = readlinkPath(file);
    const version = versionFromStats(before);
    const after = fs.lstatSync(fsPath(file), { bigint: true, throwIfNoEntry: false });
    return { version, digests: this.hasher.symlink(target), stable: !!after && sameVersion(version, versionFromStats(after)), target };
  }

  /** Both digests of an open file's content, read in chunks; with `out`, each chunk is written there too. */
  private pump(fd: number, size: number, digest: ContentDigest, out?: number): Digests {
    let total = 0;
    for (;;) {
      const n = fs.readSync(fd, this.buf, 0, this.buf.length, null);
      if (n === 0) break;
      const chunk = this.buf.subarray(0, n);
      digest.update(chunk);
      if (out !== undefined) writeAll(out, chunk);
      total += n;
      // A regular file is read to the size fstat gave: a file that grew meanwhile is not stable.
      if (total >= size && n < this.buf.length) break;
    }
    return digest.digests();
  }

  /** A small file's bytes (one read, to the size fstat gave) and their digests. */
  private readSmall(fd: number, size: number): { digests: Digests; bytes: Uint8Array } {
    let n = 0;
    for (;;) {
      const r = fs.readSync(fd, this.buf, n, this.buf.length - n, null);
      n += r;
      if (r === 0 || n >= size || n === this.buf.length) break;
    }
    const bytes = Buffer.from(this.buf.subarray(0, n));
    return { digests: this.hasher.digests(bytes), bytes };
  }

  /** A temp file in the store, filled by `fill`, installed as the object its digests name. */
  private storeVia(fill: (out: number) => Digests): Digests {
    const { tmp, fd: out } = this.createTemp();
    let open = true;
    try {
      const digests = fill(out);
      fs.closeSync(out);
      open = false;
      this.install(tmp, digests.sha256);
      return digests;
    } catch (err) {
      if (open) closeQuietly(out);
      fs.rmSync(tmp, { force: true });
      throw err;
    }
  }

  /**
   * A large file cloned into the store, then hashed from the clone (the object's name is the digest of
   * its own bytes), or null where the file system does not clone. The clone is by name, so it is
   * used only when the name still leads to the file that was opened.
   */
  private cloneIn(file: string, version: FileVersion): Digests | null {
    if (this.clones === false) return null;
    const tmp = this.tempFile();
    if (!this.tryClone(file, tmp)) return null;
    try {
      const now = fs.lstatSync(fsPath(file), { bigint: true, throwIfNoEntry: false });
      if (!now || !sameVersion(version, versionFromStats(now))) {
        fs.rmSync(tmp, { force: true });
        return null;
      }
      const fd = fs.openSync(tmp, fs.constants.O_RDONLY);
      let digests: Digests;
      try {
        digests = this.pump(fd, version.size, this.hasher.begin());
      } finally {
        fs.closeSync(fd);
      }
      fs.chmodSync(tmp, OBJECT_MODE);
      this.install(tmp, digests.sha256);
      return digests;
    } catch (err) {
      fs.rmSync(tmp, { force: true });
      throw err;
    }
  }

  /** copyFile as a clone only; false (and never again) where the file system cannot clone. */
  private tryClone(from: string, to: string): boolean {
    try {
      fs.copyFileSync(fsPath(from), fsPath(to), CLONE_FLAGS);
      this.clones = true;
      return true;
    } catch (err) {
      const code = errnoCode(err);
      if (code === 'ENOENT' && !fs.existsSync(fsPath(path.dirname(to)))) {
        fs.mkdirSync(fsPath(path.dirname(to)), { recursive: true });
        return this.tryClone(from, to);
      }
      if (code === 'ENOTSUP' || code === 'EOPNOTSUPP' || code === 'EXDEV' || code === 'EINVAL' || code === 'ENOSYS' || code === 'ENOTTY') {
        this.clones = false;
        return false;
      }
      throw err;
    }
  }

  /** Writes `bytes` to `out`, feeding `digest`; its digests. */
  private written(out: number, bytes: Uint8Array, digest: ContentDigest): Digests {
    digest.update(bytes);
    writeAll(out, bytes);
    return digest.digests();
  }

  /**
   * A temp file `tmp` filled by `fill` (or a clone of a large `object`, read to check it), checked
   * against the object's name, given the mode (masked: restorableMode), renamed to `dest`.
   */
  private writeVerified(req: RestoreRequest, dest: string, tmp: string, fill: (out: number) => Digests, large?: { object: string; size: number }): FileVersion {
    const mode = restorableMode(req.mode);
    const cloned = !!large && large.size > this.buf.length && this.clones !== false && this.tryClone(large.object, tmp);
    let out: number;
    try {
      out = cloned ? fs.openSync(fsPath(tmp), fs.constants.O_RDONLY) : fs.openSync(fsPath(tmp), CREATE_FLAGS, mode);
    } catch (err) {
      if (cloned) fs.rmSync(fsPath(tmp), { force: true });
      throw err; // not created here (EEXIST): not ours to remove
    }
    let open = true;
    try {
      const { sha256, xxh64 } = cloned ? this.pump(out, large!.size, this.restoreDigest(req)) : fill(out);
      if (sha256 !== req.sha256) {
        if (large) fs.rmSync(large.object, { force: true });
        throw new CorruptObjectError(req.sha256, sha256);
      }
      if (req.xxh64 !== undefined && xxh64 !== req.xxh64) throw new DigestMismatchError(req.sha256, req.xxh64);
      if (cloned || (mode & ~this.umask) !== mode) fs.fchmodSync(out, mode);
      const version = versionFromStats(fs.fstatSync(out, { bigint: true }));
      fs.closeSync(out);
      open = false;
      return this.renameInto(tmp, dest, version);
    } catch (err) {
      if (open) closeQuietly(out);
      fs.rmSync(fsPath(tmp), { force: true });
      throw err;
    }
  }
}

/** A ContentDigest feeding SHA-256 alone (a restore checks the object's name, nothing else). */
function sha256Only(): ContentDigest {
  const digest = createHash('sha256');
  return {
    update: (chunk) => void digest.update(chunk),
    digests: () => ({ xxh64: '', sha256: digest.digest('hex') }),
  };
}

function writeAll(fd: number, bytes: Uint8Array): void {
  for (let at = 0; at < bytes.length; ) at += fs.writeSync(fd, bytes, at, bytes.length - at);
}

/** Closes a descriptor on an error path (where the error being thrown matters more). */
function closeQuietly(fd: number): void {
  try {
    fs.closeSync(fd);
  } catch {
    // the first error is the one to report
  }
}

function assertSha256(hash: string): void {
  // Hashes become file names: anything but 64 hex digits could name a path outside the store.
  if (!SHA256_RE.test(hash)) throw new TypeError(`not a SHA-256: ${JSON.stringify(hash)}`);
}
