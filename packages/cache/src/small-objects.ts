/**
 * Small objects of the content store in one lmdb database (`<cacheDir>/small-objects.lmdb`), keyed
 * by their SHA-256: keeping a file costs a put in a shared transaction rather than a file created
 * and renamed in the store. 100,000 small outputs made the store's own files cost as much as the
 * step that wrote them (~50 us a file here, ~4 us a put; RESULTS.md, issue 12). Each value is the
 * bytes after a 4-byte header: the hour of its last use, for gc's least-recently-used order.
 */
import fs from 'node:fs';
import path from 'node:path';
import { open, type RootDatabase } from 'lmdb';

const HEADER = 4;
/** Free space a new database needs for its first pages (and some headroom). */
const NEW_DATABASE_ROOM = 1024 * 1024;
const HOUR_MS = 3_600_000;

export interface SmallObject {
  sha256: string;
  bytes: Buffer;
  lastUsedMs: number;
}

const key = (sha256: string) => Buffer.from(sha256, 'hex');
const hourNow = () => Math.floor(Date.now() / HOUR_MS);

export class SmallObjects {
  /** The database's file in the cache folder. */
  static readonly FILE = 'small-objects.lmdb';

  /** Objects read since the last flush whose last use must move to now. */
  private touch: string[] = [];

  private constructor(private readonly db: RootDatabase<Buffer, Buffer>) {}

  static open(cacheDir: string): SmallObjects {
    fs.mkdirSync(cacheDir, { recursive: true });
    // lmdb maps a new database whose first pages it could not write (a full disk) and dies of SIGBUS
    // reading them: without room for them, creating it is refused as the full disk it is.
    if (!fs.statSync(path.join(cacheDir, SmallObjects.FILE), { throwIfNoEntry: false })?.size) {
      const room = fs.statfsSync(cacheDir);
      if (room.bavail * room.bsize < NEW_DATABASE_ROOM) throw Object.assign(new Error(`no space left on the device for ${path.join(cacheDir, SmallObjects.FILE)}`), { code: 'ENOSPC' });
    }
    return new SmallObjects(open<Buffer, Buffer>({ path: path.join(cacheDir, SmallObjects.FILE), encoding: 'binary', keyEncoding: 'binary', compression: false }));
  }

  has(sha256: string): boolean {
    return this.db.doesExist(key(sha256));
  }

  /** The bytes of an object (not checked: the caller checks them against their name), counted as a use. */
  get(sha256: string): Buffer | undefined {
    const value = this.db.getBinary(key(sha256));
    if (!value) return undefined;
    if (value.readUInt32LE(0) !== hourNow()) this.touch.push(sha256);
    return value.subarray(HEADER);
  }

  /** Keeps objects not kept yet, in one transaction. */
  putMany(objects: Iterable<[string, Uint8Array]>): void {
    const hour = hourNow();
    this.db.transactionSync(() => {
      for (const [sha256, bytes] of objects) {
        const k = key(sha256);
        if (this.db.doesExist(k)) continue;
        const value = Buffer.allocUnsafe(HEADER + bytes.length);
        value.writeUInt32LE(hour, 0);
        value.set(bytes, HEADER);
        this.db.putSync(k, value);
      }
    });
  }

  /** Writes the uses that get() saw, in one transaction. */
  flushUses(): void {
    if (this.touch.length === 0) return;
    const shas = this.touch;
    this.touch = [];
    const hour = hourNow();
    this.db.transactionSync(() => {
      for (const sha256 of shas) {
        const value = this.db.getBinary(key(sha256));
        if (!value) continue;
        value.writeUInt32LE(hour, 0);
        this.db.putSync(key(sha256), value);
      }
    });
  }

  /** Removes objects; returns the bytes freed. */
  remove(shas: Iterable<string>): number {
    let freed = 0;
    this.db.transactionSync(() => {
      for (const sha256 of shas) {
        const value = this.db.getBinary(key(sha256));
        if (!value) continue;
        freed += value.length - HEADER;
        this.db.removeSync(key(sha256));
      }
    });
    return freed;
  }

  /** Every object (for verify, stats and gc). */
  *all(): Generator<SmallObject> {
    for (const { key: k, value } of this.db.getRange()) {
      yield { sha256: k.toString('hex'), bytes: value.subarray(HEADER), lastUsedMs: value.readUInt32LE(0) * HOUR_MS };
    }
  }

  close(): Promise<void> {
    this.flushUses();
    return this.db.close();
  }
}
