/**
 * The loader's search, reconstructed: the places ld.so tried before the library it used are
 * absent paths (LD_LIBRARY_PATH, DT_RUNPATH with $ORIGIN, dlopen by name). Real libraries and
 * programs built for the test.
 */
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { trace, workspace } from './helpers.js';

const execFileP = promisify(execFile);
const gcc = (...args: string[]) => execFileP('gcc', args);

/** A workspace with lib/libv.so (v() returns `value`) and main, linked against it with `linkFlags`. */
async function programWithLibrary(libDir: string, value: number, linkFlags: string[] = []): Promise<string> {
  const ws = workspace({ 'v.c': `int v(void) { return ${value}; }\n`, 'main.c': 'int v(void);\nint main(void) { return v(); }\n' });
  mkdirSync(join(ws, libDir), { recursive: true });
  await gcc('-shared', '-fPIC', '-o', join(ws, libDir, 'libv.so'), join(ws, 'v.c'));
  await gcc('-o', join(ws, 'main'), join(ws, 'main.c'), `-L${join(ws, libDir)}`, '-lv', ...linkFlags);
  return ws;
}

describe('the loader search', () => {
  it('LD_LIBRARY_PATH=a:b with the library in b: a/libv.so is absent; once it is there, it is the one loaded', async () => {
    const ws = await programWithLibrary('b', 2);
    mkdirSync(join(ws, 'a'));
    const env = { ...process.env, LD_LIBRARY_PATH: 'a:b' };
    const t = await trace(['./main'], ws, { env });
    expect(t.result.exitCode).toBe(2);
    expect(t.ws.executed).toEqual(['b/libv.so', 'main']);
    expect(t.ws.absent).toContain('a/libv.so');
    expect(t.ws.absent).not.toContain('b/libv.so');
    // libc came from the cache, after both folders: absent in each
    expect(t.ws.absent).toEqual(expect.arrayContaining(['a/libc.so.6', 'b/libc.so.6']));
    // the absent path was the right one: a library put there shadows b's
    copyFileSync(join(ws, 'b', 'libv.so'), join(ws, 'a', 'libv.so'));
    const again = await trace(['./main'], ws, { env });
    expect(again.ws.executed).toEqual(['a/libv.so', 'main']);
  });

  it('DT_RUNPATH $ORIGIN/r1:$ORIGIN/r2 with the library in r2: r1/libv.so is absent', async () => {
    const ws = await programWithLibrary('r2', 3, ['-Wl,-rpath,$ORIGIN/r1:$ORIGIN/r2', '-Wl,--enable-new-dtags']);
    const t = await trace(['./main'], ws);
    expect(t.result.exitCode).toBe(3);
    expect(t.ws.executed).toEqual(['main', 'r2/libv.so']);
    expect(t.ws.absent).toEqual(['r1/libc.so.6', 'r1/libv.so', 'r2/libc.so.6']);
  });

  it('dlopen by name through LD_LIBRARY_PATH: the folders before the one it came from are absent', async () => {
    const ws = workspace({
      'plug.c': 'int plug(void) { return 5; }\n',
      'main.c': '#include <dlfcn.h>\nint main(void) { void *h = dlopen("libplug.so", RTLD_NOW); int (*f)(void) = h ? (int (*)(void))dlsym(h, "plug") : 0; return f ? f() : 1; }\n',
    });
    mkdirSync(join(ws, 'b'));
    await gcc('-shared', '-fPIC', '-o', join(ws, 'b', 'libplug.so'), join(ws, 'plug.c'));
    await gcc('-o', join(ws, 'main'), join(ws, 'main.c'));
    const t = await trace(['./main'], ws, { env: { ...process.env, LD_LIBRARY_PATH: `${ws}/a:${ws}/b` } });
    expect(t.result.exitCode).toBe(5);
    expect(t.ws.executed).toEqual(['b/libplug.so', 'main']);
    expect(t.ws.absent).toContain('a/libplug.so');
    expect(t.ws.absent).not.toContain('b/libplug.so');
  });

  it('a program without search paths: nothing is reconstructed', async () => {
    const ws = workspace();
    const t = await trace(['/bin/true'], ws, { env: { ...process.env, LD_LIBRARY_PATH: '' } });
    expect(t.result.deps.absent).toEqual([]);
  });
});
