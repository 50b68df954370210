import { mkdirSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  describeVersion,
  formatBytes,
  isRacilyClean,
  nowNs,
  sameVersion,
  statVersion,
  statVersionSync,
  type FileVersion,
} from '../src/index.js';
import { tempDir } from './helpers.js';

describe('statVersion', () => {
  it('describes files, folders and symlinks, async and sync alike', async () => {
    const dir = tempDir();
    const file = join(dir, 'a.txt');
    writeFileSync(file, 'hello');
    mkdirSync(join(dir, 'sub'));
    symlinkSync('a.txt', join(dir, 'link'));

    const v = await statVersion(file);
    expect(v).toMatchObject({ size: 5, kind: 'file' });
    expect(v!.ino).toMatch(/^\d+$/);
    expect(v!.mtimeNs).toMatch(/^\d+$/);
    expect(statVersionSync(file)).toEqual(v);
    expect((await statVersion(join(dir, 'sub')))!.kind).toBe('dir');
    expect((await statVersion(join(dir, 'link')))!.kind).toBe('symlink');
    expect(statVersionSync(join(dir, 'link'), { followSymlinks: true })).toEqual(v);
  });

  it('returns null for missing paths and paths under a file (ENOENT, ENOTDIR)', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'f'), 'x');
    symlinkSync('nowhere', join(dir, 'dangling'));
    expect(await statVersion(join(dir, 'missing'))).toBeNull();
    expect(await statVersion(join(dir, 'f', 'below'))).toBeNull();
    expect(statVersionSync(join(dir, 'missing'))).toBeNull();
    expect(statVersionSync(join(dir, 'f', 'below'))).toBeNull();
    expect(await statVersion(join(dir, 'dangling'), { followSymlinks: true })).toBeNull();
    expect((await statVersion(join(dir, 'dangling')))!.kind).toBe('symlink');
  });
});

describe('sameVersion and racy clean', () => {
  const base: FileVersion = {
    dev: 1, ino: '2', mtimeNs: '1700000000000000000', ctimeNs: '1700000000000000000', size: 3, mode: 0o100644, kind: 'file',
  };

  it('compares the fast tuple only, ctime included (a rewrite with its mtime put back changes it)', () => {
    expect(sameVersion(base, { ...base, mode: 0o100755 })).toBe(true);
    expect(sameVersion(base, { ...base, ctimeNs: '1700000000000000001' })).toBe(false);
    expect(sameVersion(base, { ...base, mtimeNs: '1700000000000000001' })).toBe(false);
    expect(sameVersion(base, { ...base, size: 4 })).toBe(false);
    expect(sameVersion(base, { ...base, ino: '3' })).toBe(false);
    expect(sameVersion(base, { ...base, dev: 9 })).toBe(false);
    expect(sameVersion(base, null)).toBe(false);
  });

  it('flags mtimes within 2 s of (or after) the recording moment', () => {
    const mtime = BigInt(base.mtimeNs);
    expect(isRacilyClean(base, mtime + 10_000_000_000n)).toBe(false); // recorded 10 s later
    expect(isRacilyClean(base, mtime + 2_000_000_001n)).toBe(false);
    expect(isRacilyClean(base, mtime + 1_500_000_000n)).toBe(true); // same granule on a coarse fs
    expect(isRacilyClean(base, mtime)).toBe(true);
    expect(isRacilyClean(base, mtime - 1_000_000_000n)).toBe(true); // mtime in the recorder's future
    expect(isRacilyClean(base, mtime + 1_500_000_000n, 1_000_000_000n)).toBe(false);
    // an old mtime put back on a file changed just now: its ctime is recent
    expect(isRacilyClean({ ...base, ctimeNs: String(mtime + 9_000_000_000n) }, mtime + 10_000_000_000n)).toBe(true);
  });

  it('nowNs is the wall clock in ns', () => {
    const ms = Number(BigInt(nowNs()) / 1_000_000n);
    expect(Math.abs(ms - Date.now())).toBeLessThan(1000);
  });
});

describe('describeVersion', () => {
  it('prints size and local modification time', async () => {
    const dir = tempDir();
    const file = join(dir, 'data.bin');
    writeFileSync(file, Buffer.alloc(10_200));
    const when = new Date(2026, 10, 22, 23, 14, 5); // local time
    utimesSync(file, when, when);
    expect(describeVersion((await statVersion(file))!)).toBe('10.2 kB, modified 2026-11-22 23:14:05');
    expect(describeVersion((await statVersion(dir))!)).toMatch(/^directory, modified \d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
  });

  it('formats sizes in SI units', () => {
    expect(formatBytes(0)).toBe('0 B');
    expect(formatBytes(999)).toBe('999 B');
    expect(formatBytes(1000)).toBe('1 kB');
    expect(formatBytes(1_500_000)).toBe('1.5 MB');
    expect(formatBytes(123_456_789)).toBe('123 MB');
  });
});
