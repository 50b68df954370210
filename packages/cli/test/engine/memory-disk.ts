/**
 * An in-memory workspace for engine unit tests: a Disk (what the engine sees), a BlobStore beside
 * it, and the edits a test makes (write, touch, remove). Times come from the wall clock, as on a
 * real disk, so files written "now" are racily clean; settle() ages every file by an hour.
 */
import { posix } from 'node:path';
import { hashBytes, sha256Bytes, symlinkDigests, versionFromStats, type BlobStore, type Digests, type Disk, type FileStat, type ReadFile } from '@prov-make/cache';

interface Entry {
  kind: 'file' | 'dir' | 'symlink';
  data: Buffer;
  target: string;
  ino: bigint;
  mode: number;
  mtimeNs: bigint;
  ctimeNs: bigint;
  birthNs: bigint;
}

const TYPE = { file: 0o100000, dir: 0o040000, symlink: 0o120000 } as const;
const HOUR_NS = 3_600_000_000_000n;

export class MemoryDisk implements Disk {
  private readonly entries = new Map<string, Entry>();
  private nextIno = 1n;
  /** Paths hashed, in order (a test asserts what was read to decide). */
  readonly hashed: string[] = [];

  constructor(files: Record<string, string> = {}, readonly root = '/ws') {
    this.mkdir(root);
    for (const [p, content] of Object.entries(files)) this.write(p, content);
  }

  abs(p: string): string {
    return posix.resolve(this.root, p);
  }

  private now(): bigint {
    return BigInt(Date.now()) * 1_000_000n;
  }

  private put(abs: string, e: Omit<Entry, 'ino' | 'mtimeNs' | 'ctimeNs' | 'birthNs'>): void {
    this.mkdir(posix.dirname(abs));
    const old = this.entries.get(abs);
    const t = this.now();
    const same = old && old.kind === e.kind;
    this.entries.set(abs, { ...e, ino: same ? old.ino : this.nextIno++, mtimeNs: t, ctimeNs: t, birthNs: same ? old.birthNs : t });
    this.changed(posix.dirname(abs));
  }

  private changed(dir: string): void {
    const d = this.entries.get(dir);
    if (d) d.mtimeNs = d.ctimeNs = this.now();
  }

  // --- what a test (or a fake step) does ---

  write(p: string, content: string | Buffer, mode = 0o644): void {
    this.put(this.abs(p), { kind: 'file', data: Buffer.from(content), target: '', mode });
  }

  read(p: string): string | null {
    const e = this.entries.get(this.abs(p));
    return e?.kind === 'file' ? e.data.toString('utf8') : null;
  }

  exists(p: string): boolean {
    return this.entries.has(this.abs(p));
  }

  remove(p: string): void {
    const abs = this.abs(p);
    for (const k of [...this.entries.keys()]) if (k === abs || k.startsWith(`${abs}/`)) this.entries.delete(k);
    this.changed(posix.dirname(abs));
  }

  /** A new mtime (and ctime), the same bytes. */
  touch(p: string): void {
    const e = this.entries.get(this.abs(p))!;
    e.mtimeNs = e.ctimeNs = this.now();
  }

  /** New permission bits: a new ctime, the same bytes and mtime. */
  chmod(p: string, mode: number): void {
    const e = this.entries.get(this.abs(p))!;
    e.mode = mode;
    e.ctimeNs = this.now();
  }

  /** Bytes added at the end of the same file (same inode), made when it is not there. */
  append(p: string, content: string): void {
    const e = this.entries.get(this.abs(p));
    if (!e) return this.write(p, content);
    e.data = Buffer.concat([e.data, Buffer.from(content)]);
    e.mtimeNs = e.ctimeNs = this.now();
  }

  /** Every file (or just these) an hour older: not racily clean any more. */
  settle(paths?: string[]): void {
    const which = paths ? paths.map((p) => this.entries.get(this.abs(p))!) : this.entries.values();
    for (const e of which) {
      e.mtimeNs -= HOUR_NS;
      e.ctimeNs -= HOUR_NS;
      e.birthNs -= HOUR_NS;
    }
  }

  // --- Disk ---

  lstat(path: string): FileStat | undefined {
    const e = this.entries.get(path);
    if (!e) return undefined;
    const size = BigInt(e.kind === 'file' ? e.data.length : e.kind === 'symlink' ? e.target.length : 4096);
    return {
      dev: 7n,
      ino: e.ino,
      mode: BigInt(TYPE[e.kind] | e.mode),
      size,
      mtimeNs: e.mtimeNs,
      ctimeNs: e.ctimeNs,
      birthtimeNs: e.birthNs,
      isFile: () => e.kind === 'file',
      isDirectory: () => e.kind === 'dir',
      isSymbolicLink: () => e.kind === 'symlink',
    };
  }

  readdir(path: string): string[] | null {
    if (this.entries.get(path)?.kind !== 'dir') return null;
    const prefix = path === '/' ? '/' : `${path}/`;
    const names: string[] = [];
    for (const k of this.entries.keys()) if (k.startsWith(prefix) && !k.slice(prefix.length).includes('/') && k !== path) names.push(k.slice(prefix.length));
    return names;
  }

  readlink(path: string): string {
    return this.entries.get(path)!.target;
  }

  async hash(path: string): Promise<Digests | null> {
    const e = this.entries.get(path);
    if (!e || e.kind === 'dir') return null;
    this.hashed.push(posix.relative(this.root, path));
    if (e.kind === 'symlink') return symlinkDigests(e.target);
    return { xxh64: await hashBytes(e.data), sha256: sha256Bytes(e.data) };
  }

  mkdir(path: string, mode = 0o755): void {
    if (this.entries.get(path)?.kind === 'dir') return;
    if (path !== '/') this.mkdir(posix.dirname(path));
    const t = this.now();
    this.entries.set(path, { kind: 'dir', data: Buffer.alloc(0), target: '', ino: this.nextIno++, mode, mtimeNs: t, ctimeNs: t, birthNs: t });
    this.changed(posix.dirname(path));
  }

  symlink(target: string, path: string): void {
    this.put(path, { kind: 'symlink', data: Buffer.alloc(0), target, mode: 0o777 });
  }

  unlink(path: string): void {
    const prefix = `${path}/`;
    if ([...this.entries.keys()].some((p) => p.startsWith(prefix))) return; // a folder that is not empty
    if (this.entries.delete(path)) this.changed(posix.dirname(path));
  }

  /** Blobs kept beside this disk, by SHA-256 (shared by its clones when passed to them). */
  blobs(store = new Map<string, Buffer>()): BlobStore & { store: Map<string, Buffer> } {
    const readFile = async (abs: string, keep: boolean): Promise<ReadFile> => {
      const e = this.entries.get(abs);
      if (!e) return { version: null, digests: null, stable: true };
      const version = versionFromStats(this.lstat(abs)!);
      if (e.kind === 'dir') return { version, digests: null, stable: true };
      if (e.kind === 'symlink') return { version, digests: await symlinkDigests(e.target), stable: true, target: e.target };
      const digests = { xxh64: await hashBytes(e.data), sha256: sha256Bytes(e.data) };
      if (keep) store.set(digests.sha256, e.data);
      return { version, digests, stable: true };
    };
    return {
      store,
      has: (sha256) => store.has(sha256),
      readFiles: (paths, keep) => Promise.all(paths.map((p) => readFile(p, keep))),
      keep: async (files) => {
        for (const [abs] of files) await readFile(abs, true);
      },
      keepBytes: async (bytes) => {
        const sha256 = sha256Bytes(bytes);
        store.set(sha256, Buffer.from(bytes));
        return sha256;
      },
      keepStream: async (chunks, sha256) => {
        const parts: Uint8Array[] = [];
        for await (const chunk of chunks) parts.push(chunk);
        const data = Buffer.concat(parts);
        if (sha256Bytes(data) !== sha256) return null;
        store.set(sha256, data);
        return sha256;
      },
      read: async (sha256) => store.get(sha256)!,
      blob: async (sha256) => new Blob([new Uint8Array(store.get(sha256)!)]),
      restore: async (files) =>
        files.map(({ sha256, path, mode }) => {
          const data = store.get(sha256);
          if (!data) throw new Error(`no blob ${sha256}`);
          this.put(path, { kind: 'file', data, target: '', mode: mode & 0o777 });
          return versionFromStats(this.lstat(path)!);
        }),
    };
  }
}
