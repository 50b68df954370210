import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  digestFileVersioned,
  hashBytes,
  hashDirectoryListing,
  hashFile,
  hashFileVersioned,
  hashListing,
  hashSymlinkTarget,
  NotARegularFileError,
  sha256Bytes,
} from '../src/index.js';
import { tempDir } from './helpers.js';

describe('content hashing', () => {
  it('is equal for equal content and differs otherwise', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'a'), 'same bytes\n');
    writeFileSync(join(dir, 'b'), 'same bytes\n');
    writeFileSync(join(dir, 'c'), 'other bytes\n');
    const [a, b, c] = await Promise.all(['a', 'b', 'c'].map((n) => hashFile(join(dir, n))));
    expect(a).toMatch(/^[0-9a-f]{16}$/);
    expect(a).toBe(b);
    expect(a).not.toBe(c);
    expect(a).toBe(await hashBytes('same bytes\n'));
    expect(await hashBytes(Buffer.from('same bytes\n'))).toBe(a);
  });

  it('streams a 5 MB file to the same hash as hashing its bytes at once', async () => {
    const dir = tempDir();
    const data = randomBytes(5 * 1024 * 1024 + 17); // not a multiple of the chunk size
    writeFileSync(join(dir, 'big'), data);
    const streamed = await hashFileVersioned(join(dir, 'big'));
    expect(streamed.hash).toBe(await hashBytes(data));
    expect(streamed.version.size).toBe(data.length);
    expect(streamed.stable).toBe(true);
    data[data.length - 1] ^= 1;
    expect(await hashBytes(data)).not.toBe(streamed.hash);
  });

  it('hashes an empty file', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'empty'), '');
    expect(await hashFile(join(dir, 'empty'))).toBe(await hashBytes(new Uint8Array(0)));
  });

  it("takes a symlink's target as its content, distinct from a file holding the same bytes", async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'target.txt'), 'content');
    writeFileSync(join(dir, 'fake'), 'target.txt');
    symlinkSync('target.txt', join(dir, 'link'));
    const link = await hashFileVersioned(join(dir, 'link'));
    expect(link.version.kind).toBe('symlink');
    expect(link.hash).toBe(await hashSymlinkTarget('target.txt'));
    expect(link.hash).not.toBe(await hashFile(join(dir, 'fake')));
    expect(link.hash).not.toBe(await hashFile(join(dir, 'target.txt')));
    // Retargeting the link changes its hash.
    symlinkSync('elsewhere', join(dir, 'link2'));
    expect(await hashFile(join(dir, 'link2'))).not.toBe(link.hash);
  });

  it('refuses directories', async () => {
    const dir = tempDir();
    mkdirSync(join(dir, 'sub'));
    await expect(hashFile(join(dir, 'sub'))).rejects.toBeInstanceOf(NotARegularFileError);
  });

  it('hashes directory listings by sorted names', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'b'), '');
    writeFileSync(join(dir, 'a'), '');
    expect(await hashDirectoryListing(dir)).toBe(await hashListing(['a', 'b']));
    expect(await hashListing(['b', 'a'])).toBe(await hashListing(['a', 'b']));
    expect(await hashListing(['a'])).not.toBe(await hashListing(['a', 'b']));
  });

  it('computes SHA-256 like node:crypto, streaming files', async () => {
    const dir = tempDir();
    const data = randomBytes(300_000);
    writeFileSync(join(dir, 'f'), data);
    const expected = createHash('sha256').update(data).digest('hex');
    expect((await digestFileVersioned(join(dir, 'f'))).digests.sha256).toBe(expected);
    expect(sha256Bytes(data)).toBe(expected);
    expect(sha256Bytes('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });
});
