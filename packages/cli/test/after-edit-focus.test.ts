/**
 * The run after an edit decided from the no-op snapshot (engine/focus.ts): only the steps that
 * depend on a changed file, and the steps that use what those make, are checked; the snapshot
 * vouches for the rest. Every decision must be the one the full check makes: each status here is
 * compared with the same status once the snapshot's index is gone (then every step is checked).
 */
import { spawnSync } from 'node:child_process';
import { appendFileSync, cpSync, existsSync, lstatSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tokenOf } from '@prov-make/cache';
import { fileCheckProgram } from '@prov-make/interposer';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runJson, sleep, statuses, workspace } from './cli-helpers.js';

const PIPELINE = `steps:
  a:
    run: cat in/a.txt > a.txt
  b:
    run: cat in/b.txt > b.txt
  c:
    run: cat a.txt b.txt > c.txt
  d:
    run: cat in/d.txt > d.txt
  e:
    run: if [ -e opt.txt ]; then cat opt.txt; fi; cat d.txt > e.txt
  f:
    needs: [a]
    run: cat in/f.txt > f.txt
`;

/** A recorded workspace with its snapshot (the second run confirms the racily clean files). */
async function snapshotted(): Promise<string> {
  const ws = workspace({ 'pipeline.yml': PIPELINE, 'in/a.txt': 'a\n', 'in/b.txt': 'b\n', 'in/d.txt': 'd\n', 'in/f.txt': 'f\n' });
  const old = new Date(Date.now() - 3600_000);
  for (const f of ['pipeline.yml', 'in/a.txt', 'in/b.txt', 'in/d.txt', 'in/f.txt']) utimesSync(join(ws, f), old, old);
  expect(runJson(ws).code).toBe(0);
  await sleep(2100); // outputs leave the racily clean window (2 s)
  expect(Object.values(statuses(runJson(ws))).every((s) => s === 'skipped')).toBe(true);
  expect(existsSync(join(ws, '.prov-make', 'up-to-date.index'))).toBe(true);
  return ws;
}

/** `status --json` as [name, status, reason], decided from the snapshot; and the same from the full check. */
function focusedAndFull(ws: string): { focused: string[][]; full: string[][] } {
  const shape = (r: ReturnType<typeof runJson>) => r.steps.map((s) => [s.name, s.status, s.reason]);
  const focused = shape(runJson(ws, [], 'status'));
  const copy = workspace();
  cpSync(ws, copy, { recursive: true, preserveTimestamps: true });
  rmSync(join(copy, '.prov-make', 'up-to-date.index'));
  return { focused, full: shape(runJson(copy, [], 'status')) };
}

describe('the run after an edit, decided from the snapshot', () => {
  it('an edited input: its reader and what uses it (by its files or by needs) would run, the rest is up to date, as the full check says', async () => {
    const ws = await snapshotted();
    appendFileSync(join(ws, 'in/a.txt'), 'more\n');
    const { focused, full } = focusedAndFull(ws);
    expect(focused).toEqual(full);
    expect(Object.fromEntries(focused.map(([n, s]) => [n, s]))).toEqual({ a: 'would-run', b: 'up-to-date', c: 'would-run', d: 'up-to-date', e: 'up-to-date', f: 'would-run' });
    expect(statuses(runJson(ws))).toEqual({ a: 'ran', b: 'skipped', c: 'ran', d: 'skipped', e: 'skipped', f: 'skipped' }); // f only waits for a
  });

  it('a path that appears, a touched input, a deleted output: the same decisions as the full check', async () => {
    const ws = await snapshotted();
    writeFileSync(join(ws, 'opt.txt'), 'opt\n');
    utimesSync(join(ws, 'in/b.txt'), new Date(), new Date()); // same bytes: no rerun
    rmSync(join(ws, 'd.txt'));
    const { focused, full } = focusedAndFull(ws);
    expect(focused).toEqual(full);
    expect(Object.fromEntries(focused.map(([n, s]) => [n, s]))).toEqual({ a: 'up-to-date', b: 'up-to-date', c: 'up-to-date', d: 'would-restore', e: 'would-run', f: 'up-to-date' });
  });

  it('a step that now writes a file a later step read as a source: the later step runs too', async () => {
    const ws = workspace({
      'pipeline.yml': `steps:\n  j:\n    run: if grep -q two in/j.txt; then echo made > x.txt; fi; cat in/j.txt > j.out\n  k:\n    run: cat x.txt > k.out\n  m:\n    run: cat in/m.txt > m.out\n`,
      'in/j.txt': 'one\n',
      'in/m.txt': 'm\n',
      'x.txt': 'source\n',
    });
    const old = new Date(Date.now() - 3600_000);
    for (const f of ['pipeline.yml', 'in/j.txt', 'in/m.txt', 'x.txt']) utimesSync(join(ws, f), old, old);
    expect(runJson(ws).code).toBe(0);
    await sleep(2100);
    expect(statuses(runJson(ws))).toEqual({ j: 'skipped', k: 'skipped', m: 'skipped' });
    writeFileSync(join(ws, 'in/j.txt'), 'two\n');
    expect(statuses(runJson(ws))).toEqual({ j: 'ran', k: 'ran', m: 'skipped' });
    expect(readFileSync(join(ws, 'k.out'), 'utf8')).toBe('made\n');
  });

  it('an index that is not the snapshot\'s own is not used', async () => {
    const ws = await snapshotted();
    const index = join(ws, '.prov-make', 'up-to-date.index');
    writeFileSync(index, Buffer.alloc(lstatSync(index).size)); // another generation, no users
    appendFileSync(join(ws, 'in/d.txt'), 'more\n');
    expect(statuses(runJson(ws, [], 'status'))).toEqual({ a: 'up-to-date', b: 'up-to-date', c: 'up-to-date', d: 'would-run', e: 'would-run', f: 'up-to-date' });
  });
});

describe('pm-check --changed', () => {
  it('prints the ordinal of every entry that differs; more than MAX: exit 3', () => {
    const ws = workspace({ 'a.txt': 'a\n', 'b.txt': 'b\n', 'c.txt': 'c\n' });
    const names = ['a.txt', 'b.txt', 'c.txt', 'missing'];
    const list = join(ws, 'list');
    writeFileSync(list, names.map((p) => `${tokenOf(lstatSync(join(ws, p), { bigint: true, throwIfNoEntry: false }))}\0${p}\0`).join(''));
    const check = (max: number) => spawnSync(fileCheckProgram, ['--changed', String(max), ws, list], { encoding: 'utf8' });
    expect([check(10).status, check(10).stdout]).toEqual([0, '']);
    writeFileSync(join(ws, 'b.txt'), 'bb\n');
    writeFileSync(join(ws, 'missing'), 'here\n');
    expect([check(10).status, check(10).stdout]).toEqual([1, '1\n3\n']);
    expect(check(1).status).toBe(3);
  });
});
