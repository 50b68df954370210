/**
 * DESIGN section 4: only fully observed executions are stored. A step that runs a program nobody
 * could observe (a statically linked one, which LD_PRELOAD cannot see into, under another tracer, so
 * that the ptrace supervisor cannot take it either) is never put in the local cache nor uploaded to
 * the remote, so a fresh clone runs it again, while its observed neighbour restores.
 */
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reasonOf, runJson, statuses, workspace, write } from './cli-helpers.js';
import { acDocuments, startNginx, type Nginx } from './nginx.js';

const C_SOURCE = `#include <stdio.h>
int main(int argc, char **argv) {
  FILE *f = fopen(argv[1], "w");
  if (!f) return 1;
  fputs("made by a static binary\\n", f);
  return fclose(f) != 0;
}
`;

/** A workspace with a statically linked tool (built here with gcc -static), or null when gcc cannot. */
function sources(): string {
  const a = workspace({
    'pipeline.yml': `steps:
  observed:
    run: mkdir -p build && cp src/a.txt build/a.copy
  static:
    run: mkdir -p build && strace -f -o /dev/null ./tools/gen build/static.txt
`,
    'src/a.txt': 'observed input\n',
    'tools/gen.c': C_SOURCE,
  });
  // gcc -static needs libc.a (libc6-dev, which Debian's gcc brings): a failure here is a broken setup.
  const cc = spawnSync('gcc', ['-static', '-O1', '-o', join(a, 'tools/gen'), join(a, 'tools/gen.c')], { encoding: 'utf8' });
  if (cc.status !== 0) throw new Error(`gcc -static failed: ${cc.stderr}`);
  if (!isStaticElf(readFileSync(join(a, 'tools/gen')))) throw new Error('gcc -static made a dynamic program');
  return a;
}

/** A 64-bit ELF executable without a PT_INTERP program header (no dynamic loader, so no LD_PRELOAD). */
function isStaticElf(f: Buffer): boolean {
  if (f.subarray(0, 4).toString('latin1') !== '\x7fELF' || f[4] !== 2) return false;
  const phoff = Number(f.readBigUInt64LE(32));
  const phentsize = f.readUInt16LE(54);
  const phnum = f.readUInt16LE(56);
  for (let i = 0; i < phnum; i++) if (f.readUInt32LE(phoff + i * phentsize) === 3) return false; // PT_INTERP
  return true;
}

const A = sources();

let nginx: Nginx;
beforeAll(async () => {
  nginx = await startNginx();
});
afterAll(async () => {
  await nginx?.stop();
});

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

function clone(from: string): string {
  const to = workspace();
  cpSync(from, to, { recursive: true, filter: (src) => !/^(\.prov-make|build)(\/|$)/.test(relative(from, src)) });
  return to;
}

describe('an execution that was not fully observed is never cached', () => {
  it('a step running a gcc -static binary: no local or remote entry for it; a fresh clone runs it again', () => {
    const a = A;
    const url = `${nginx.url('cache')}static/`;
    const first = runJson(a, ['--remote', url]);
    expect(first.code, first.stderr).toBe(0);
    expect(statuses(first)).toEqual({ observed: 'ran', static: 'ran' });
    expect(readFileSync(join(a, 'build/static.txt'), 'utf8')).toBe('made by a static binary\n');

    // Local cache: the observed step's entry and path-set index, nothing for the static one.
    const local = acDocuments(join(a, '.prov-make/cache/ac'));
    expect(local.filter((d) => d.doc.step).map((d) => d.doc.step)).toEqual(['observed']);
    expect(local).toHaveLength(2);
    // Remote: the same, and the static step's output was not uploaded.
    const remote = acDocuments(nginx.file('static/ac'));
    expect(remote.filter((d) => d.doc.step).map((d) => d.doc.step)).toEqual(['observed']);
    expect(remote).toHaveLength(2);
    const cas = nginx.files('cache').filter((f) => f.startsWith('static/cas/'));
    expect(cas).toEqual([`static/cas/${sha256(readFileSync(join(a, 'build/a.copy')))}`]);
    expect(existsSync(nginx.file(`static/cas/${sha256(readFileSync(join(a, 'build/static.txt')))}`))).toBe(false);

    const b = clone(a);
    const r = runJson(b, ['--remote', url, '--cache-dir', workspace()]);
    expect(r.code, r.stderr).toBe(0);
    expect(statuses(r)).toEqual({ observed: 'restored', static: 'ran' });
    expect(reasonOf(r, 'observed')).toMatch(/from the remote cache$/);
    expect(readFileSync(join(b, 'build/static.txt'), 'utf8')).toBe('made by a static binary\n');
    // B's unobserved execution was not stored either.
    expect(acDocuments(nginx.file('static/ac'))).toHaveLength(2);
    expect(nginx.files('cache').filter((f) => f.startsWith('static/cas/'))).toEqual(cas);

    // The same through a local cache folder shared by two clones.
    const shared = workspace();
    const c = clone(a);
    expect(statuses(runJson(c, ['--cache-dir', shared]))).toEqual({ observed: 'ran', static: 'ran' });
    expect(acDocuments(join(shared, 'ac')).filter((d) => d.doc.step).map((d) => d.doc.step)).toEqual(['observed']);
    const d = clone(a);
    write(d, 'src/unrelated.txt', 'x\n');
    expect(statuses(runJson(d, ['--cache-dir', shared]))).toEqual({ observed: 'restored', static: 'ran' });
  });
});

describe('a failed execution is never cached', () => {
  it('a step that writes its output and then fails is not stored; a fresh clone runs it (and it fails) again', () => {
    const cache = workspace();
    const a = workspace({
      'pipeline.yml': `steps:
  ok:
    run: mkdir -p build && cp src/a.txt build/ok.txt
  bad:
    run: mkdir -p build && cp src/a.txt build/bad.txt && exit 3
`,
      'src/a.txt': 'a\n',
    });
    const first = runJson(a, ['--cache-dir', cache]);
    expect(first.code).toBe(1);
    expect(statuses(first)).toEqual({ ok: 'ran', bad: 'failed' });
    expect(acDocuments(join(cache, 'ac')).filter((d) => d.doc.step).map((d) => d.doc.step)).toEqual(['ok']);
    const b = clone(a);
    const r = runJson(b, ['--cache-dir', cache]);
    expect(r.code).toBe(1);
    expect(statuses(r)).toEqual({ ok: 'restored', bad: 'failed' });
  });
});
