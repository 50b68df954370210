/** Compilers, interpreters and make under the real interposer. */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LIBC, PYTHON, trace, workspace } from './helpers.js';

const GCC_LIBEXEC = '/usr/lib/gcc/x86_64-linux-gnu/12';

/** Shared libraries a program loads, from ldd, resolved as traces report them. */
function librariesOf(program: string): string[] {
  const out = execFileSync('ldd', [program], { encoding: 'utf8' });
  return [...out.matchAll(/=>\s+(\/\S+)/g)].map((m) => realpathSync(m[1]));
}

describe('gcc', () => {
  it('gcc -Ia -Ib -c x.c with the header only in b: a/x.h absent, b/x.h read; the whole toolchain executed', async () => {
    const ws = workspace({ 'x.c': '#include "x.h"\nint g(void) { return f(); }\n', 'b/x.h': 'int f(void);\n', 'a/.keep': '' });
    const t = await trace('gcc -Ia -Ib -c x.c', ws);
    expect(t.result.exitCode).toBe(0);
    expect(t.ws.reads).toEqual(['b/x.h', 'x.c']);
    expect(t.ws.writes).toEqual(['x.o']);
    expect(t.ws.deleted).toEqual([]);
    expect(t.ws.listed).toEqual([]);
    expect(t.ws.executed).toEqual([]);
    // gcc looks for x.h next to x.c, then in a, then finds it in b
    expect(t.ws.absent).toEqual(expect.arrayContaining(['a/x.h', 'x.h']));
    expect(t.ws.absent).not.toContain('b/x.h');
    for (const p of t.ws.absent) expect(existsSync(join(ws, p)), p).toBe(false);
    const executed = t.result.deps.executed;
    const cc1 = `${GCC_LIBEXEC}/cc1`;
    const as = realpathSync('/usr/bin/as');
    expect(executed).toEqual(expect.arrayContaining([realpathSync('/usr/bin/gcc'), cc1, as, LIBC]));
    // the libraries cc1 and as load at start-up are executed too
    for (const lib of [...librariesOf(cc1), ...librariesOf(as)]) expect(executed, lib).toContain(lib);
    // gcc's temp files (/tmp/cc*.s) were created and removed: neither read nor written
    const tmpOutputs = [...t.result.deps.writes, ...t.result.deps.reads, ...t.result.deps.deleted].filter((p) => /\/cc[^/]*\.s$/.test(p));
    expect(tmpOutputs).toEqual([]);
    expect(t.result.fullyObserved).toBe(true);
  });
});

describe('interpreters', () => {
  it('python3 imports a module from the workspace and reads and writes files', async () => {
    const python = PYTHON;
    const ws = workspace({
      'main.py': 'import helper\nprint(helper.value())\nopen("out.txt", "w").write("done")\n',
      'helper.py': 'def value():\n    return open("data.txt").read().strip()\n',
      'data.txt': '42\n',
    });
    const pyc = execFileSync(python, ['-c', 'import importlib.util; print(importlib.util.cache_from_source("helper.py"))'], { encoding: 'utf8' }).trim();
    // with bytecode writing on, python writes __pycache__/helper.*.pyc atomically (temp name, then rename)
    const env = { ...process.env };
    delete env.PYTHONDONTWRITEBYTECODE;
    const t = await trace([python, 'main.py'], ws, { env });
    expect(t.result.exitCode).toBe(0);
    expect(t.stdout).toBe('42\n');
    expect(t.ws).toEqual({
      reads: ['data.txt', 'helper.py', 'main.py'],
      writes: ['__pycache__', pyc, 'out.txt'],
      deleted: [],
      absent: [],
      listed: ['.'], // the import system lists sys.path[0]
      executed: [],
      untraced: [],
    });
    expect(t.result.deps.executed).toContain(realpathSync(python));
    expect(readdirSync(join(ws, '__pycache__'))).toEqual([pyc.split('/')[1]]);
  });

  it('a node script reads, writes, probes, lists and renames', async () => {
    const ws = workspace({
      'script.mjs': [
        "import fs from 'node:fs';",
        "import { k } from './lib/m.mjs';",
        "const t = fs.readFileSync('in.txt', 'utf8');",
        "fs.writeFileSync('out.txt', t.toUpperCase() + k);",
        "fs.existsSync('missing.txt');",
        "fs.mkdirSync('gen', { recursive: true });",
        "fs.writeFileSync('gen/tmp.txt', 'x'); fs.renameSync('gen/tmp.txt', 'gen/final.txt');",
        "console.log(fs.readdirSync('lib').join(','));",
      ].join('\n'),
      'lib/m.mjs': 'export const k = 1;\n',
      'in.txt': 'abc',
    });
    const t = await trace([process.execPath, 'script.mjs'], ws);
    expect(t.result.exitCode).toBe(0);
    expect(t.stdout).toBe('m.mjs\n');
    expect(t.ws).toEqual({
      reads: ['in.txt', 'lib/m.mjs', 'script.mjs'],
      writes: ['gen', 'gen/final.txt', 'out.txt'],
      deleted: [],
      absent: ['missing.txt'],
      listed: ['lib'],
      executed: [],
      untraced: [],
    });
    expect(t.result.deps.executed).toContain(realpathSync(process.execPath));
  });
});

describe('make', () => {
  it('make -j2 over a small C project: sources and header read, objects and binary written', async () => {
    const ws = workspace({
      'util.h': 'int one(void);\nint two(void);\n',
      'one.c': '#include "util.h"\nint one(void) { return 1; }\n',
      'two.c': '#include "util.h"\nint two(void) { return 2; }\n',
      'main.c': '#include <stdio.h>\n#include "util.h"\nint main(void) { printf("%d\\n", one() + two()); return 0; }\n',
      Makefile: 'prog: main.o one.o two.o\n\tgcc -o $@ $^\n%.o: %.c util.h\n\tgcc -c -o $@ $<\n',
    });
    const t = await trace(['make', '-j2'], ws);
    expect(t.result.exitCode).toBe(0);
    expect(execFileSync(join(ws, 'prog'), { encoding: 'utf8' })).toBe('3\n');
    expect(t.ws.reads).toEqual(['Makefile', 'main.c', 'one.c', 'two.c', 'util.h']);
    expect(t.ws.writes).toEqual(['main.o', 'one.o', 'prog', 'two.o']);
    expect(t.ws.deleted).toEqual([]);
    expect(t.ws.executed).toEqual([]);
    expect(t.ws.listed).toEqual(['.']); // make reads the folder for its implicit rules
    // make and the linker probe for names that are not there (RCS, SCCS, precompiled headers)
    expect(t.ws.absent).toEqual(expect.arrayContaining(['util.h.gch']));
    for (const p of t.ws.absent) expect(existsSync(join(ws, p)), p).toBe(false);
    expect(t.result.deps.executed).toEqual(
      expect.arrayContaining([realpathSync('/usr/bin/make'), realpathSync('/usr/bin/gcc'), `${GCC_LIBEXEC}/cc1`, `${GCC_LIBEXEC}/collect2`]),
    );
    expect(t.result.fullyObserved).toBe(true);
  });
});
