/**
 * Steps whose result depends on what the loader and the kernel resolve, through the real CLI: a
 * library that appears earlier in the loader's search, a symlink retargeted under `..`.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { reasonOf, runJson, statuses, workspace } from './cli-helpers.js';

/** lib<dir>/libv.so whose v() returns `value`. */
function library(ws: string, dir: string, value: number): void {
  mkdirSync(join(ws, dir), { recursive: true });
  execFileSync('gcc', ['-shared', '-fPIC', '-o', join(ws, dir, 'libv.so'), '-x', 'c', '-'], { input: `int v(void) { return ${value}; }\n` });
}

describe('what the loader and the kernel resolve', () => {
  it('LD_LIBRARY_PATH=a:b: a library put in a/ shadows b/libv.so and reruns the step', () => {
    const ws = workspace({
      'pipeline.yml': 'env:\n  LD_LIBRARY_PATH: a:b\nsteps:\n  use:\n    run: ./main > out.txt\n',
      'main.c': '#include <stdio.h>\nint v(void);\nint main(void) { printf("%d\\n", v()); return 0; }\n',
    });
    library(ws, 'b', 2);
    execFileSync('gcc', ['-o', join(ws, 'main'), join(ws, 'main.c'), `-L${join(ws, 'b')}`, '-lv']);
    mkdirSync(join(ws, 'a'));
    expect(statuses(runJson(ws))).toEqual({ use: 'ran' });
    expect(readFileSync(join(ws, 'out.txt'), 'utf8')).toBe('2\n');
    expect(statuses(runJson(ws))).toEqual({ use: 'skipped' });
    library(ws, 'a', 7);
    const r = runJson(ws);
    expect(statuses(r)).toEqual({ use: 'ran' });
    expect(reasonOf(r, 'use')).toMatch(/a\/libv\.so appeared/);
    expect(readFileSync(join(ws, 'out.txt'), 'utf8')).toBe('7\n');
  });

  it('cat link/../x: retargeting link reruns the step, which then reads the other x', () => {
    const ws = workspace({ 'pipeline.yml': 'steps:\n  read:\n    run: cat link/../x > out.txt\n', x: 'top\n', 'd/x': 'd\n', 'e/x': 'e\n' });
    mkdirSync(join(ws, 'd/sub'));
    mkdirSync(join(ws, 'e/sub'));
    symlinkSync('d/sub', join(ws, 'link'));
    expect(statuses(runJson(ws))).toEqual({ read: 'ran' });
    expect(readFileSync(join(ws, 'out.txt'), 'utf8')).toBe('d\n');
    expect(statuses(runJson(ws))).toEqual({ read: 'skipped' });
    rmSync(join(ws, 'link'));
    symlinkSync('e/sub', join(ws, 'link'));
    const r = runJson(ws);
    expect(statuses(r)).toEqual({ read: 'ran' });
    expect(reasonOf(r, 'read')).toMatch(/link/);
    expect(readFileSync(join(ws, 'out.txt'), 'utf8')).toBe('e\n');
  });
});
