// Content-addressed store of file bodies (DESIGN §4): outputs, output logs and small inputs, named by
// their SHA-256 so identical bytes are kept once, a missing output can be restored without running,
// and an object is checked against its name whenever it is read (a restore computes the digest as it
// copies). Small objects live in one database (small-objects.ts), larger ones as read-only files
// (`cas/ab/<sha256>`); the per-file work runs on worker threads (file-pool.ts, file-ops.ts).
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { CorruptObjectError, errnoCode, InvalidHashError, MissingObjectError } from './errors.js';
import { FilePool } from './file-pool.js';
import { objectFile, SMALL_OBJECT_MAX, TOUCH_EVERY_MS, type ReadFile, type RestoreJob, type RestoreRequest, type StoreLayout } from './file-ops.js';
import { SHA256_RE, sha256Bytes } from './hash.js';
import { SmallObjects } from './small-objects.js';
import type { FileVersion } from './version.js';

export interface RestoreOptions {
  /** Absolute workspace root: the destination must be inside it, reached through real folders only. */
  workspaceRoot: string;
  /** Permission bits for the restored file (default 0o644; masked: restorableMode). */
  mode?: number;
  /** Where the copy is made before it is renamed into place (the workspace's `.prov-make/tmp`). */
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
  /** The object's file; undefined for one in the small-object database. */
  file?: string;
  size: number;
  lastUsedMs: number;
}

/** Temp files older than this are leftovers of a killed process and are removed by gc. */
const STALE_TEMP_MS = 60 * 60 * 1000;

function assertHash(hash: string): void {
  // Hashes become file names: anything but 64 hex digits could name a path outside the store.
  if (!SHA256_RE.test(hash)) throw new InvalidHashError(hash);
}

export class ContentStore {
  readonly dir: string;
  private readonly layout: StoreLayout;
  private readonly pool = FilePool.shared();
  private smallObjects: SmallObjects | null = null;

  /** `dir` may be anywhere (the CLI lets users move it); it is created on first write. */
  constructor(dir: string) {
    this.dir = path.resolve(dir);
    this.layout = { casDir: path.join(this.dir, 'cas'), tempDir: path.join(this.dir, 'tmp') };
  }

  /** `<workspaceRoot>/.prov-make/cache`. */
  static defaultDir(workspaceRoot: string): string {
    return path.join(workspaceRoot, '.prov-make', 'cache');
  }

  /** Opened on first use (the database is created then). */
  private get small(): SmallObjects {
    return (this.smallObjects ??= SmallObjects.open(this.dir));
  }

  /**
   * The database to keep objects in: opened again when its file is gone (a step ran `rm -rf` on the
   * state folder), so what this run keeps is not written to a removed file. Checked per batch of writes.
   */
  private get smallForWrites(): SmallObjects {
    if (this.smallObjects && !fs.existsSync(path.join(this.dir, SmallObjects.FILE))) {
      void this.smallObjects.close().catch(() => undefined);
      this.smallObjects = null;
    }
    return this.small;
  }

  /** The file a large object is kept in: `<dir>/cas/<first two hex digits>/<sha256>`. */
  objectPath(hash: string): string {
    assertHash(hash);
    return objectFile(this.layout.casDir, hash);
  }

  /** Synchronous: called in the engine's decide-what-to-do loop. */
  has(hash: string): boolean {
    return this.small.has(hash) || fs.existsSync(this.objectPath(hash));
  }

  /**
   * Reads workspace files once each for their version and both digests; when `keep`, regular files'
   * bytes are kept from the same reads (so an object's name is the digest of its own bytes).
   */
  async readFiles(paths: string[], keep: boolean): Promise<ReadFile[]> {
    const read = await this.pool.run(this.layout, { op: 'read', paths, keep });
    if (!keep) return read;
    const small: [string, Uint8Array][] = [];
    for (const r of read) {
      if (!r.bytes) continue;
      small.push([r.digests!.sha256, r.bytes]);
      delete r.bytes;
    }
    if (small.length) this.smallForWrites.putMany(small);
    return read;
  }

  /** Makes sure the store holds these files (path, SHA-256 already known): only those it lacks are read. */
  async keepKnown(files: [string, string][]): Promise<void> {
    const missing = files.filter(([, hash]) => !this.has(hash)).map(([file]) => file);
    if (missing.length) await this.readFiles(missing, true);
  }

  /** Store bytes (e.g. a step's captured output); returns their SHA-256. */
  async putBytes(data: Uint8Array | string): Promise<string> {
    const bytes = typeof data === 'string' ? Buffer.from(data) : data;
    const hash = sha256Bytes(bytes);
    if (bytes.length <= SMALL_OBJECT_MAX) {
      this.smallForWrites.putMany([[hash, bytes]]);
      return hash;
    }
    if (fs.existsSync(this.objectPath(hash))) return hash;
    const tmp = this.tempPath();
    try {
      await fs.promises.writeFile(tmp, bytes, { flag: 'wx', mode: 0o444 });
      await this.install(tmp, hash);
      return hash;
    } finally {
      await fs.promises.rm(tmp, { force: true });
    }
  }

  /**
   * Stores bytes as they arrive (a download), hashed while written and never held whole in memory.
   * Kept only when their SHA-256 is `sha256`: returns it, or null (nothing kept) when not.
   */
  async putStream(chunks: AsyncIterable<Uint8Array>, sha256: string): Promise<string | null> {
    assertHash(sha256);
    const tmp = this.tempPath();
    try {
      const digest = createHash('sha256');
      let size = 0;
      const fh = await fs.promises.open(tmp, 'wx', 0o444);
      try {
        for await (const chunk of chunks) {
          digest.update(chunk);
          size += chunk.length;
          await fh.write(chunk);
        }
      } finally {
        await fh.close();
      }
      if (digest.digest('hex') !== sha256) return null;
      if (size <= SMALL_OBJECT_MAX) this.smallForWrites.putMany([[sha256, await fs.promises.readFile(tmp)]]);
      else await this.install(tmp, sha256);
      return sha256;
    } finally {
      await fs.promises.rm(tmp, { force: true });
    }
  }

  /** An object as a Blob an upload streams (a large one is read from its file as it is sent). Throws MissingObjectError. */
  async blob(hash: string): Promise<Blob> {
    const small = this.small.get(hash);
    if (small) return new Blob([new Uint8Array(small)]); // a copy: a Blob takes no view of a shared buffer
    try {
      return await fs.openAsBlob(this.objectPath(hash));
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') throw new MissingObjectError(hash);
      throw err;
    }
  }

  /** A new temp name in the store's temp folder (made if missing). */
  private tempPath(): string {
    fs.mkdirSync(this.layout.tempDir, { recursive: true });
    return path.join(this.layout.tempDir, `${process.pid}-${randomBytes(6).toString('hex')}`);
  }

  /** Renames a finished temp file to the object `sha256` (read-only: a stray writer cannot change it). */
  private async install(tmp: string, sha256: string): Promise<void> {
    const object = this.objectPath(sha256);
    await fs.promises.mkdir(path.dirname(object), { recursive: true });
    await fs.promises.rename(tmp, object);
  }

  /** An object's bytes (small things: logs, scripts), checked against its name. Throws MissingObjectError, CorruptObjectError. */
  async read(hash: string): Promise<Buffer> {
    const data = this.small.get(hash) ?? (await this.readLarge(hash));
    const actual = sha256Bytes(data);
    if (actual !== hash) {
      await this.remove([hash]);
      throw new CorruptObjectError(hash, actual);
    }
    return data;
  }

  private async readLarge(hash: string): Promise<Buffer> {
    let fh: fs.promises.FileHandle;
    try {
      fh = await fs.promises.open(this.objectPath(hash), 'r');
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') throw new MissingObjectError(hash);
      throw err;
    }
    try {
      if (Date.now() - (await fh.stat()).mtimeMs > TOUCH_EVERY_MS) await fh.utimes(new Date(), new Date());
      return await fh.readFile();
    } finally {
      await fh.close();
    }
  }

  /**
   * Copies objects to workspace files, each atomically (temp file beside it, then rename), with its
   * mode, its bytes checked against the object's name on the way; returns the versions written.
   * Throws UnsafePathError when a destination is outside the workspace, has `..`, or sits under a
   * symlinked folder; MissingObjectError; CorruptObjectError (the bad object is removed).
   */
  async restoreFiles(requests: RestoreRequest[], workspaceRoot: string, tempDir?: string): Promise<FileVersion[]> {
    const jobs = requests.map((r): RestoreJob => {
      assertHash(r.sha256);
      const bytes = this.small.get(r.sha256);
      return bytes ? { ...r, bytes } : r;
    });
    this.small.flushUses();
    const outcomes = await this.pool.outcomes(this.layout, { op: 'restore', requests: jobs, root: path.resolve(workspaceRoot), tempDir });
    const corrupt = jobs.filter((j, k) => j.bytes && 'error' in outcomes[k] && outcomes[k].error.code === 'E_CORRUPT_OBJECT').map((j) => j.sha256);
    if (corrupt.length) this.small.remove(corrupt);
    return FilePool.values(outcomes);
  }

  /** One restoreFiles. */
  async restore(hash: string, destAbsPath: string, options: RestoreOptions): Promise<FileVersion> {
    const [version] = await this.restoreFiles([{ sha256: hash, path: destAbsPath, mode: options.mode ?? 0o644 }], options.workspaceRoot, options.tempDir);
    return version;
  }

  /** Remove objects by hash (history pruned them); returns the bytes freed. Missing ones are skipped. */
  async remove(hashes: Iterable<string>): Promise<number> {
    const all = [...hashes];
    let freed = this.small.remove(all);
    for (const hash of all) {
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
    const removed: string[] = [];
    for (const o of this.small.all()) if (sha256Bytes(o.bytes) !== o.sha256) removed.push(o.sha256);
    this.small.remove(removed);
    const files = await this.listFiles();
    const ok = await this.pool.run(this.layout, { op: 'verify', hashes: files.map((o) => o.hash) });
    for (let k = 0; k < files.length; k++) {
      if (ok[k] !== false) continue; // true, or null: removed by a concurrent gc
      await fs.promises.rm(files[k].file!, { force: true, recursive: true });
      removed.push(files[k].hash);
    }
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
    const small: string[] = [];
    let freedBytes = 0;
    for (const o of objects) {
      if (bytes <= maxBytes) break;
      if (keep.has(o.hash)) continue;
      if (o.file) await fs.promises.rm(o.file, { force: true });
      else small.push(o.hash);
      removed.push(o.hash);
      freedBytes += o.size;
      bytes -= o.size;
      count--;
    }
    this.small.remove(small);
    return { removed, freedBytes, objects: count, bytes };
  }

  async close(): Promise<void> {
    await this.smallObjects?.close();
    this.smallObjects = null;
  }

  private async listObjects(): Promise<ObjectInfo[]> {
    const out = await this.listFiles();
    for (const o of this.small.all()) out.push({ hash: o.sha256, size: o.bytes.length, lastUsedMs: o.lastUsedMs });
    return out;
  }

  private async listFiles(): Promise<ObjectInfo[]> {
    let fanout: fs.Dirent[];
    try {
      fanout = await fs.promises.readdir(this.layout.casDir, { withFileTypes: true });
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') return [];
      throw err;
    }
    const out: ObjectInfo[] = [];
    for (const d of fanout) {
      if (!d.isDirectory() || !/^[0-9a-f]{2}$/.test(d.name)) continue;
      const sub = path.join(this.layout.casDir, d.name);
      for (const name of await fs.promises.readdir(sub)) {
        if (!SHA256_RE.test(name) || !name.startsWith(d.name)) continue;
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
      names = await fs.promises.readdir(this.layout.tempDir);
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') return;
      throw err;
    }
    const cutoff = Date.now() - STALE_TEMP_MS;
    for (const name of names) {
      const file = path.join(this.layout.tempDir, name);
      const st = await fs.promises.lstat(file).catch(() => null);
      if (st && st.mtimeMs < cutoff) await fs.promises.rm(file, { force: true, recursive: true });
    }
  }
}
