import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  statSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  ContentStore,
  CorruptObjectError,
  hashBytes,
  hashFile,
  InvalidHashError,
  MissingObjectError,
  NotARegularFileError,
  statVersion,
  UnsafePathError,
} from '../src/index.js';
import { tempDir } from './helpers.js';

function setup() {
  const base = tempDir();
  const ws = join(base, 'ws');
  mkdirSync(ws);
  const store = new ContentStore(ContentStore.defaultDir(ws));
  return { base, ws, store };
}

describe('ContentStore put and restore', () => {
  it('round-trips bytes and mode through the store', async () => {
    const { ws, store } = setup();
    const src = join(ws, 'tool.sh');
    const data = randomBytes(200_000);
    writeFileSync(src, data);
    const hash = await store.put(src);
    expect(hash).toBe(await hashFile(src));
    expect(store.has(hash)).toBe(true);
    expect(store.objectPath(hash)).toBe(join(ws, '.prov-make', 'cache', 'objects', hash.slice(0, 2), hash));
    expect(readFileSync(store.objectPath(hash)).equals(data)).toBe(true); // .equals: toEqual walks bytes slowly

    const dest = join(ws, 'restored', 'deep', 'tool.sh');
    const version = await store.restore(hash, dest, { workspaceRoot: ws, mode: 0o755 });
    expect(readFileSync(dest).equals(data)).toBe(true);
    expect(statSync(dest).mode & 0o7777).toBe(0o755);
    expect(version).toEqual(await statVersion(dest));
    // No temp files left beside the destination or in the store.
    expect(readdirSync(join(ws, 'restored', 'deep'))).toEqual(['tool.sh']);
    expect(readdirSync(join(store.dir, 'tmp'))).toEqual([]);
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

  it('stores once, accepts a known hash, and stores bytes', async () => {
    const { ws, store } = setup();
    writeFileSync(join(ws, 'a'), 'same');
    writeFileSync(join(ws, 'b'), 'same');
    const h1 = await store.put(join(ws, 'a'));
    const h2 = await store.put(join(ws, 'b'), { hash: h1 });
    expect(h2).toBe(h1);
    expect(await store.putBytes('same')).toBe(h1);
    expect(await store.stats()).toEqual({ objects: 1, bytes: 4 });
    expect((await store.read(h1)).toString()).toBe('same');
    await expect(store.put(join(ws))).rejects.toBeInstanceOf(NotARegularFileError);
  });

  it('rejects bad hashes and reports missing objects', async () => {
    const { ws, store } = setup();
    expect(() => store.objectPath('../../etc/passwd')).toThrow(InvalidHashError);
    await expect(store.restore('0123456789abcdef', join(ws, 'x'), { workspaceRoot: ws })).rejects.toBeInstanceOf(
      MissingObjectError,
    );
    await expect(store.read('0123456789abcdef')).rejects.toBeInstanceOf(MissingObjectError);
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
  it('verify drops a corrupted object, and restore refuses one', async () => {
    const { ws, store } = setup();
    const good = await store.putBytes('good content');
    const bad = await store.putBytes('will be corrupted');
    const worse = await store.putBytes('also corrupted');
    for (const h of [bad, worse]) {
      chmodSync(store.objectPath(h), 0o644);
      writeFileSync(store.objectPath(h), 'bit rot!!');
    }
    await expect(store.restore(worse, join(ws, 'w.txt'), { workspaceRoot: ws })).rejects.toBeInstanceOf(
      CorruptObjectError,
    );
    expect(existsSync(join(ws, 'w.txt'))).toBe(false);
    expect(store.has(worse)).toBe(false); // restore removed it

    expect(await store.verify()).toEqual([bad]);
    expect(store.has(bad)).toBe(false);
    expect(store.has(good)).toBe(true);
    expect(await store.verify()).toEqual([]);
  });

  it('gc removes least recently used objects down to the limit and keeps `keep`', async () => {
    const { store } = setup();
    const hashes: string[] = [];
    for (let i = 0; i < 6; i++) hashes.push(await store.putBytes(Buffer.alloc(1000, i)));
    // Use order: hashes[0] oldest ... hashes[5] newest.
    const t0 = Date.now() / 1000 - 1000;
    hashes.forEach((h, i) => utimesSync(store.objectPath(h), t0 + i, t0 + i));
    // Reading hashes[1] makes it the most recently used.
    await store.read(hashes[1]);

    const result = await store.gc(2500, new Set([hashes[0]]));
    expect(result.bytes).toBeLessThanOrEqual(2500);
    expect(result.objects).toBe(2);
    expect(await store.stats()).toEqual({ objects: 2, bytes: 2000 });
    expect(store.has(hashes[0])).toBe(true); // kept although oldest
    expect(store.has(hashes[1])).toBe(true); // recently used
    expect(result.removed.sort()).toEqual([hashes[2], hashes[3], hashes[4], hashes[5]].sort());
    expect(result.freedBytes).toBe(4000);

    // When `keep` alone is over the limit, nothing kept goes.
    const again = await store.gc(0, new Set(hashes));
    expect(again.removed).toEqual([]);
    expect(again.bytes).toBe(2000);
  });

  it('stats of an empty or absent store are zero', async () => {
    const store = new ContentStore(join(tempDir(), 'nothing-here'));
    expect(await store.stats()).toEqual({ objects: 0, bytes: 0 });
    expect(await store.verify()).toEqual([]);
    expect(await store.gc(0)).toEqual({ removed: [], freedBytes: 0, objects: 0, bytes: 0 });
    expect(await hashBytes('')).toMatch(/^[0-9a-f]{16}$/);
  });
});
