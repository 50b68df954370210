/**
 * A real C project with its own makefile (fixtures/cproject) as one `make` step, through a series of
 * edits: after each run every output equals a from-scratch build of the same sources, the next run
 * reruns nothing (make rewrites only what changed: its other outputs are carried over, its listings
 * do not move), and `why` of an object make did not touch says up to date, as `status` does.
 */
import { spawnSync } from 'node:child_process';
import { appendFileSync, cpSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { cli, gccAvailable, runJson, statuses, workspace } from './cli-helpers.js';

const PROJECT = resolve(fileURLToPath(import.meta.url), '..', '..', '..', '..', 'fixtures', 'cproject');
// No -g: objects then do not hold the folder they were built in, so two trees can be compared byte for byte.
const MAKE = 'make -j2 CFLAGS=-O2';
const PIPELINE = `steps:\n  build:\n    run: ${MAKE}\n  stats:\n    run: ./build/bin/ktool csvstat tests/measurements.csv > csvstat.out\n`;

/** Every file under `dir`, relative path -> bytes. */
function tree(dir: string): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  for (const name of readdirSync(dir, { recursive: true }) as string[]) {
    const p = join(dir, name);
    if (statSync(p).isFile()) files.set(relative(dir, p), readFileSync(p));
  }
  return files;
}

/** The outputs a clean build of the workspace's sources makes. */
function cleanBuild(ws: string): Map<string, Buffer> {
  const fresh = workspace();
  cpSync(ws, fresh, { recursive: true, filter: (src) => !/\/(build|\.prov-make)(\/|$)/.test(src.slice(ws.length)) });
  const r = spawnSync('sh', ['-c', `${MAKE} && ./build/bin/ktool csvstat tests/measurements.csv > csvstat.out`], { cwd: fresh, encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  const made = tree(join(fresh, 'build'));
  made.set('../csvstat.out', readFileSync(join(fresh, 'csvstat.out')));
  rmSync(fresh, { recursive: true, force: true });
  return made;
}

function expectSameAsCleanBuild(ws: string, after: string): void {
  const ours = tree(join(ws, 'build'));
  ours.set('../csvstat.out', readFileSync(join(ws, 'csvstat.out')));
  const clean = cleanBuild(ws);
  expect([...ours.keys()].sort(), after).toEqual([...clean.keys()].sort());
  const differ = [...clean].filter(([p, bytes]) => !bytes.equals(ours.get(p)!)).map(([p]) => p);
  expect(differ, `${after}: outputs that differ from a clean build`).toEqual([]);
}

describe.runIf(gccAvailable())('a real C project built by its own makefile, edit after edit', () => {
  it('every output equals a clean build, nothing reruns for nothing, why agrees with status', () => {
    const ws = workspace();
    cpSync(PROJECT, ws, { recursive: true, filter: (src) => !/\/(build|\.prov-make)(\/|$)/.test(src.slice(PROJECT.length)) });
    writeFileSync(join(ws, 'pipeline.yml'), PIPELINE);
    expect(statuses(runJson(ws))).toEqual({ build: 'ran', stats: 'ran' });
    const edits: [string, () => void][] = [
      ['a .c file gains a function', () => appendFileSync(join(ws, 'src/core/util.c'), '\nint pm_edited_util(void) { return 42; }\n')],
      ['a header edited and an object deleted', () => {
        appendFileSync(join(ws, 'include/kit/algo.h'), '\n#define PM_EDITED_ALGO 1\n');
        rmSync(join(ws, 'build/obj/src/math/fft.o'));
      }],
      ['VERSION bumped (a generated header) and a source touched', () => {
        writeFileSync(join(ws, 'VERSION'), '9.9.9\n');
        const later = new Date(Date.now() + 5000);
        utimesSync(join(ws, 'src/parse/csv.c'), later, later);
      }],
    ];
    for (const [what, edit] of edits) {
      edit();
      const r = runJson(ws);
      expect(r.code, `${what}: ${JSON.stringify(r.steps)}`).toBe(0);
      expectSameAsCleanBuild(ws, what);
      const again = runJson(ws);
      expect(statuses(again), `${what}, then a run with nothing changed: ${JSON.stringify(again.steps)}`).toEqual({ build: 'skipped', stats: 'skipped' });
      // an object make did not rewrite in this run: made by an earlier execution, carried over
      const why = JSON.parse(cli(ws, ['why', 'build/obj/src/core/arena.o', '--json']).stdout);
      expect(why.upToDate, `${what}: why arena.o says ${why.staleBecause}`).toBe(true);
    }
  }, 300_000);
});
