/**
 * Issue 11: kill -9 at random moments. A `run -j 2` is killed at 30 random points (the input edited
 * between some of them); every run after a kill recovers what it left behind, and in the end the
 * outputs are byte for byte those of a clean run from scratch on the same inputs. After every third kill
 * `why` answers (never a crash), and no temporary file of the tool shows outside `.prov-make/`.
 * Trace logs and temp files of the killed runs are gone once the next run has started.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CLI, cli, runJson, sleep, workspace } from '../cli-helpers.js';

const PIPELINE = `steps:
  parts:
    run: mkdir -p out && for i in 1 2 3 4 5 6; do cat src/in.txt > out/part$i.txt; echo $i >> out/part$i.txt; done
  sorted:
    run: sort out/part*.txt > out/sorted.txt
  count:
    run: wc -c out/part*.txt > out/count.txt && python3 -c "import sys; print(sum(1 for _ in open('out/sorted.txt')))" >> out/count.txt
  all:
    run: cat out/sorted.txt out/count.txt > out/all.txt && rm -rf copy && cp -r out copy
`;

/** Every file of a workspace outside `.prov-make/`, with its bytes. */
function files(dir: string, under = dir): Map<string, string> {
  const found = new Map<string, string>();
  for (const entry of readdirSync(under, { withFileTypes: true })) {
    const abs = join(under, entry.name);
    if (entry.name === '.prov-make') continue;
    if (entry.isDirectory()) for (const [k, v] of files(dir, abs)) found.set(k, v);
    else found.set(relative(dir, abs), readFileSync(abs, 'latin1'));
  }
  return found;
}

/** A small seeded generator: a failure names its seed, and the same points can be replayed. */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

/** Starts `run -j 2` and SIGKILLs prov-make (only it: its steps are left running, as after a crash) after `ms`. */
async function killedRun(ws: string, ms: number): Promise<void> {
  const child = spawn(process.execPath, [CLI, 'run', '-j', '2'], { cwd: ws, env: { ...process.env, CI: 'true' }, stdio: 'ignore' });
  const exited = new Promise((r) => child.on('exit', r));
  await sleep(ms);
  child.kill('SIGKILL');
  await exited;
}

const traceLogsOf = (pids: Set<number>) =>
  readdirSync('/dev/shm').filter((n) => n.startsWith('prov-make-trace-') && pids.has(Number(n.slice('prov-make-trace-'.length).split(/[.-]/)[0])));

describe('kill -9 at random moments', () => {
  it('30 kills of run -j 2, with edits between: every recovery correct, outputs equal to a clean run', async () => {
    const seed = Number(process.env.KILL_SEED ?? Date.now() % 100_000);
    const next = random(seed);
    const ws = workspace({ 'pipeline.yml': PIPELINE, 'src/in.txt': 'v0\n' });
    const started = Date.now();
    expect(runJson(ws, ['-j', '2']).code).toBe(0);
    const cleanMs = Math.max(300, Date.now() - started);
    for (let k = 0; k < 30; k++) {
      if (next() < 0.4) writeFileSync(join(ws, 'src/in.txt'), `v${k}\n`);
      await killedRun(ws, Math.floor(next() * cleanMs * 1.2));
      if (k % 3 === 0) {
        const why = cli(ws, ['why', 'out/all.txt']);
        expect([0, 1, 2], `seed ${seed}, kill ${k}: why: ${why.stderr}`).toContain(why.code);
      }
      const strays = [...files(ws).keys()].filter((p) => p.includes('.prov-make-') || p.endsWith('.tmp'));
      expect(strays, `seed ${seed}, kill ${k}`).toEqual([]);
    }
    const last = runJson(ws, ['-j', '2']);
    expect(last.code, `seed ${seed}: ${last.stderr}`).toBe(0);

    const clean = workspace({ 'pipeline.yml': PIPELINE, 'src/in.txt': readFileSync(join(ws, 'src/in.txt'), 'utf8') });
    expect(runJson(clean, ['-j', '2']).code).toBe(0);
    expect(Object.fromEntries(files(ws)), `seed ${seed}`).toEqual(Object.fromEntries(files(clean)));
    expect(runJson(ws).steps.every((s) => s.status === 'skipped'), `seed ${seed}`).toBe(true);
    rmSync(clean, { recursive: true, force: true });
  }, 240_000);

  it('trace logs and temp files of a killed run are removed by the next run', async () => {
    const ws = workspace({ 'pipeline.yml': 'steps:\n  slow:\n    run: sleep 30 && echo done > done.txt\n' });
    const child = spawn(process.execPath, [CLI, 'run'], { cwd: ws, env: { ...process.env, CI: 'true' }, stdio: 'ignore' });
    const exited = new Promise((r) => child.on('exit', r));
    const pids = new Set([child.pid!]);
    for (let i = 0; i < 200 && traceLogsOf(pids).length === 0; i++) await sleep(50);
    expect(traceLogsOf(pids).length).toBeGreaterThan(0);
    child.kill('SIGKILL');
    await exited;
    writeFileSync(join(ws, 'pipeline.yml'), 'steps:\n  slow:\n    run: echo done > done.txt\n');
    mkdirSync(join(ws, '.prov-make/tmp'), { recursive: true });
    writeFileSync(join(ws, '.prov-make/tmp/restore-1234-abcdef'), 'half a restore'); // as a kill during a restore leaves it
    expect(runJson(ws).code).toBe(0);
    expect(traceLogsOf(pids)).toEqual([]);
    expect(existsSync(join(ws, '.prov-make/tmp/restore-1234-abcdef'))).toBe(false);
    expect(existsSync(join(ws, 'done.txt'))).toBe(true);
  });
});
