/**
 * What a step sees and how it runs (DESIGN 3.1) through the real CLI: a clean environment (the
 * allowlist, passEnv, env:), every visible value part of the step's identity, secrets never stored
 * in clear; strict shells (errexit, bash with pipefail) and the shell as part of the identity.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli, reasonOf, runJson, statuses, workspace } from './cli-helpers.js';

const read = (ws: string, p: string) => readFileSync(join(ws, p), 'utf8');

/** Every file under a folder, as one string (to look for a secret in clear). */
function everything(dir: string): string {
  let all = '';
  for (const name of readdirSync(dir, { recursive: true }) as string[]) {
    const p = join(dir, name);
    if (statSync(p).isFile()) all += readFileSync(p).toString('latin1');
  }
  return all;
}

describe('prov-make run: the environment', () => {
  it('a variable the step cannot see reaches nothing; with passEnv its value reruns the step ("SCALE=3")', () => {
    const ws = workspace({ 'pipeline.yml': 'steps:\n  scale:\n    run: echo "scale=${SCALE:-unset}" > out.txt\n' });
    expect(runJson(ws, [], 'run', { SCALE: '2' }).code).toBe(0);
    expect(read(ws, 'out.txt')).toBe('scale=unset\n');
    // not visible: nothing it made depends on it, so nothing is stale
    expect(statuses(runJson(ws, [], 'run', { SCALE: '3' }))).toEqual({ scale: 'skipped' });

    const passing = workspace({ 'pipeline.yml': 'passEnv: [SCALE]\nsteps:\n  scale:\n    run: echo "scale=$SCALE" > out.txt\n' });
    runJson(passing, [], 'run', { SCALE: '2' });
    expect(read(passing, 'out.txt')).toBe('scale=2\n');
    expect(statuses(runJson(passing, [], 'run', { SCALE: '2' }))).toEqual({ scale: 'skipped' });
    const r = runJson(passing, [], 'run', { SCALE: '3' });
    expect(statuses(r)).toEqual({ scale: 'ran' });
    expect(reasonOf(r, 'scale')).toBe('env SCALE changed (2 -> 3)');
    expect(read(passing, 'out.txt')).toBe('scale=3\n');
    const unset = runJson(passing, [], 'run', { SCALE: undefined });
    expect(reasonOf(unset, 'scale')).toBe('env SCALE was removed');
  });

  it('CC=wrapper through a per-step passEnv glob: the make step reruns, the other one does not', () => {
    const ws = workspace({
      'pipeline.yml': 'steps:\n  build:\n    run: echo "cc=${CC:-cc}" > build.txt\n    passEnv: ["C*"]\n  docs:\n    run: echo "cc=${CC:-none}" > docs.txt\n',
    });
    runJson(ws, [], 'run', { CC: 'gcc' });
    expect([read(ws, 'build.txt'), read(ws, 'docs.txt')]).toEqual(['cc=gcc\n', 'cc=none\n']);
    const r = runJson(ws, [], 'run', { CC: '/opt/wrapper/cc' });
    expect(statuses(r)).toEqual({ build: 'ran', docs: 'skipped' });
    expect(reasonOf(r, 'build')).toBe('env CC changed (gcc -> /opt/wrapper/cc)');
    expect(read(ws, 'build.txt')).toBe('cc=/opt/wrapper/cc\n');
  });

  it('PATH is part of every step\'s identity', () => {
    const ws = workspace({ 'pipeline.yml': 'steps:\n  a:\n    run: echo "$PATH" > path.txt\n' });
    runJson(ws);
    const path = `/usr/bin:/bin:${process.env.PATH}`;
    const plan = runJson(ws, [], 'status', { PATH: path });
    expect(reasonOf(plan, 'a')).toMatch(/^env PATH changed/);
    const r = runJson(ws, [], 'run', { PATH: path });
    expect(statuses(r)).toEqual({ a: 'ran' });
    expect(read(ws, 'path.txt')).toBe(`${path}\n`);
  });

  it('the step sees the allowlist, passEnv and env: only', () => {
    const ws = workspace({
      'pipeline.yml': 'passEnv: [KEEP_ME]\nenv:\n  SET_HERE: yes\nsteps:\n  a:\n    run: env > env.txt\n',
    });
    runJson(ws, [], 'run', { KEEP_ME: '1', DROP_ME: '1', LC_ALL: 'C', TZ: 'UTC' });
    const names = read(ws, 'env.txt').split('\n').map((l) => l.split('=')[0]).filter(Boolean);
    expect(names).toEqual(expect.arrayContaining(['KEEP_ME', 'SET_HERE', 'LC_ALL', 'TZ', 'PATH', 'HOME', 'PROV_MAKE_STEP']));
    expect(names).not.toContain('DROP_ME');
    expect(names).not.toContain('CI'); // the test harness sets it; steps do not inherit it
  });

  it('a secret is hashed: a change reruns, its value is never stored in clear', () => {
    const ws = workspace({ 'pipeline.yml': 'passEnv: [DEPLOY_TOKEN]\nsteps:\n  a:\n    run: test -n "$DEPLOY_TOKEN" && echo ok > out.txt\n' });
    const secret = 'tok-4f1e9a0c2b';
    expect(runJson(ws, [], 'run', { DEPLOY_TOKEN: secret }).code).toBe(0);
    const r = runJson(ws, [], 'run', { DEPLOY_TOKEN: `${secret}-rotated` });
    expect(statuses(r)).toEqual({ a: 'ran' });
    expect(reasonOf(r, 'a')).toBe('env DEPLOY_TOKEN changed (a secret: values not shown)');
    for (const args of [['log', '--json'], ['graph', '--prov'], ['why', 'out.txt', '--json']]) expect(cli(ws, args).stdout).not.toContain(secret);
    expect(everything(join(ws, '.prov-make'))).not.toContain(secret);
  });
});

describe('prov-make run: strict shells', () => {
  it('run: | with a failing first line fails the step, whatever follows', () => {
    const ws = workspace({ 'pipeline.yml': 'steps:\n  a:\n    run: |\n      false\n      echo after > after.txt\n' });
    const r = runJson(ws);
    expect(r.code).toBe(1);
    expect(statuses(r)).toEqual({ a: 'failed' });
    expect(reasonOf(r, 'a')).toMatch(/^exit code 1/);
    expect(existsSync(join(ws, 'after.txt'))).toBe(false);
  });

  it('shell: bash adds pipefail; sh does not know it; the shell is part of the identity', () => {
    const ws = workspace({ 'pipeline.yml': 'shell: bash\nsteps:\n  a:\n    run: false | true; echo x > a.txt\n' });
    expect(statuses(runJson(ws))).toEqual({ a: 'failed' });
    const sh = workspace({ 'pipeline.yml': 'steps:\n  a:\n    run: false | true; echo x > a.txt\n' });
    expect(statuses(runJson(sh))).toEqual({ a: 'ran' });
    execFileSync('sh', ['-c', 'printf "shell: bash\\n" | cat - pipeline.yml > p2 && mv p2 pipeline.yml'], { cwd: sh });
    const r = runJson(sh);
    expect(statuses(r)).toEqual({ a: 'failed' });
    expect(reasonOf(r, 'a')).toMatch(/its shell changed \(\/bin\/sh -e -c -> bash -e -o pipefail -c\)/);
  });

  it('a shell given by its path, per step, with its arguments', () => {
    const ws = workspace({ 'pipeline.yml': 'steps:\n  a:\n    shell: /bin/bash --norc -e\n    run: echo "$BASH_VERSION" > v.txt\n' });
    expect(statuses(runJson(ws))).toEqual({ a: 'ran' });
    expect(read(ws, 'v.txt')).toMatch(/^\d+\.\d+/);
  });
});
