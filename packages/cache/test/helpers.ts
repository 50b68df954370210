/** Test helpers: real temp folders, removed after the file's tests. */
import { mkdtempSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { open } from 'lmdb';
import { afterAll } from 'vitest';

const made: string[] = [];
afterAll(() => {
  for (const d of made) rmSync(d, { recursive: true, force: true });
});

/** A fresh folder; realpath so comparisons do not trip over a symlinked /tmp. */
export function tempDir(prefix = 'pm-cache-'): string {
  const dir = realpathSync(mkdtempSync(join(tmpdir(), prefix)));
  made.push(dir);
  return dir;
}

/**
 * Changes a small object in a content store's database as bit rot would (its bytes, not its name), or
 * only its last use (ms since the epoch). The store must be closed: the database is opened here.
 */
export async function alterSmallObject(storeDir: string, sha256: string, change: { bytes?: string; lastUsedMs?: number }): Promise<void> {
  const db = open<Buffer, Buffer>({ path: join(storeDir, 'small-objects.lmdb'), encoding: 'binary', keyEncoding: 'binary', compression: false });
  const key = Buffer.from(sha256, 'hex');
  const value = db.getBinary(key)!;
  const hour = change.lastUsedMs === undefined ? value.readUInt32LE(0) : Math.floor(change.lastUsedMs / 3_600_000);
  const bytes = change.bytes === undefined ? value.subarray(4) : Buffer.from(change.bytes);
  const next = Buffer.alloc(4 + bytes.length);
  next.writeUInt32LE(hour, 0);
  next.set(bytes, 4);
  await db.put(key, next);
  await db.close();
}
