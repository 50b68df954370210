/**
 * What a step produced is what it changed (issue 10, item 1), through the real CLI under the real
 * interposer: a file only chmodded or touched is an input, never an output restored over an edit;
 * a file read then rewritten is both; a hand-edited pure output is kept before it is restored, and
 * `prov-make log` names the command that brings it back. Lua's own makefile (`touch all`) as written.
 */
import { execSync, spawnSync } from 'node:child_process';
import { appendFileSync, cpSync, existsSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli, gccAvailable, reasonOf, runJson, statuses, workspace, write } from './cli-helpers.js';

const read = (ws: string, p: string) => readFileSync(join(ws, p), 'utf8');

describe('what a step produced is what it changed', () => {
  it('chmod +x run.sh && ./run.sh > out.txt: an edit to run.sh reruns the step, it is never put back', () => {
    const ws = workspace({ 'pipeline.yml': 'steps:\n  go:\n    run: chmod +x run.sh && ./run.sh > out.txt\n', 'run.sh': '#!/bin/sh\necho one\n' });
    expect(statuses(runJson(ws))).toEqual({ go: 'ran' });
    write(ws, 'run.sh', '#!/bin/sh\necho two\n');
    const r = runJson(ws);
    expect(statuses(r)).toEqual({ go: 'ran' });
    expect(reasonOf(r, 'go')).toBe('input run.sh changed');
    expect([read(ws, 'run.sh'), read(ws, 'out.txt')]).toEqual(['#!/bin/sh\necho two\n', 'two\n']);
    expect(cli(ws, ['why', 'run.sh']).stdout.split('\n')[0]).toBe('run.sh: a source file (no step wrote it)');
  });

  it("sed -i 's/old/new/' notes.txt: a line the user appends later is an input change, and it is kept", () => {
    const ws = workspace({ 'pipeline.yml': "steps:\n  fix:\n    run: sed -i 's/old/new/' notes.txt\n", 'notes.txt': 'old one\n' });
    runJson(ws);
    expect(read(ws, 'notes.txt')).toBe('new one\n');
    appendFileSync(join(ws, 'notes.txt'), 'old two, by hand\n');
    const r = runJson(ws);
    expect(statuses(r)).toEqual({ fix: 'ran' });
    expect(reasonOf(r, 'fix')).toBe('input notes.txt changed');
    expect(read(ws, 'notes.txt')).toBe('new one\nnew two, by hand\n');
    expect(statuses(runJson(ws))).toEqual({ fix: 'skipped' });
  });

  it('a hand-edited output: status says the edit is kept, the run keeps it, log names the command that brings it back', () => {
    const ws = workspace({ 'pipeline.yml': 'steps:\n  copy:\n    run: cp in.txt out.txt\n', 'in.txt': 'made\n' });
    runJson(ws);
    write(ws, 'out.txt', 'my careful edit\n');
    const plan = runJson(ws, [], 'status');
    expect(reasonOf(plan, 'copy')).toMatch(/^output out\.txt was modified; restored from the cache \(the edited version is kept first: `prov-make log` shows how to get it back\)$/);
    expect(statuses(runJson(ws))).toEqual({ copy: 'restored' });
    expect(read(ws, 'out.txt')).toBe('made\n');
    const log = cli(ws, ['log']).stdout;
    const back = /to get it back: (.*)$/m.exec(log)?.[1];
    expect(back).toMatch(/^prov-make show out\.txt --version [0-9a-f]{16} > out\.txt$/);
    const bytes = cli(ws, back!.replace(/^prov-make /, '').replace(/ > out\.txt$/, '').split(' '));
    expect(bytes.stdout).toBe('my careful edit\n');
  });

  it('a file opened read-write and not written is an input only: an edit reruns the step, why calls it a source', () => {
    const ws = workspace({
      'pipeline.yml': 'steps:\n  peek:\n    run: python3 -c "f = open(\'data.db\', \'r+b\'); print(f.read().decode()); f.close()" > seen.txt\n',
      'data.db': 'v1',
    });
    // written just now it could be taken for written by the step (mtimes have a coarse clock): make it older
    const old = new Date(Date.now() - 3600_000);
    utimesSync(join(ws, 'data.db'), old, old);
    expect(statuses(runJson(ws))).toEqual({ peek: 'ran' });
    expect(cli(ws, ['why', 'data.db']).stdout.split('\n')[0]).toBe('data.db: a source file (no step wrote it)');
    write(ws, 'data.db', 'v2');
    const r = runJson(ws);
    expect(reasonOf(r, 'peek')).toBe('input data.db changed');
    expect([read(ws, 'data.db'), read(ws, 'seen.txt')]).toEqual(['v2', 'v2\n']);
  });

  it('a step that appends to a log it did not make: the old lines are part of it, an edit reruns', () => {
    const ws = workspace({ 'pipeline.yml': 'steps:\n  note:\n    run: cat in.txt >> log.txt\n', 'in.txt': 'a\n', 'log.txt': 'start\n' });
    runJson(ws);
    appendFileSync(join(ws, 'log.txt'), 'by hand\n');
    expect(statuses(runJson(ws))).toEqual({ note: 'ran' });
    expect(read(ws, 'log.txt')).toBe('start\na\nby hand\na\n');
  });
});

describe.runIf(gccAvailable())("Lua's own makefile: `touch all`", () => {
  it('an edit to its test script (all) is never reverted', () => {
    const ws = workspace();
    cpSync('/work/shared/realproj/lua', ws, { recursive: true });
    execSync('chmod -R u+w .', { cwd: ws });
    expect(existsSync(join(ws, 'all'))).toBe(true);
    writeFileSync(join(ws, 'pipeline.yml'), 'steps:\n  build:\n    run: make -j2 -s\n');
    const first = runJson(ws);
    expect(first.code, JSON.stringify(first.steps)).toBe(0);
    const edited = `${read(ws, 'all')}# run the quick tests only\n`;
    writeFileSync(join(ws, 'all'), edited);
    const r = runJson(ws);
    expect(r.code).toBe(0);
    expect(r.steps[0].status).not.toBe('restored');
    expect(read(ws, 'all')).toBe(edited);
    expect(statuses(runJson(ws))).toEqual({ build: 'skipped' });
    expect(read(ws, 'all')).toBe(edited);
    expect(spawnSync('./lua', ['-e', 'print(1+1)'], { cwd: ws, encoding: 'utf8' }).stdout).toBe('2\n');
    // an incremental make: lvm.o is rewritten, lcode.o is not; why lcode.o agrees with status
    appendFileSync(join(ws, 'lvm.c'), '/* edited */\n');
    expect(statuses(runJson(ws))).toEqual({ build: 'ran' });
    expect(statuses(runJson(ws, [], 'status'))).toEqual({ build: 'up-to-date' });
    expect(JSON.parse(cli(ws, ['why', 'lcode.o', '--json']).stdout)).toMatchObject({ upToDate: true, staleBecause: [] });
  }, 240_000);
});
