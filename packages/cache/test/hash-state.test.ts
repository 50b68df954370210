import { spawnSync } from 'node:child_process';
import { lstatSync, mkdirSync, utimesSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { hashBytes, HashState, sameVersion, statVersion } from '../src/index.js';
import { tempDir } from './helpers.js';

const DIST = pathToFileURL(resolve(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'index.js')).href;

const open: HashState[] = [];
afterEach(async () => {
  for (const s of open.splice(0)) await s.close();
});
/**
 * A file's ctime cannot be put back, and one just written is racily clean under the 2 s window:
 * tests that need a trusted entry use a 1 ms window and let a few ms pass after the write.
 */
const SHORT_WINDOW = 1_000_000n;
const settle = () => new Promise((r) => setTimeout(r, 20));

function openState(dir: string, racyWindowNs?: bigint): HashState {
  const s = HashState.open(join(dir, 'state'), { racyWindowNs });
  open.push(s);
  return s;
}

/** Rewrite a file in place (same inode, same size) and put its mtime back, as `cp -p` or `tar x` would. */
async function swapContentKeepingMtime(file: string, content: string, mtimeSec: number): Promise<void> {
  const before = await statVersion(file);
  writeFileSync(file, content);
  utimesSync(file, mtimeSec, mtimeSec);
  const after = await statVersion(file);
  expect([after?.ino, after?.size, after?.mtimeNs]).toEqual([before?.ino, before?.size, before?.mtimeNs]);
}

describe('HashState', () => {
  it('answers from the memo when the tuple is unchanged and the entry was not racy; a rewrite with its mtime put back is seen by its ctime', async () => {
    const dir = tempDir();
    const file = join(dir, 'a.txt');
    writeFileSync(file, 'hello');
    const old = Math.floor(Date.now() / 1000) - 3600; // an hour before we record it: not racily clean
    utimesSync(file, old, old);
    await settle();
    const state = openState(dir, SHORT_WINDOW);

    expect(await state.hashOf(file)).toBe(await hashBytes('hello'));
    const version = (await statVersion(file))!;
    expect(state.peek(file, version)).toBe(await hashBytes('hello'));
    // Different bytes, same inode, size and mtime: the ctime moved, so the memo does not answer.
    await swapContentKeepingMtime(file, 'world', old);
    expect(sameVersion(version, await statVersion(file))).toBe(false);
    expect(state.peek(file, (await statVersion(file))!)).toBeNull();
    expect(await state.hashOf(file)).toBe(await hashBytes('world'));
  });

  it('re-hashes an entry that was racily clean when recorded', async () => {
    const dir = tempDir();
    const file = join(dir, 'b.txt');
    writeFileSync(file, 'hello');
    const recent = Math.floor(Date.now() / 1000); // within the 2 s window of the recording
    utimesSync(file, recent, recent);
    const state = openState(dir);

    expect(await state.hashOf(file)).toBe(await hashBytes('hello'));
    expect(state.entry(file)).toBeUndefined(); // never trusted, so not even stored
    await state.remember(file, (await statVersion(file))!, await hashBytes('hello'));
    await swapContentKeepingMtime(file, 'world', recent);
    expect(state.peek(file, (await statVersion(file))!)).toBeNull(); // stored by hand: not trusted either
    expect(await state.hashOf(file)).toBe(await hashBytes('world'));
  });

  it('takes a version or bigint lstat from the caller, and returns null for missing paths', async () => {
    const dir = tempDir();
    const file = join(dir, 'c.txt');
    writeFileSync(file, 'abc');
    const state = openState(dir);
    expect(await state.hashOf(file, lstatSync(file, { bigint: true }))).toBe(await hashBytes('abc'));
    expect(await state.hashOf(file, await statVersion(file))).toBe(await hashBytes('abc'));
    expect(await state.hashOf(join(dir, 'missing'))).toBeNull();
    expect(await state.hashOf(join(dir, 'c.txt', 'under-a-file'))).toBeNull();
    await expect(state.hashOf('relative/path')).rejects.toThrow(/absolute/);
  });

  it('hashes folders by listing and remembers files written by the caller', async () => {
    const dir = tempDir();
    const sub = join(dir, 'sub');
    mkdirSync(sub);
    writeFileSync(join(sub, 'x'), '');
    const state = openState(dir, SHORT_WINDOW);
    const listing = await state.hashOf(sub);
    writeFileSync(join(sub, 'y'), '');
    expect(await state.hashOf(sub)).not.toBe(listing);

    const out = join(dir, 'out.bin');
    writeFileSync(out, 'produced');
    const old = Math.floor(Date.now() / 1000) - 3600;
    utimesSync(out, old, old);
    await settle();
    const v = (await statVersion(out))!;
    await state.remember(out, v, await hashBytes('produced'));
    // Just recorded, but its mtime and ctime are older than the window: trusted at once.
    expect(state.peek(out, v)).toBe(await hashBytes('produced'));
    // Recorded within the window of its mtime: not trusted until confirmed.
    await state.remember(out, v, await hashBytes('produced'), String(BigInt(old) * 1_000_000_000n));
    expect(state.peek(out, v)).toBeNull();
  });

  it('persists across reopen and is readable by another process', async () => {
    const dir = tempDir();
    const file = join(dir, 'd.txt');
    writeFileSync(file, 'persist');
    const old = Math.floor(Date.now() / 1000) - 3600;
    utimesSync(file, old, old);
    await settle();
    const state = openState(dir, SHORT_WINDOW);
    await state.hashOf(file);
    await state.flush();

    const child = spawnSync(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `const { HashState, statVersion } = await import(${JSON.stringify(DIST)});
         const s = HashState.open(process.argv[1], { readOnly: true, racyWindowNs: ${SHORT_WINDOW}n });
         const f = process.argv[2];
         console.log(s.peek(f, await statVersion(f)));
         await s.close();`,
        join(dir, 'state'),
        file,
      ],
      { encoding: 'utf8' },
    );
    expect(child.stderr).toBe('');
    expect(child.stdout.trim()).toBe(await hashBytes('persist'));

    await state.close();
    open.splice(open.indexOf(state), 1);
    const again = openState(dir, SHORT_WINDOW);
    expect(again.peek(file, (await statVersion(file))!)).toBe(await hashBytes('persist'));
  });
});
