/**
 * The no-op fast path: once a run leaves every step up to date, a snapshot of every dependency's
 * version proves the next no-op without opening the stores. Any change must still be seen.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, lstatSync, readFileSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tokenOf } from '@prov-make/cache';
import { fileCheckProgram } from '@prov-make/interposer';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { reasonOf, runJson, sleep, statuses, workspace, write } from './cli-helpers.js';

const PIPELINE = `steps:
  pick:
    run: if [ -e extra.txt ]; then cat extra.txt; else echo none; fi > picked.txt
  glob:
    run: cat data/*.csv > all.csv
  upper:
    run: tr a-z A-Z < all.csv > upper.csv
`;

/** A workspace whose snapshot exists: the second run confirms racily clean files, then writes it. */
async function snapshotted(): Promise<string> {
  const ws = workspace({ 'pipeline.yml': PIPELINE, 'data/a.csv': 'a\n', 'data/b.csv': 'b\n' });
  const old = new Date(Date.now() - 3600_000);
  for (const f of ['pipeline.yml', 'data/a.csv', 'data/b.csv']) utimesSync(join(ws, f), old, old);
  expect(runJson(ws).code).toBe(0);
  await sleep(2100); // outputs leave the racily clean window (2 s)
  expect(statuses(runJson(ws))).toEqual({ pick: 'skipped', glob: 'skipped', upper: 'skipped' });
  expect(existsSync(join(ws, '.prov-make', 'up-to-date.json'))).toBe(true);
  return ws;
}

describe('pm-check (native) and version-token.ts compute the same token', () => {
  it('for files, a folder, a symlink and a missing path; a rewrite with its mtime put back differs', () => {
    const ws = workspace({ 'a.txt': 'a\n', 'sub/b.txt': 'bb\n' });
    symlinkSync('a.txt', join(ws, 'link'));
    const paths = ['a.txt', 'sub/b.txt', 'sub', 'link', 'missing'];
    const list = join(ws, 'list');
    writeFileSync(list, paths.map((p) => `${tokenOf(lstatSync(join(ws, p), { bigint: true, throwIfNoEntry: false }))}\0${p}\0`).join(''));
    expect(spawnSync(fileCheckProgram, [ws, list]).status).toBe(0);
    const { mtime } = statSync(join(ws, 'a.txt'));
    writeFileSync(join(ws, 'a.txt'), 'z\n');
    utimesSync(join(ws, 'a.txt'), mtime, mtime);
    expect(spawnSync(fileCheckProgram, [ws, list]).status).toBe(1);
  });
});

describe('no-op fast path', () => {
  it('a proven no-op reports every step up to date, and so does status', async () => {
    const ws = await snapshotted();
    const r = runJson(ws);
    expect(r.code).toBe(0);
    expect(r.steps.map((s) => [s.name, s.status, s.reason])).toEqual([['pick', 'skipped', 'up to date'], ['glob', 'skipped', 'up to date'], ['upper', 'skipped', 'up to date']]);
    expect(statuses(runJson(ws, [], 'status'))).toEqual({ pick: 'up-to-date', glob: 'up-to-date', upper: 'up-to-date' });
  });

  it('an input edited within the same second and size still reruns', async () => {
    const ws = await snapshotted();
    writeFileSync(join(ws, 'data/a.csv'), 'x\n');
    const r = runJson(ws);
    expect(statuses(r)).toEqual({ pick: 'skipped', glob: 'ran', upper: 'ran' });
    expect(reasonOf(r, 'glob')).toBe('input data/a.csv changed');
  });

  it('an input rewritten with its size and mtime put back (cp -p, tar x, touch -r) reruns: its ctime moved', async () => {
    const ws = await snapshotted();
    const { mtime } = statSync(join(ws, 'data/a.csv'));
    writeFileSync(join(ws, 'data/a.csv'), 'z\n');
    utimesSync(join(ws, 'data/a.csv'), mtime, mtime);
    const r = runJson(ws);
    expect(statuses(r)).toEqual({ pick: 'skipped', glob: 'ran', upper: 'ran' });
    expect(readFileSync(join(ws, 'upper.csv'), 'utf8')).toBe('Z\nB\n');
  });

  it('a chmod of an input costs one hash, never a rerun', async () => {
    const ws = await snapshotted();
    chmodSync(join(ws, 'data/a.csv'), 0o600);
    expect(statuses(runJson(ws))).toEqual({ pick: 'skipped', glob: 'skipped', upper: 'skipped' });
  });

  it('the caller\'s environment the steps see is checked: another PATH, a new variable a passEnv glob lets through', async () => {
    const ws = await snapshotted();
    const r = runJson(ws, [], 'status', { PATH: `/usr/bin:${process.env.PATH}` });
    expect(reasonOf(r, 'pick')).toMatch(/^env PATH changed/);
    expect(statuses(runJson(ws, [], 'status', { UNSEEN_VARIABLE: '1' }))).toEqual({ pick: 'up-to-date', glob: 'up-to-date', upper: 'up-to-date' });
    write(ws, 'pipeline.yml', `passEnv: ["SEEN_*"]\n${PIPELINE}`);
    expect(runJson(ws).code).toBe(0);
    await sleep(2100);
    runJson(ws);
    expect(existsSync(join(ws, '.prov-make', 'up-to-date.json'))).toBe(true);
    expect(reasonOf(runJson(ws, [], 'status', { SEEN_NOW: '1' }), 'glob')).toBe('env SEEN_NOW was added (SEEN_NOW=1)');
  });

  it('a path that was absent and appears reruns the step that looked for it', async () => {
    const ws = await snapshotted();
    write(ws, 'extra.txt', 'extra\n');
    expect(statuses(runJson(ws)).pick).toBe('ran');
  });

  it('a new file in a listed folder reruns the step that listed it', async () => {
    const ws = await snapshotted();
    write(ws, 'data/c.csv', 'c\n');
    const r = runJson(ws);
    expect(statuses(r).glob).toBe('ran');
    expect(reasonOf(r, 'glob')).toBe('data/c.csv appeared in folder data/ (it listed it)');
  });

  it('a deleted output is restored, an edited command reruns, and --force runs everything', async () => {
    const ws = await snapshotted();
    rmSync(join(ws, 'upper.csv'));
    expect(statuses(runJson(ws)).upper).toBe('restored');
    write(ws, 'pipeline.yml', PIPELINE.replace('tr a-z A-Z', 'tr a-y A-Y'));
    expect(statuses(runJson(ws)).upper).toBe('ran');
    expect(statuses(runJson(ws, ['--force']))).toEqual({ pick: 'ran', glob: 'ran', upper: 'ran' });
  });

  it('a failed run leaves no snapshot behind', async () => {
    const ws = await snapshotted();
    write(ws, 'pipeline.yml', PIPELINE + '  broken:\n    run: exit 3\n');
    expect(runJson(ws).code).toBe(1);
    expect(existsSync(join(ws, '.prov-make', 'up-to-date.json'))).toBe(false);
    expect(statuses(runJson(ws)).broken).toBe('failed');
  });
});
