// Content-addressed store of file bodies (DESIGN §4): outputs, output logs and small inputs, named by
// their xxh64 so identical bytes are kept once and a missing output can be restored without running.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { fsPath } from '@prov-make/interposer/byte-path';
import path from 'node:path';
import { CorruptObjectError, DigestMismatchError, errnoCode, InvalidHashError, MissingObjectError, NotARegularFileError } from './errors.js';
import { digestFileVersioned, hashBytes, hashFile, isContentHash, newDigester } from './hash.js';
import { restorableMode } from './restore-mode.js';
import { versionFromStats, type FileVersion } from './version.js';
import { prepareRestorePath } from './workspace-path.js';

export interface PutOptions {
  /**
   * The content hash if already known (e.g. from HashState for this very version): skips reading the
   * file and makes a put of something already stored a single syscall. It is trusted, not re-checked.
   */
  hash?: string;
}

export interface RestoreOptions {
  /** Absolute workspace root: the destination must be inside it, reached through real folders only. */
  workspaceRoot: string;
  /** Permission bits for the restored file (default 0o644). */
  mode?: number;
  /**
   * Re-hash the copy before it replaces the destination (default true). A restore is where corrupt
   * bytes would leak into the workspace, and objects are not fsynced when stored, so we check here.
   */
  verify?: boolean;
  /**
   * The SHA-256 the bytes must have (a cache entry names both digests): an object is found by its
   * short local hash, which a forged entry could name to restore another file's bytes.
   */
  sha256?: string;
  /**
   * Where the copy is made before it is renamed into place (the workspace's `.prov-make/tmp`), so
   * that no step sees a half-restored file; beside the destination when it is on another device.
   */
  tempDir?: string;
}

export interface StoreStats {
  objects: number;
  bytes: number;
}

export interface GcResult {
  removed: string[];
  freedBytes: number;
  /** What is left. */
  objects: number;
  bytes: number;
}

interface ObjectInfo {
  hash: string;
  file: string;
  size: number;
  lastUsedMs: number;
}

// Copy-on-write where the filesystem supports it (btrfs, xfs, APFS), a plain copy elsewhere.
// EXCL: a temp name someone planted (e.g. as a symlink) makes the copy fail instead of writing through it.
const COPY_FLAGS = fs.constants.COPYFILE_FICLONE | fs.constants.COPYFILE_EXCL;

/** Temp files older than this are leftovers of a killed process and are removed by gc. */
const STALE_TEMP_MS = 60 * 60 * 1000;

const VERIFY_CONCURRENCY = 4;

function tempSuffix(): string {
  return `${process.pid}-${randomBytes(6).toString('hex')}`;
}

/**
 * A free temp name for a restore to `dest`: in `tempDir` (made if missing) when given, so a step
 * listing or copying the destination's folder never meets it; beside `dest` otherwise.
 */
async function restoreTemp(dest: string, tempDir: string | undefined): Promise<string> {
  if (!tempDir) return path.join(path.dirname(dest), `.${path.basename(dest)}.prov-make-${tempSuffix()}.tmp`);
  await fs.promises.mkdir(tempDir, { recursive: true });
  return path.join(tempDir, `restore-${tempSuffix()}`);
}

/** Renames a restored copy into place; one made on another device is copied beside it first. */
async function renameInto(tmp: string, dest: string): Promise<void> {
  try {
    await fs.promises.rename(fsPath(tmp), fsPath(dest));
  } catch (err) {
    if (errnoCode(err) !== 'EXDEV') throw err;
    const beside = path.join(path.dirname(dest), `.${path.basename(dest)}.prov-make-${tempSuffix()}.tmp`);
    try {
      await fs.promises.copyFile(fsPath(tmp), fsPath(beside), COPY_FLAGS);
      await fs.promises.rename(fsPath(beside), fsPath(dest));
    } finally {
      await fs.promises.rm(fsPath(beside), { force: true });
    }
  }
}

function assertHash(hash: string): void {
  // Hashes become file names: anything but 16 hex digits could name a path outside the store.
  if (!isContentHash(hash)) throw new InvalidHashError(hash);
}

export class ContentStore {
  readonly dir: string;
  private readonly objectsDir: string;
  private readonly tempDir: string;

  /** `dir` may be anywhere (the CLI lets users move it); it is created on first write. */
  constructor(dir: string) {
    this.dir = path.resolve(dir);
    this.objectsDir = path.join(this.dir, 'objects');
    this.tempDir = path.join(this.dir, 'tmp');
  }

  /** `<workspaceRoot>/.prov-make/cache`. */
  static defaultDir(workspaceRoot: string): string {
    return path.join(workspaceRoot, '.prov-make', 'cache');
  }

  /** `<dir>/objects/<first two hex digits>/<hash>`: fan-out keeps directories small. */
  objectPath(hash: string): string {
    assertHash(hash);
    return path.join(this.objectsDir, hash.slice(0, 2), hash);
  }

  /** Synchronous: one stat, called in the engine's decide-what-to-do loop. */
  has(hash: string): boolean {
    return fs.existsSync(this.objectPath(hash));
  }

  /**
   * Store a regular file; returns its hash. Without a known hash the file is copied first and the copy
   * hashed, so an object's name always matches its bytes even if the source changes meanwhile.
   */
  async put(srcPath: string, options: PutOptions = {}): Promise<string> {
    if (options.hash !== undefined) {
      assertHash(options.hash);
      if (await this.touch(options.hash)) return options.hash;
    }
    const st = await fs.promises.lstat(fsPath(srcPath));
    if (!st.isFile()) throw new NotARegularFileError(srcPath, st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'symlink' : 'other');
    const tmp = await this.tempPath();
    try {
      await fs.promises.copyFile(fsPath(srcPath), tmp, COPY_FLAGS);
      const hash = options.hash ?? (await hashFile(tmp));
      await this.install(tmp, hash);
      return hash;
    } finally {
      await fs.promises.rm(tmp, { force: true });
    }
  }

  /** Store bytes (e.g. a step's captured output); returns their hash. */
  async putBytes(data: Uint8Array | string): Promise<string> {
    const hash = await hashBytes(data);
    if (await this.touch(hash)) return hash;
    const tmp = await this.tempPath();
    try {
      await fs.promises.writeFile(tmp, data, { flag: 'wx' });
      await this.install(tmp, hash);
      return hash;
    } finally {
      await fs.promises.rm(tmp, { force: true });
    }
  }

  /**
   * Store bytes as they arrive (a download), hashed while written and never held whole in memory.
   * Kept only when their SHA-256 is `sha256`: returns their hash, or null (nothing kept) when not.
   */
  async putStream(chunks: AsyncIterable<Uint8Array>, sha256: string): Promise<string | null> {
    const tmp = await this.tempPath();
    try {
      const digester = await newDigester();
      const fh = await fs.promises.open(tmp, 'wx');
      try {
        for await (const chunk of chunks) {
          digester.update(chunk);
          await fh.write(chunk);
        }
      } finally {
        await fh.close();
      }
      const digests = digester.digest();
      if (digests.sha256 !== sha256) return null;
      await this.install(tmp, digests.xxh64);
      return digests.xxh64;
    } finally {
      await fs.promises.rm(tmp, { force: true });
    }
  }

  /** An object as a file-backed Blob (an upload streams it; it is never read whole). Throws MissingObjectError. */
  async blob(hash: string): Promise<Blob> {
    try {
      return await fs.openAsBlob(this.objectPath(hash));
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') throw new MissingObjectError(hash);
      throw err;
    }
  }

  /** An object's bytes (small things: logs, scripts). Throws MissingObjectError. */
  async read(hash: string): Promise<Buffer> {
    try {
      const data = await fs.promises.readFile(this.objectPath(hash));
      await this.touch(hash);
      return data;
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') throw new MissingObjectError(hash);
      throw err;
    }
  }

  /**
   * Copy an object to `destAbsPath` atomically (a temp file, then rename) with `mode` (masked:
   * restorableMode), and return the restored file's version (record it with HashState.remember).
   * Throws UnsafePathError when the destination is outside the workspace, has `..`, or sits under a
   * symlinked folder; MissingObjectError; CorruptObjectError (the bad object is removed) or
   * DigestMismatchError (the object is not the content `options.sha256` names).
   */
  async restore(hash: string, destAbsPath: string, options: RestoreOptions): Promise<FileVersion> {
    const object = this.objectPath(hash);
    // Checked first so a missing object does not leave freshly created empty folders behind.
    if (!this.has(hash)) throw new MissingObjectError(hash);
    const dest = await prepareRestorePath(options.workspaceRoot, destAbsPath);
    const tmp = await restoreTemp(dest, options.tempDir);
    try {
      try {
        await fs.promises.copyFile(object, fsPath(tmp), COPY_FLAGS);
      } catch (err) {
        if (errnoCode(err) === 'ENOENT' && !this.has(hash)) throw new MissingObjectError(hash);
        throw err;
      }
      if ((options.verify ?? true) || options.sha256) await this.verifyCopy(tmp, hash, options.sha256);
      await fs.promises.chmod(fsPath(tmp), restorableMode(options.mode ?? 0o644));
      await renameInto(tmp, dest); // rename replaces a symlink at dest, never writes through it
    } finally {
      await fs.promises.rm(fsPath(tmp), { force: true });
    }
    await this.touch(hash);
    return versionFromStats(await fs.promises.lstat(fsPath(dest), { bigint: true }));
  }

  private async verifyCopy(copy: string, hash: string, sha256: string | undefined): Promise<void> {
    const actual = sha256 ? (await digestFileVersioned(copy)).digests : { xxh64: await hashFile(copy), sha256: undefined };
    if (actual.xxh64 !== hash) {
      await fs.promises.rm(this.objectPath(hash), { force: true });
      throw new CorruptObjectError(hash, actual.xxh64);
    }
    if (sha256 && actual.sha256 !== sha256) throw new DigestMismatchError(hash, sha256);
  }

  /** Remove objects by hash (history pruned them); returns the bytes freed. Missing ones are skipped. */
  async remove(hashes: Iterable<string>): Promise<number> {
    let freed = 0;
    for (const hash of hashes) {
      const st = await fs.promises.lstat(this.objectPath(hash)).catch(() => null);
      if (!st) continue;
      await fs.promises.rm(this.objectPath(hash), { force: true });
      freed += st.size;
    }
    return freed;
  }

  async stats(): Promise<StoreStats> {
    let objects = 0;
    let bytes = 0;
    for (const o of await this.listObjects()) {
      objects++;
      bytes += o.size;
    }
    return { objects, bytes };
  }

  /** Re-hash every object and delete those whose bytes no longer match their name. Returns their hashes. */
  async verify(): Promise<string[]> {
    const objects = await this.listObjects();
    const removed: string[] = [];
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < objects.length) {
        const o = objects[next++];
        let ok: boolean;
        try {
          ok = (await hashFile(o.file)) === o.hash;
        } catch (err) {
          if (errnoCode(err) === 'ENOENT') continue; // removed by a concurrent gc
          ok = false; // unreadable (EIO, not a regular file): as useless as corrupt
        }
        if (!ok) {
          await fs.promises.rm(o.file, { force: true, recursive: true });
          removed.push(o.hash);
        }
      }
    };
    await Promise.all(Array.from({ length: VERIFY_CONCURRENCY }, worker));
    return removed.sort();
  }

  /**
   * Remove least-recently-used objects until the store holds at most `maxBytes`, never removing hashes
   * in `keep` (so the result may stay above the limit when `keep` alone exceeds it). Also removes temp
   * files left by killed processes.
   */
  async gc(maxBytes: number, keep: ReadonlySet<string> = new Set()): Promise<GcResult> {
    await this.removeStaleTemps();
    const objects = (await this.listObjects()).sort((a, b) => a.lastUsedMs - b.lastUsedMs);
    let bytes = objects.reduce((sum, o) => sum + o.size, 0);
    let count = objects.length;
    const removed: string[] = [];
    let freedBytes = 0;
    for (const o of objects) {
      if (bytes <= maxBytes) break;
      if (keep.has(o.hash)) continue;
      await fs.promises.rm(o.file, { force: true });
      removed.push(o.hash);
      freedBytes += o.size;
      bytes -= o.size;
      count--;
    }
    return { removed, freedBytes, objects: count, bytes };
  }

  // Last use is the object's mtime, bumped on every put/read/restore. Not atime: noatime/relatime mounts
  // make it unreliable, and verify() reading every object would make them all look freshly used.
  private async touch(hash: string): Promise<boolean> {
    const now = new Date();
    try {
      await fs.promises.utimes(this.objectPath(hash), now, now);
      return true;
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') return false;
      throw err;
    }
  }

  private async tempPath(): Promise<string> {
    // Temps live inside the store so the final rename never crosses filesystems.
    await fs.promises.mkdir(this.tempDir, { recursive: true });
    return path.join(this.tempDir, tempSuffix());
  }

  private async install(tmp: string, hash: string): Promise<void> {
    const object = this.objectPath(hash);
    await fs.promises.chmod(tmp, 0o444); // read-only: a stray writer cannot change an object in place
    await fs.promises.mkdir(path.dirname(object), { recursive: true });
    // Atomic: readers see the old object or the complete new one. Replacing an existing object with
    // the same bytes is harmless and also counts as a use.
    await fs.promises.rename(tmp, object);
  }

  private async listObjects(): Promise<ObjectInfo[]> {
    let fanout: fs.Dirent[];
    try {
      fanout = await fs.promises.readdir(this.objectsDir, { withFileTypes: true });
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') return [];
      throw err;
    }
    const out: ObjectInfo[] = [];
    for (const d of fanout) {
      if (!d.isDirectory() || !/^[0-9a-f]{2}$/.test(d.name)) continue;
      const sub = path.join(this.objectsDir, d.name);
      for (const name of await fs.promises.readdir(sub)) {
        if (!isContentHash(name) || !name.startsWith(d.name)) continue;
        const file = path.join(sub, name);
        try {
          const st = await fs.promises.lstat(file);
          out.push({ hash: name, file, size: st.size, lastUsedMs: st.mtimeMs });
        } catch (err) {
          if (errnoCode(err) !== 'ENOENT') throw err;
        }
      }
    }
    return out;
  }

  private async removeStaleTemps(): Promise<void> {
    let names: string[];
    try {
      names = await fs.promises.readdir(this.tempDir);
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') return;
      throw err;
    }
    const cutoff = Date.now() - STALE_TEMP_MS;
    for (const name of names) {
      const file = path.join(this.tempDir, name);
      const st = await fs.promises.lstat(file).catch(() => null);
      if (st && st.mtimeMs < cutoff) await fs.promises.rm(file, { force: true, recursive: true });
    }
  }
}
