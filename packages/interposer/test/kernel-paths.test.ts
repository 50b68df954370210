/**
 * Paths as the kernel resolves them: `..` after a symlinked folder, magic links of /proc and
 * /dev/fd; the symlinks followed are dependencies too.
 */
import { mkdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { trace, workspace } from './helpers.js';

/** x at the top and d/x below, link -> d/sub: `link/..` is d, not the top. */
function linkedWorkspace(): string {
  const ws = workspace({ x: 'top\n', 'd/x': 'below\n', 'd/sub/f': 'f\n' });
  symlinkSync('d/sub', join(ws, 'link'));
  return ws;
}

describe('paths as the kernel resolves them', () => {
  it('`..` after a symlinked folder: the file the kernel opened, and the symlink, are read', async () => {
    const ws = linkedWorkspace();
    const t = await trace('cat link/../x; cat link/../nothing; cat d/sub/../x > /dev/null', ws);
    expect(t.stdout).toBe('below\n');
    expect(t.ws.reads).toEqual(['d/x', 'link']);
    expect(t.ws.absent).toEqual(['d/nothing']);
  });

  it('symlinks within a symlink target, and absolute ones, are followed to the end', async () => {
    const ws = linkedWorkspace();
    mkdirSync(join(ws, 'e/deep'), { recursive: true });
    symlinkSync('../link', join(ws, 'e/hop')); // e/hop -> ../link -> d/sub
    symlinkSync(join(ws, 'e/deep'), join(ws, 'abs'));
    const t = await trace('cat e/hop/../x; cat abs/../../x', ws);
    expect(t.stdout).toBe('below\ntop\n');
    expect(t.ws.reads).toEqual(['abs', 'd/x', 'e/hop', 'link', 'x']);
  });

  it('/proc/self/cwd and /dev/fd/N of a folder lead to the files they name', async () => {
    const ws = linkedWorkspace();
    const t = await trace('cat /proc/self/cwd/x; cd d && cat /proc/$$/cwd/x; exec 3< sub; cat /dev/fd/3/f', ws);
    expect(t.stdout).toBe('top\nbelow\nf\n');
    expect(t.ws.reads).toEqual(['d/sub/f', 'd/x', 'x']);
  });
});
