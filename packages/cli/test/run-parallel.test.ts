/** -j N, Ctrl-C, kill -9 of prov-make, and a second run in the same workspace. */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli, runJson, sleep, startCli, statuses, until, workspace } from './cli-helpers.js';

const stamp = (name: string) => `date +%s%N > ${name}.start; sleep 0.8; date +%s%N > ${name}.end`;

describe('prov-make run: parallel, interrupted, killed', () => {
  it('-j 2 runs steps that cannot touch each other\'s files at once', () => {
    const ws = workspace({
      'pipeline.yml': `steps:\n  a:\n    run: ${stamp('a')}\n  b:\n    run: ${stamp('b')}\n  c:\n    run: cat a.end b.end > c.txt\n`,
    });
    runJson(ws); // first run learns the traces (steps with no trace run alone)
    const r = runJson(ws, ['-j', '2', '--force']);
    expect(statuses(r)).toEqual({ a: 'ran', b: 'ran', c: 'ran' });
    const t = (f: string) => BigInt(readFileSync(join(ws, f), 'utf8').trim());
    // a and b overlapped; c started after both ended
    expect(t('a.start') < t('b.end') && t('b.start') < t('a.end')).toBe(true);
  });

  it('concurrent output never interleaves mid-line', () => {
    const line = (ch: string) => ch.repeat(3000);
    const loop = (ch: string) => `i=0; while [ $i -lt 200 ]; do echo ${line(ch)}; i=$((i+1)); done`;
    const ws = workspace({ 'pipeline.yml': `steps:\n  x:\n    run: ${loop('x')}\n  y:\n    run: ${loop('y')}\n` });
    runJson(ws);
    const r = cli(ws, ['run', '-j', '2', '--force']);
    const lines = r.stdout.split('\n').filter((l) => l.startsWith('[x] x') || l.startsWith('[y] y'));
    expect(lines.length).toBe(400);
    for (const l of lines) expect(l).toMatch(/^\[(x)\] x{3000}$|^\[(y)\] y{3000}$/);
  });

  it('Ctrl-C stops every running step and records nothing false', async () => {
    const ws = workspace({
      'pipeline.yml': 'steps:\n  long:\n    run: echo $$ > long.pid; echo partial > out.txt; sleep 30; echo done > out.txt\n',
    });
    const run = startCli(ws, ['run']);
    await until(() => existsSync(join(ws, 'long.pid')) && readFileSync(join(ws, 'long.pid'), 'utf8').trim() !== '', 20_000, 'the step to start');
    await sleep(200);
    run.child.kill('SIGINT');
    const done = await run.done;
    expect(done.code).toBe(130);
    expect(done.stdout + done.stderr).toMatch(/interrupted/);
    const pid = Number(readFileSync(join(ws, 'long.pid'), 'utf8'));
    await until(() => { try { process.kill(pid, 0); return false; } catch { return true; } }, 10_000, 'the step to stop');
    const status = runJson(ws, [], 'status');
    expect(statuses(status).long).toBe('would-run');
    expect(status.steps[0].reason).toBe('it has never run');
  });

  it('a kill -9 of prov-make at any moment leaves no corrupt state and no step wrongly skipped', async () => {
    const pipeline = ['steps:'];
    for (let i = 0; i < 6; i++) pipeline.push(`  s${i}:`, `    run: sleep 0.15; cat ${i === 0 ? 'seed.txt' : `o${i - 1}.txt`} > o${i}.tmp; echo ${i} >> o${i}.tmp; mv o${i}.tmp o${i}.txt`);
    const ws = workspace({ 'pipeline.yml': pipeline.join('\n') + '\n', 'seed.txt': 'seed\n' });
    const expected = (seed: string) => {
      let s = seed;
      return Array.from({ length: 6 }, (_, i) => (s = s + `${i}\n`));
    };
    for (const [round, delay] of [[0, 150], [1, 400], [2, 700], [3, 1000]] as const) {
      const seed = `seed ${round}\n`;
      execFileSync('sh', ['-c', `printf '${seed.replace('\n', '\\n')}' > seed.txt`], { cwd: ws });
      const run = startCli(ws, ['run']);
      await sleep(delay);
      run.child.kill('SIGKILL');
      await run.done;
      const after = runJson(ws);
      expect(after.code).toBe(0);
      const want = expected(seed);
      for (let i = 0; i < 6; i++) expect(readFileSync(join(ws, `o${i}.txt`), 'utf8')).toBe(want[i]);
      expect(statuses(runJson(ws))).toEqual(Object.fromEntries(Array.from({ length: 6 }, (_, i) => [`s${i}`, 'skipped'])));
    }
    expect(readdirSync(join(ws, '.prov-make')).includes('lock')).toBe(false);
  });

  it('a second run in the same workspace waits, or says clearly that one is running', async () => {
    // The step holds the lock until the test releases it, so the timing is the test's own.
    const ws = workspace({
      'pipeline.yml': 'ignore: [release]\nsteps:\n  slow:\n    run: echo go > started.flag; while [ ! -e release ]; do sleep 0.05; done; echo ok > slow.txt\n',
    });
    const first = startCli(ws, ['run']);
    await until(() => existsSync(join(ws, 'started.flag')), 30_000, 'the first run to start');
    const refused = cli(ws, ['run', '--no-wait']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/another prov-make \(pid \d+\) is running in this workspace/);
    const waiting = startCli(ws, ['run']);
    await until(() => /waiting for it to finish/.test(waiting.output()), 30_000, 'the second run to wait');
    writeFileSync(join(ws, 'release'), '');
    expect((await first.done).code).toBe(0);
    const second = await waiting.done;
    expect(second.code).toBe(0);
    expect(second.stdout).toMatch(/\[slow\] up to date/);
  });

  it('a lock held from another host (a shared file system) is never taken as stale; a dead pid of this host is', () => {
    const ws = workspace({ 'pipeline.yml': 'steps:\n  a:\n    run: echo a > a.txt\n' });
    mkdirSync(join(ws, '.prov-make'));
    writeFileSync(join(ws, '.prov-make', 'lock'), '999999999@login-elsewhere');
    const refused = cli(ws, ['run', '--no-wait']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toBe('prov-make: error: another prov-make (pid 999999999 on login-elsewhere) is running in this workspace\n'
      + '  hint: wait for it to finish, or run again without --no-wait to wait; if that run was killed on login-elsewhere, remove .prov-make/lock\n');
    expect(existsSync(join(ws, 'a.txt'))).toBe(false);
    writeFileSync(join(ws, '.prov-make', 'lock'), '999999999'); // as older versions wrote it: this host, and gone
    expect(cli(ws, ['run', '--no-wait']).code).toBe(0);
    expect(readdirSync(join(ws, '.prov-make')).includes('lock')).toBe(false);
  });
});
