import { createHash, randomBytes } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  ContentStore,
  CorruptObjectError,
  hashBytes,
  hashFile,
  InvalidHashError,
  MissingObjectError,
  statVersion,
  UnsafePathError,
} from '../src/index.js';
import { alterSmallObject, tempDir } from './helpers.js';

function setup() {
  const base = tempDir();
  const ws = join(base, 'ws');
  mkdirSync(ws);
  const store = new ContentStore(ContentStore.defaultDir(ws));
  return { base, ws, store };
}

/** Bytes this process has read through read(2) and friends so far (all threads: workers included). */
function bytesRead(): number {
  return Number(/^rchar: (\d+)$/m.exec(readFileSync('/proc/self/io', 'utf8'))![1]);
}

describe('ContentStore keeps and restores', () => {
  it('round-trips bytes and mode through the store, by SHA-256, reading each byte once each way', async () => {
    const { ws, store } = setup();
    const src = join(ws, 'tool.sh');
    const data = randomBytes(4 << 20);
    writeFileSync(src, data);
    let before = bytesRead();
    const [read] = await store.readFiles([src], true);
    const readOnKeep = bytesRead() - before;
    const hash = read.digests!.sha256;
    expect(read.digests).toEqual({ xxh64: await hashFile(src), sha256: createHash('sha256').update(data).digest('hex') });
    expect(read.version).toEqual(await statVersion(src));
    expect(read.stable).toBe(true);
    expect(store.has(hash)).toBe(true);
    expect(store.objectPath(hash)).toBe(join(ws, '.prov-make', 'cache', 'cas', hash.slice(0, 2), hash));
    expect(readFileSync(store.objectPath(hash)).equals(data)).toBe(true); // .equals: toEqual walks bytes slowly
    expect(statSync(store.objectPath(hash)).mode & 0o777).toBe(0o444);

    const dest = join(ws, 'restored', 'deep', 'tool.sh');
    before = bytesRead();
    const version = await store.restore(hash, dest, { workspaceRoot: ws, mode: 0o755 });
    const readOnRestore = bytesRead() - before;
    expect(readFileSync(dest).equals(data)).toBe(true);
    expect(statSync(dest).mode & 0o7777).toBe(0o755);
    const now = (await statVersion(dest))!;
    expect({ ...version, ctimeNs: '' }).toEqual({ ...now, ctimeNs: '' }); // the rename into place moves its ctime
    // No temp files left beside the destination or in the store.
    expect(readdirSync(join(ws, 'restored', 'deep'))).toEqual(['tool.sh']);
    expect(readdirSync(join(store.dir, 'tmp'))).toEqual([]);
    // Both digests and the copy come from one read; a restore's check and copy from one read too.
    for (const n of [readOnKeep, readOnRestore]) {
      expect(n).toBeGreaterThanOrEqual(data.length);
      expect(n).toBeLessThan(data.length * 1.25);
    }
  });

  it('replaces an existing file and a symlink at the destination without writing through it', async () => {
    const { base, ws, store } = setup();
    const hash = await store.putBytes('fresh\n');
    writeFileSync(join(ws, 'old.txt'), 'stale');
    await store.restore(hash, join(ws, 'old.txt'), { workspaceRoot: ws });
    expect(readFileSync(join(ws, 'old.txt'), 'utf8')).toBe('fresh\n');

    writeFileSync(join(base, 'outside.txt'), 'untouched');
    symlinkSync(join(base, 'outside.txt'), join(ws, 'link.txt'));
    await store.restore(hash, join(ws, 'link.txt'), { workspaceRoot: ws });
    expect(readFileSync(join(base, 'outside.txt'), 'utf8')).toBe('untouched');
    expect((await statVersion(join(ws, 'link.txt')))!.kind).toBe('file');
  });

  it('stores content once; reads folders, links and missing paths without storing them', async () => {
    const { ws, store } = setup();
    writeFileSync(join(ws, 'a'), 'same');
    writeFileSync(join(ws, 'b'), 'same');
    symlinkSync('a', join(ws, 'link'));
    const [a, b, dir, link, gone] = await store.readFiles([join(ws, 'a'), join(ws, 'b'), ws, join(ws, 'link'), join(ws, 'gone')], true);
    expect(b.digests).toEqual(a.digests);
    expect(await store.putBytes('same')).toBe(a.digests!.sha256);
    expect(await store.stats()).toEqual({ objects: 1, bytes: 4 });
    expect((await store.read(a.digests!.sha256)).toString()).toBe('same');
    expect(dir).toMatchObject({ digests: null, version: { kind: 'dir' } });
    expect(link).toMatchObject({ target: 'a', version: { kind: 'symlink' } });
    expect(link.digests).not.toEqual(a.digests);
    expect(gone).toEqual({ version: null, digests: null, stable: true });
  });

  it('keeps files whose digest is known only when it does not hold them', async () => {
    const { ws, store } = setup();
    writeFileSync(join(ws, 'a'), 'kept once');
    const sha = createHash('sha256').update('kept once').digest('hex');
    await store.keepKnown([[join(ws, 'a'), sha]]);
    expect(store.has(sha)).toBe(true);
    rmSync(join(ws, 'a'));
    await store.keepKnown([[join(ws, 'a'), sha]]); // held: the file is not even opened
    expect(await store.stats()).toEqual({ objects: 1, bytes: 9 });
  });

  it('keeps and restores thousands of files on its workers, all or each refused as one would be', async () => {
    const { ws, store } = setup();
    const paths = Array.from({ length: 600 }, (_, i) => join(ws, 'out', `d${i % 7}`, `f${i}.txt`));
    for (const [i, p] of paths.entries()) {
      mkdirSync(dirname(p), { recursive: true });
      writeFileSync(p, `record ${i % 400}\n`);
    }
    const read = await store.readFiles(paths, true);
    expect(new Set(read.map((r) => r.digests!.sha256)).size).toBe(400);
    expect((await store.stats()).objects).toBe(400);
    rmSync(join(ws, 'out'), { recursive: true });
    const versions = await store.restoreFiles(paths.map((p, i) => ({ path: p, sha256: read[i].digests!.sha256, mode: i % 2 ? 0o600 : 0o755 })), ws);
    for (const [i, p] of paths.entries()) {
      expect(readFileSync(p, 'utf8')).toBe(`record ${i % 400}\n`);
      expect(statSync(p).mode & 0o7777).toBe(i % 2 ? 0o600 : 0o755);
      expect(versions[i].ino).toBe(String(statSync(p).ino));
    }
    const victim = read[300].digests!.sha256;
    await store.close();
    await alterSmallObject(store.dir, victim, { bytes: 'bit rot' });
    await expect(store.restoreFiles(paths.map((p, i) => ({ path: p, sha256: read[i].digests!.sha256, mode: 0o644 })), ws)).rejects.toBeInstanceOf(CorruptObjectError);
    expect(store.has(victim)).toBe(false);
    expect(readFileSync(paths[300], 'utf8')).toBe('record 300\n'); // the file it would have replaced is left alone
  });

  it('rejects bad hashes and reports missing objects', async () => {
    const { ws, store } = setup();
    expect(() => store.objectPath('../../etc/passwd')).toThrow(InvalidHashError);
    expect(() => store.objectPath('0123456789abcdef')).toThrow(InvalidHashError); // an xxh64 names no object
    const missing = '0'.repeat(64);
    await expect(store.restore(missing, join(ws, 'x'), { workspaceRoot: ws })).rejects.toBeInstanceOf(MissingObjectError);
    await expect(store.read(missing)).rejects.toBeInstanceOf(MissingObjectError);
    expect(existsSync(join(ws, 'x'))).toBe(false);
  });
});

describe('ContentStore refuses unsafe destinations', () => {
  it('refuses `..` segments, even ones that normalise back inside', async () => {
    const { ws, store } = setup();
    const hash = await store.putBytes('payload');
    await expect(store.restore(hash, `${ws}/sub/../../escape.txt`, { workspaceRoot: ws })).rejects.toBeInstanceOf(
      UnsafePathError,
    );
    await expect(store.restore(hash, `${ws}/sub/../inside.txt`, { workspaceRoot: ws })).rejects.toThrow(/\.\./);
    expect(existsSync(join(ws, 'inside.txt'))).toBe(false);
    expect(existsSync(join(ws, '..', 'escape.txt'))).toBe(false);
  });

  it('refuses absolute paths outside the workspace, relative paths and the root itself', async () => {
    const { base, ws, store } = setup();
    const hash = await store.putBytes('payload');
    const outside = join(base, 'elsewhere', 'x.txt');
    await expect(store.restore(hash, outside, { workspaceRoot: ws })).rejects.toBeInstanceOf(UnsafePathError);
    await expect(store.restore(hash, `${ws}-sibling/x.txt`, { workspaceRoot: ws })).rejects.toBeInstanceOf(UnsafePathError);
    await expect(store.restore(hash, 'x.txt', { workspaceRoot: ws })).rejects.toBeInstanceOf(UnsafePathError);
    await expect(store.restore(hash, ws, { workspaceRoot: ws })).rejects.toBeInstanceOf(UnsafePathError);
    expect(existsSync(join(base, 'elsewhere'))).toBe(false);
  });

  it('refuses a destination under a symlinked folder, even one pointing inside', async () => {
    const { base, ws, store } = setup();
    const hash = await store.putBytes('payload');
    const outsideDir = join(base, 'outside');
    mkdirSync(outsideDir);
    symlinkSync(outsideDir, join(ws, 'out'));
    const err = await store.restore(hash, join(ws, 'out', 'deeper', 'x.txt'), { workspaceRoot: ws }).catch((e) => e);
    expect(err).toBeInstanceOf(UnsafePathError);
    expect(err.code).toBe('E_UNSAFE_PATH');
    expect(err.message).toMatch(/symlink/);
    expect(readdirSync(outsideDir)).toEqual([]);

    mkdirSync(join(ws, 'real'));
    symlinkSync('real', join(ws, 'alias'));
    await expect(store.restore(hash, join(ws, 'alias', 'x.txt'), { workspaceRoot: ws })).rejects.toBeInstanceOf(
      UnsafePathError,
    );
    expect(readdirSync(join(ws, 'real'))).toEqual([]);
  });
});

describe('ContentStore maintenance', () => {
  it('verify drops corrupted objects, small and large; restore and read refuse one', async () => {
    const { ws, store } = setup();
    const good = await store.putBytes('good content');
    const big = (tag: string) => Buffer.alloc(100_000, tag);
    const texts = ['will be corrupted', 'also corrupted', 'read corrupted'];
    const [bad, worse, worst] = await Promise.all(texts.map((t) => store.putBytes(t)));
    const [badFile, worseFile] = await Promise.all(['x', 'y'].map((t) => store.putBytes(big(t))));
    await store.close();
    for (const h of [bad, worse, worst]) await alterSmallObject(store.dir, h, { bytes: 'bit rot!!' });
    for (const h of [badFile, worseFile]) {
      chmodSync(store.objectPath(h), 0o644);
      writeFileSync(store.objectPath(h), big('z'));
    }
    for (const h of [worse, worseFile]) {
      await expect(store.restore(h, join(ws, 'w.txt'), { workspaceRoot: ws })).rejects.toBeInstanceOf(CorruptObjectError);
      expect(existsSync(join(ws, 'w.txt'))).toBe(false);
      expect(store.has(h)).toBe(false); // restore removed it
    }
    await expect(store.read(worst)).rejects.toBeInstanceOf(CorruptObjectError);
    expect(store.has(worst)).toBe(false);

    expect(await store.verify()).toEqual([bad, badFile].sort());
    expect(store.has(bad) || store.has(badFile)).toBe(false);
    expect(store.has(good)).toBe(true);
    expect(await store.verify()).toEqual([]);
  });

  it('gc removes least recently used objects, small and large, down to the limit and keeps `keep`', async () => {
    const { store } = setup();
    const hashes: string[] = [];
    for (let i = 0; i < 6; i++) hashes.push(await store.putBytes(Buffer.alloc(i % 2 ? 1000 : 100_000, i))); // small and large in turn
    const size = (i: number) => (i % 2 ? 1000 : 100_000);
    // Use order: hashes[0] oldest ... hashes[5] newest, all used longer ago than a use is recorded.
    const t0 = Date.now() - 100 * 3_600_000;
    await store.close();
    for (const [i, h] of hashes.entries()) {
      if (size(i) === 1000) await alterSmallObject(store.dir, h, { lastUsedMs: t0 + i * 3_600_000 });
      else utimesSync(store.objectPath(h), (t0 + i * 3_600_000) / 1000, (t0 + i * 3_600_000) / 1000);
    }
    // Reading hashes[1] makes it the most recently used.
    await store.read(hashes[1]);
    await store.close();

    const result = await store.gc(101_000, new Set([hashes[0]]));
    expect(result.bytes).toBe(101_000);
    expect(await store.stats()).toEqual({ objects: 2, bytes: 101_000 });
    expect(store.has(hashes[0])).toBe(true); // kept although oldest
    expect(store.has(hashes[1])).toBe(true); // recently used
    expect(result.removed.sort()).toEqual([hashes[2], hashes[3], hashes[4], hashes[5]].sort());
    expect(result.freedBytes).toBe(202_000);

    // When `keep` alone is over the limit, nothing kept goes.
    const again = await store.gc(0, new Set(hashes));
    expect(again.removed).toEqual([]);
    expect(again.bytes).toBe(101_000);
  });

  it('stats of an empty or absent store are zero', async () => {
    const store = new ContentStore(join(tempDir(), 'nothing-here'));
    expect(await store.stats()).toEqual({ objects: 0, bytes: 0 });
    expect(await store.verify()).toEqual([]);
    expect(await store.gc(0)).toEqual({ removed: [], freedBytes: 0, objects: 0, bytes: 0 });
    expect(await hashBytes('')).toMatch(/^[0-9a-f]{16}$/);
  });
});
