/**
 * The Slurm client against a real one-node Slurm (test/slurm.ts): steps submitted as batch jobs end
 * with Slurm's own final state and exit code, read as the reasons a person sees; output arrives
 * while the job runs; cancelling works for running and pending jobs; a refused submission names the
 * option; and a command traced through Slurm records what it read and wrote into trace logs kept in
 * the workspace. The tests run concurrently. A time limit exceeded is tested through the engine
 * (slurm-run.test.ts): Slurm's smallest limit is a minute, checked every 30 s, so one such test costs 60 to 90 s.
 */
import { mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collectTrace, prepareLogDir } from '@prov-make/interposer';
import { jobTracing, SlurmClient, type SlurmJobSpec } from '../src/executor/slurm.js';
import { describeJobFailure } from '../src/engine/reasons.js';
import { jobFailure, SlurmSubmitError, type SlurmJobEnd } from '../src/executor/slurm-outcome.js';
import type { SlurmResources } from '../src/executor/slurm-resources.js';
import { startSlurm, type Slurm } from './slurm.js';

let slurm: Slurm;
let client: SlurmClient;
let root: string;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  slurm = await startSlurm();
  env = { ...process.env, ...slurm.env };
  client = new SlurmClient({ env, pollMs: { min: 100, max: 1000 } });
  // workspaces on the disk, as on a shared file system (never /dev/shm)
  root = realpathSync(mkdtempSync(join(tmpdir(), 'pm-slurm-ws-')));
});
afterAll(async () => {
  await slurm?.stop();
  rmSync(root, { recursive: true, force: true });
});

let made = 0;
/** A workspace folder with its .prov-make/ state folder, where job outputs go. */
function workspace(files: Record<string, string> = {}): string {
  const ws = join(root, `ws %${++made}`); // a space, and the % of Slurm's file name patterns
  mkdirSync(join(ws, '.prov-make', 'jobs'), { recursive: true });
  for (const [p, content] of Object.entries(files)) writeFileSync(join(ws, p), content);
  return ws;
}

function spec(ws: string, command: string, over: Partial<SlurmJobSpec> = {}): SlurmJobSpec {
  return { command, cwd: ws, env, outputFile: join(ws, '.prov-make', 'jobs', `${made}-${Date.now()}.out`), name: 'pm-test', ...over };
}

/** Slurm's verdict in words, or null when the command's own exit status says it all. */
function said(end: SlurmJobEnd, resources: SlurmResources): string | null {
  const failure = jobFailure(end, resources);
  return failure && describeJobFailure('Slurm', failure);
}

async function until(what: string, ok: () => boolean, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe.concurrent('steps as Slurm jobs', () => {
  it('a step that succeeds: its id at once, its output as it comes, COMPLETED, and Slurm recorded it', async () => {
    const ws = workspace();
    const chunks: Buffer[] = [];
    const states: string[] = [];
    const job = await client.submit(spec(ws, 'echo "out $SLURM_JOB_ID"; echo err >&2; echo "cwd $(pwd)"', { onOutput: (c) => chunks.push(c), onState: (s) => states.push(s) }));
    expect(job.id).toMatch(/^\d+$/);
    const end = await job.done;
    expect(end).toEqual({ jobId: job.id, state: 'COMPLETED', exitCode: 0, signal: null, nodes: slurm.nodeName, setupProblem: null });
    expect(said(end, {})).toBeNull();
    expect(Buffer.concat(chunks).toString()).toBe(`out ${job.id}\nerr\ncwd ${ws}\n`);
    expect(slurm.completedJobs()).toContainEqual(expect.objectContaining({ jobId: job.id, name: 'pm-test', state: 'COMPLETED', exitCode: '0:0' }));
    expect(states.every((s) => ['PENDING', 'RUNNING', 'COMPLETING'].includes(s))).toBe(true);
  });

  it('a step that exits 3 fails with exit code 3; one killed by a signal says which (the command\'s own exit, not Slurm\'s verdict)', async () => {
    const ws = workspace();
    const [three, killed] = await Promise.all([client.submit(spec(ws, 'echo about to fail; exit 3')), client.submit(spec(ws, 'kill -9 $$'))]);
    const [e3, e9] = await Promise.all([three.done, killed.done]);
    expect(e3).toMatchObject({ state: 'FAILED', exitCode: 3, signal: null });
    expect(said(e3, {})).toBeNull();
    expect(e9).toMatchObject({ state: 'FAILED', exitCode: null, signal: 9 });
    expect(said(e9, {})).toBeNull();
    expect(slurm.completedJobs()).toContainEqual(expect.objectContaining({ jobId: three.id, name: 'pm-test', state: 'FAILED', exitCode: '3:0' }));
  });

  it('a step over its memory is killed by Slurm: out of memory, with mem= in the reason', async () => {
    const ws = workspace();
    const resources = { mem: '100M' };
    const job = await client.submit(spec(ws, 'python3 -c "import time; b = b\'x\' * (400 << 20); time.sleep(5)"', { resources }));
    const end = await job.done;
    expect(end.state).toBe('OUT_OF_MEMORY');
    expect(said(end, resources)).toBe('killed by Slurm: out of memory (mem=100M)');
  });

  it('cancelling: a running job (after its first output) and a pending one, in one call', async () => {
    const ws = workspace();
    let output = '';
    const running = await client.submit(spec(ws, 'echo started; sleep 300', { onOutput: (c) => (output += c) }));
    const pending = await client.submit(spec(ws, 'echo never', { resources: { slurm: ['--begin=now+1hour'] } }));
    await until('the first output line', () => output.includes('started\n'));
    const asked = Date.now();
    await client.cancel([running.id, pending.id]);
    const [r, p] = await Promise.all([running.done, pending.done]);
    expect(Date.now() - asked).toBeLessThan(10_000);
    expect(r.state).toBe('CANCELLED');
    expect(p.state).toBe('CANCELLED');
    expect(said(r, {})).toBe('killed by Slurm: cancelled (scancel, or an administrator)');
    // already ended: nothing to do, no error
    await client.cancel([running.id]);
  });

  it('a refused submission names the option: a bad partition, more memory than any node has', async () => {
    const ws = workspace();
    const partition = client.submit(spec(ws, 'true', { resources: { partition: 'nope', cpus: 1 } }));
    await expect(partition).rejects.toBeInstanceOf(SlurmSubmitError);
    await expect(partition).rejects.toMatchObject({ option: 'partition', message: 'Slurm refused the job: partition=nope: Invalid partition name specified (sinfo lists the partitions)' });
    const mem = client.submit(spec(ws, 'true', { resources: { mem: `${slurm.memoryMb * 4}M` } }));
    await expect(mem).rejects.toMatchObject({ option: 'mem', message: expect.stringMatching(/^Slurm refused the job: mem=\d+M: Requested node configuration is not available/) });
  });

  it('a job whose folder is gone on the node says so, instead of running the step in /tmp', async () => {
    const ws = workspace();
    const cwd = join(ws, 'sub');
    mkdirSync(cwd);
    const job = await client.submit(spec(ws, 'touch made-here', { cwd, resources: { slurm: ['--begin=now+2'] } }));
    rmSync(cwd, { recursive: true });
    const end = await job.done;
    expect(end.state).toBe('FAILED');
    expect(said(end, {})).toBe(`the job could not start on ${slurm.nodeName}: cannot enter ${cwd}: the workspace must be on a file system the compute nodes share`);
  });

  it('a traced step: LD_PRELOAD reaches the job, its trace logs in the workspace hold what it read and wrote', async () => {
    const ws = workspace({ 'in.txt': 'to be copied\n' });
    const logDir = prepareLogDir(join(ws, '.prov-make', 'trace', 'copy'));
    const tracing = jobTracing(env, logDir);
    expect(Object.keys(tracing.execEnv ?? {})).toContain('LD_PRELOAD');
    const job = await client.submit(spec(ws, 'cat in.txt > out.txt', tracing));
    const end = await job.done;
    expect(end.state).toBe('COMPLETED');
    expect(readFileSync(join(ws, 'out.txt'), 'utf8')).toBe('to be copied\n');
    const { deps, problems } = await collectTrace(logDir);
    expect(problems).toEqual([]);
    expect(deps.reads).toContain(join(ws, 'in.txt'));
    expect(deps.writes).toEqual([join(ws, 'out.txt')]);
    expect(deps.executed).toContain('/usr/bin/cat');
    // the command was traced, not Slurm's side of it
    expect(deps.executed.filter((p) => /slurm|sbatch|munge/.test(p))).toEqual([]);
    expect(deps.reads.filter((p) => p.startsWith(slurm.dir))).toEqual([]);
  });

  it('refuses trace logs or a library in memory on this machine (tmpfs) before submitting', async () => {
    const ws = workspace();
    const shm = mkdtempSync('/dev/shm/pm-slurm-');
    try {
      await expect(client.submit(spec(ws, 'true', { syncDir: shm }))).rejects.toThrow(`cannot run the step on Slurm: ${shm} is in memory on this machine (tmpfs): compute nodes cannot read it`);
    } finally {
      rmSync(shm, { recursive: true, force: true });
    }
  });
});
