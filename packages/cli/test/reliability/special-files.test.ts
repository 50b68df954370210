/**
 * Issue 11, item 5: sizes and special files. The pipeline file is a regular file read with a size
 * limit, or a pipe (`-f -`, `-f <(...)`); a FIFO or a device is refused at once. Step names and
 * commands the system would refuse later are refused when the file is read, at their line and
 * column. A sparse input over 2 GiB (where reading it whole failed) is hashed streamed, in bounded memory, and a large output is kept,
 * uploaded, downloaded and restored without being held in memory.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, truncateSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, cli, runJson, statuses, workspace } from '../cli-helpers.js';
import { startNginx, type Nginx } from '../nginx.js';

const PIPELINE = 'steps:\n  hello:\n    run: echo hello > hello.txt\n';

/** `prov-make ARGS` through bash (for process substitution and redirections), with its peak memory. */
function shell(dir: string, command: string): { code: number | null; stdout: string; stderr: string; peakMiB: number } {
  const r = spawnSync('bash', ['-c', `/usr/bin/time -f 'PEAK %M' ${command}`], { cwd: dir, encoding: 'utf8', env: { ...process.env, CI: 'true', PM: `${process.execPath} ${CLI}` }, timeout: 180_000 });
  const peak = /PEAK (\d+)/.exec(r.stderr);
  return { code: r.status, stdout: r.stdout, stderr: r.stderr.replace(/PEAK \d+\n?/, ''), peakMiB: peak ? Number(peak[1]) / 1024 : NaN };
}

describe('the pipeline file', () => {
  it('may come through process substitution or standard input: the workspace is the working folder', () => {
    const ws = workspace({ 'pipeline.yml': PIPELINE });
    const r = shell(ws, '$PM run --json -f <(cat pipeline.yml)');
    expect(r.code, r.stderr).toBe(0);
    expect(statuses(JSON.parse(r.stdout))).toEqual({ hello: 'ran' });
    expect(readFileSync(join(ws, 'hello.txt'), 'utf8')).toBe('hello\n');
    const again = shell(ws, 'cat pipeline.yml | $PM run --json -f -');
    expect(again.code, again.stderr).toBe(0);
    expect(statuses(JSON.parse(again.stdout))).toEqual({ hello: 'skipped' });
  });

  it('a FIFO, a device, or a device on standard input is refused at once with a message, exit 2', () => {
    const ws = workspace({ 'pipeline.yml': PIPELINE });
    spawnSync('mkfifo', [join(ws, 'fifo')]);
    for (const [command, what] of [['$PM run -f fifo', 'a FIFO'], ['$PM run -f /dev/zero', 'a device'], ['$PM run -f - < /dev/zero', 'a device']]) {
      const started = Date.now();
      const r = shell(ws, `timeout 20 ${command}`);
      expect(r.code, `${command}: ${r.stderr}`).toBe(2);
      expect(r.stderr).toContain(`error: the pipeline file is ${what}`);
      expect(Date.now() - started).toBeLessThan(15_000);
    }
    expect(existsSync(join(ws, 'hello.txt'))).toBe(false);
  });

  it('a file over the size limit is refused before it is read', () => {
    const ws = workspace({ 'pipeline.yml': PIPELINE });
    truncateSync(join(ws, 'pipeline.yml'), 300 * 1024 * 1024);
    const r = cli(ws, ['run']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^pipeline\.yml: error: the pipeline file is larger than 256 MiB/);
  });

  it('a step name or a command the system would refuse is an error at its line and column', () => {
    const ws = workspace({
      'long-name.yml': `steps:\n  ok:\n    run: echo ok\n  ${'n'.repeat(252)}:\n    run: echo ok\n`,
      'long-run.yml': `steps:\n  big:\n    run: echo ${'x'.repeat(200_000)}\n`,
      'long-item.yml': `steps:\n  each:\n    foreach: [${'i'.repeat(230)}]\n    run: echo {item}\n`,
    });
    const name = cli(ws, ['run', 'long-name.yml']);
    expect(name.code).toBe(2);
    expect(name.stderr).toMatch(/^long-name\.yml:4:3: error: step name "n+…" is 252 characters long, over the 200 a step name may have/);
    const run = cli(ws, ['run', 'long-run.yml']);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^long-run\.yml:3:10: error: run in step "big" is 200005 bytes long, over the 131071 a command may have on Linux\n  hint: put the commands in a script file/);
    const item = cli(ws, ['run', 'long-item.yml']);
    expect(item.code).toBe(2);
    expect(item.stderr).toMatch(/^long-item\.yml:3:14: error: step name "each\.i+…" is 235 characters long/);
    expect(name.stdout + run.stdout + item.stdout).not.toContain('running'); // nothing ran
  });
});

/**
 * A step reading the head of a 2.5 GiB sparse input and writing a 64 MiB sparse output. Over 2 GiB
 * is what matters (a whole read fails there); 5 GB was measured by hand (69 MB peak): in the suite
 * it costs a minute of hashing per run on a loaded machine.
 */
function sparseWorkspace(): string {
  const ws = workspace({ 'pipeline.yml': 'steps:\n  big:\n    run: mkdir -p out && head -c 1000 big.bin > out/head.bin && truncate -s 64M out/big.out\n', 'big.bin': '' });
  truncateSync(join(ws, 'big.bin'), 2.5 * 1024 ** 3);
  return ws;
}

describe('large files', () => {
  let nginx: Nginx;
  beforeAll(async () => {
    nginx = await startNginx();
  });
  afterAll(async () => {
    await nginx?.stop();
  });

  it('a 2.5 GiB sparse input is hashed streamed and a 64 MiB output kept, uploaded, downloaded and restored, in bounded memory', () => {
    const a = sparseWorkspace();
    const url = `${nginx.url('cache')}large/`;
    const first = shell(a, `$PM run --json --remote ${url}`);
    expect(first.code, first.stderr).toBe(0);
    expect(statuses(JSON.parse(first.stdout))).toEqual({ big: 'ran' });
    expect(first.peakMiB).toBeLessThan(400);

    const b = sparseWorkspace(); // a fresh clone, with its own cache folder
    mkdirSync(join(b, 'elsewhere'));
    const restored = shell(b, `$PM run --json --remote ${url} --cache-dir elsewhere`);
    expect(restored.code, restored.stderr).toBe(0);
    expect(statuses(JSON.parse(restored.stdout))).toEqual({ big: 'restored' });
    expect(readFileSync(join(b, 'out/big.out')).equals(Buffer.alloc(64 * 1024 * 1024))).toBe(true);
    expect(restored.peakMiB).toBeLessThan(400);
    const again = runJson(b, ['--cache-dir', 'elsewhere']);
    expect(again.steps[0].status, JSON.stringify(again.steps[0]) + again.stderr).toBe('skipped');
  }, 150_000);
});
