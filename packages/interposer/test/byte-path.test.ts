/**
 * File names as bytes (byte-path.ts): every byte string decodes to a path and encodes back to the
 * same bytes, valid UTF-8 stays a plain string, and the file system is reached with the name's own
 * bytes. The premise, checked on Node itself: its UTF-8 encoders turn a lone surrogate into U+FFFD.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodePath, encodePath, fsPath, hasRawBytes, readdirPaths, readlinkPath, realPathOf } from '../src/byte-path.js';
import { trace, workspace } from './helpers.js';

const bytes = (...b: number[]) => Buffer.from(b);
const name = (text: string) => Buffer.from(text, 'latin1'); // one char, one byte

describe('byte paths', () => {
  it('keeps valid UTF-8 as it is, and each byte outside it as one lone surrogate', () => {
    expect(decodePath(Buffer.from('données/été.csv'))).toBe('données/été.csv');
    expect(decodePath(name('in\xff.txt'))).toBe('in\udcff.txt');
    expect(decodePath(name('a\xc3'))).toBe('a\udcc3'); // cut short
    expect(decodePath(bytes(0xc0, 0xaf))).toBe('\udcc0\udcaf'); // overlong "/"
    expect(decodePath(bytes(0xed, 0xa0, 0x80))).toBe('\udced\udca0\udc80'); // a UTF-16 surrogate in UTF-8
    expect(decodePath(bytes(0xf4, 0x90, 0x80, 0x80))).toBe('\udcf4\udc90\udc80\udc80'); // over U+10FFFF
    expect(decodePath(bytes(0xf0, 0x9f, 0x98, 0x80, 0xff))).toBe('😀\udcff');
    expect(decodePath(name('x\xff/y'), 1, 3)).toBe('\udcff/');
    // a character outside the BMP is a surrogate pair whose low half may lie in U+DC80..U+DCFF: no raw byte
    expect(hasRawBytes(decodePath(bytes(0xf1, 0x81, 0x93, 0xb2)))).toBe(false);
    expect(encodePath(decodePath(bytes(0xf1, 0x81, 0x93, 0xb2, 0x95)))).toEqual(bytes(0xf1, 0x81, 0x93, 0xb2, 0x95));
  });

  it('round-trips every byte string', () => {
    for (let i = 0; i < 1000; i++) {
      const b = randomBytes(1 + (i % 40));
      expect(encodePath(decodePath(b)).equals(b)).toBe(true);
    }
    const all = Buffer.from(Array.from({ length: 255 }, (_, k) => k + 1));
    expect(encodePath(decodePath(all)).equals(all)).toBe(true);
  });

  it('costs nothing for UTF-8 names: fsPath is the string itself', () => {
    expect(fsPath('/tmp/été.txt')).toBe('/tmp/été.txt');
    expect(hasRawBytes('/tmp/été.txt')).toBe(false);
    expect(fsPath('in\udcff.txt')).toEqual(name('in\xff.txt'));
  });

  it("Node's encoders lose lone surrogates (why they never reach a store as they are)", () => {
    expect(Buffer.from('in\udcff')).toEqual(Buffer.from('in\ufffd'));
    expect(new TextEncoder().encode('in\udcfe')).toEqual(new TextEncoder().encode('in\udcff'));
    expect(JSON.parse(JSON.stringify('in\udcff'))).toBe('in\udcff'); // JSON keeps them: "\udcff"
  });

  it('reads names, real paths and link targets with their bytes', () => {
    const ws = workspace();
    const dir = join(ws, 'd\udcfd');
    mkdirSync(fsPath(dir));
    writeFileSync(fsPath(join(dir, 'a\udcfe')), 'a');
    writeFileSync(fsPath(join(dir, 'a\udcff')), 'b'); // same name once each byte is U+FFFD
    writeFileSync(fsPath(join(dir, 'plain')), 'c');
    expect(readdirPaths(dir).sort()).toEqual(['a\udcfe', 'a\udcff', 'plain']);
    expect(readdirPaths(ws)).toEqual(['d\udcfd']);
    symlinkSync(fsPath('d\udcfd/a\udcff'), fsPath(join(ws, 'link\n')));
    expect(readlinkPath(join(ws, 'link\n'))).toBe('d\udcfd/a\udcff');
    expect(realPathOf(join(ws, 'link\n'))).toBe(join(dir, 'a\udcff'));
    expect(realPathOf(join(ws, 'd\udcfd', 'plain'))).toBe(join(dir, 'plain'));
  });

  it('a traced command reports names that are not UTF-8, or hold newlines, tabs and backslashes, as they are', async () => {
    const ws = workspace();
    mkdirSync(fsPath(join(ws, 'dir\udcfd')));
    writeFileSync(fsPath(join(ws, 'in\udcff.txt')), 'x');
    writeFileSync(fsPath(join(ws, 'a\nb\tc\\d')), 'y');
    const script = `cat "$(printf 'in\\377.txt')" "$(printf 'a\\nb\\tc\\\\d')" > "$(printf 'out\\376.txt')"; ls "$(printf 'dir\\375')" > /dev/null; cat "$(printf 'gone\\374')" 2>/dev/null; true`;
    const { ws: view, result } = await trace(script, ws);
    expect(result.fullyObserved).toBe(true);
    expect(view.reads).toEqual(['a\nb\tc\\d', 'in\udcff.txt']);
    expect(view.writes).toEqual(['out\udcfe.txt']);
    expect(view.listed).toEqual(['dir\udcfd']);
    expect(view.absent).toContain('gone\udcfc');
  });

  it('a name longer than a path can be (a deep working folder) makes the trace incomplete, never silently partial', async () => {
    const ws = workspace();
    // 24 folders of 200 bytes: over PATH_MAX (4096), reached one relative step at a time
    const script = "import os\nfor _ in range(24):\n    os.mkdir('d' * 200)\n    os.chdir('d' * 200)\nopen('deep.txt', 'w').write('x')\n";
    writeFileSync(join(ws, 'deep.py'), script);
    const { result } = await trace(['python3', 'deep.py'], ws);
    execFileSync('rm', ['-rf', join(ws, 'd'.repeat(200))]); // rm walks it with openat; Node's rmSync cannot
    expect(result.exitCode).toBe(0);
    expect(result.fullyObserved).toBe(false);
    expect(result.problems.map((p) => p.kind)).toEqual(['log-lost']);
  });
});
