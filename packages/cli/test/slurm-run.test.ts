/**
 * `prov-make run --executor slurm` against a real one-node Slurm (test/slurm.ts), through the CLI as a
 * user runs it: steps really go through Slurm (their job ids are recorded; `log`, `why` and the PROV
 * export show them; the controller saw each job end as prov-make says), a no-op submits nothing, an
 * edit reruns only what depends on it, `-j` has jobs in flight side by side, failures read as Slurm's
 * states, Ctrl-C cancels every job of the run and records nothing, the next run cancels what a
 * `kill -9` left, and results are shared with local runs both ways.
 *
 * The cases run concurrently on one cluster whose node declares 8 CPUs (so they fit side by side),
 * and each names its steps apart, since Slurm records jobs by step name. The time-limit case costs
 * 60 to 90 s (Slurm's smallest limit is a minute, checked every 30 s); the others finish meanwhile.
 */
import { chmodSync, cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCli, until, workspace, write, type CliResult, type RunJson } from './cli-helpers.js';
import { describeIssues, validateProvJson } from './prov-json-validator.js';
import { startSlurm, type Slurm } from './slurm.js';

let slurm: Slurm;
beforeAll(async () => {
  slurm = await startSlurm({ cpus: 8 });
});
afterAll(async () => {
  await slurm?.stop();
});

/** prov-make against the test cluster, without blocking the other cases (as spawnSync would). */
function prov(ws: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  return startCli(ws, args, { ...slurm.env, ...env }).done;
}

async function runJson(ws: string, args: string[] = [], env: NodeJS.ProcessEnv = {}): Promise<RunJson & { code: number | null; stderr: string }> {
  const r = await prov(ws, ['run', ...args, '--json'], env);
  try {
    return { ...JSON.parse(r.stdout), code: r.code, stderr: r.stderr };
  } catch {
    throw new Error(`prov-make run did not print JSON (exit ${r.code}).\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  }
}

const statuses = (r: RunJson) => Object.fromEntries(r.steps.map((s) => [s.name, s.status]));
const reasonOf = (r: RunJson, name: string) => r.steps.find((s) => s.name === name)?.reason;

interface LoggedExecution {
  step: string;
  status: string;
  job?: { scheduler: string; id: string; nodes: string | null; state: string };
}

/** Every recorded execution, oldest first (`log` lists them newest first). */
async function log(ws: string): Promise<LoggedExecution[]> {
  return (JSON.parse((await prov(ws, ['log', '--json'])).stdout) as LoggedExecution[]).reverse();
}

/** The jobs of these steps that the controller saw end (jobcomp), oldest first. */
const jobsOf = (...steps: string[]) => slurm.completedJobs().filter((j) => steps.includes(j.name));

/** Job ids the workspace's running prov-make has noted (what the next run cancels after a kill -9). */
const notedJobs = (ws: string) => {
  try {
    return readFileSync(join(ws, '.prov-make', 'run', 'slurm-jobs'), 'utf8').split('\n').filter(Boolean);
  } catch {
    return [];
  }
};

/** What squeue lists as running or waiting, by job id. */
const queued = () => new Map(slurm.run('squeue', ['-h', '-o', '%i %T']).stdout.split('\n').filter(Boolean).map((l) => l.split(' ') as [string, string]));

/**
 * Independent steps that sleep in their jobs while a file `slow` exists: recorded once (fast,
 * locally), then `slow` made and run with -j, until every job has said it started.
 */
async function runningSleepers(names: string[]) {
  // a job cancelled mid-sleep writes nothing (its shell may outlive the sleep by a moment)
  const steps = names.map((n) => `  ${n}:\n    run: if [ -e slow ]; then echo started; sleep 300; else echo ${n} > ${n}.txt; fi\n`).join('');
  const ws = workspace({ 'pipeline.yml': `executor: slurm\nresources: { mem: 100M }\nsteps:\n${steps}` });
  const first = await runJson(ws, ['--executor', 'local']);
  expect(first.code, first.stderr).toBe(0);
  writeFileSync(join(ws, 'slow'), '');
  const run = startCli(ws, ['run', '-j', String(names.length)], slurm.env);
  await until(() => names.every((s) => run.output().includes(`[${s}] started`)), 60_000, 'every job running');
  const ids = notedJobs(ws);
  expect(ids).toHaveLength(names.length);
  return { ws, run, ids };
}

describe.concurrent('prov-make run --executor slurm', () => {
  it('a pipeline through Slurm: job ids recorded and seen by the controller, a no-op submits nothing, an edit reruns only its users, -j runs jobs side by side', async () => {
    const ws = workspace({
      'pipeline.yml': `executor: slurm
resources: { mem: 100M, time: 10 }
steps:
  prep:
    run: tr a-z A-Z < in.txt > upper.txt
  left:
    run: sleep 2; sed 's/^/L /' upper.txt > left.txt
  right:
    run: sleep 2; sed 's/^/R /' upper.txt > right.txt && cat suffix.txt >> right.txt
  join:
    run: cat left.txt right.txt > out.txt; echo "joined in job $SLURM_JOB_ID"
`,
      'in.txt': 'one\ntwo\n',
      'suffix.txt': 'end\n',
    });
    const steps = ['prep', 'left', 'right', 'join'];
    const first = await runJson(ws, ['-j', '4']);
    expect(first.code, first.stderr).toBe(0);
    expect(statuses(first)).toEqual({ prep: 'ran', left: 'ran', right: 'ran', join: 'ran' });
    expect(readFileSync(join(ws, 'out.txt'), 'utf8')).toBe('L ONE\nL TWO\nR ONE\nR TWO\nend\n');

    // each execution ran as a job, on the node, and Slurm saw it complete
    const history = await log(ws);
    expect(history.map((e) => [e.step, e.status, e.job?.state, e.job?.nodes])).toEqual(steps.map((s) => [s, 'succeeded', 'COMPLETED', slurm.nodeName]));
    const ids = history.map((e) => e.job!.id);
    expect(new Set(ids).size).toBe(4);
    expect(jobsOf(...steps).map((j) => [j.name, j.jobId, j.state])).toEqual(steps.map((s, i) => [s, ids[i], 'COMPLETED']));
    expect(notedJobs(ws)).toEqual([]);
    expect(readdirSync(join(ws, '.prov-make', 'jobs'))).toEqual([]);
    const output = await prov(ws, ['log', 'join', '--output']);
    expect(output.stdout).toBe(`joined in job ${ids[3]}\n`);

    // why and the PROV export name the job
    const why = await prov(ws, ['why', 'out.txt']);
    expect(why.stdout).toContain(`Slurm job ${ids[3]} on ${slurm.nodeName}: COMPLETED`);
    const doc = JSON.parse((await prov(ws, ['graph', '--prov'])).stdout);
    expect(validateProvJson(doc, { idLocalPattern: /^[A-Za-z0-9._-]+$/ }), describeIssues(validateProvJson(doc))).toEqual([]);
    const activities = Object.values(doc.activity as Record<string, Record<string, unknown>>);
    expect(activities.map((a) => [a['pm:step'], a['pm:scheduler'], a['pm:jobId'], a['pm:jobState']])).toEqual(steps.map((s, i) => [s, 'slurm', ids[i], 'COMPLETED']));

    // a no-op submits nothing
    const noop = await runJson(ws, ['-j', '4']);
    expect(statuses(noop)).toEqual({ prep: 'skipped', left: 'skipped', right: 'skipped', join: 'skipped' });
    expect(jobsOf(...steps)).toHaveLength(4);

    // an edit reruns what depends on it, and only that
    write(ws, 'suffix.txt', 'the end\n');
    const edited = await runJson(ws, ['-j', '4']);
    expect(statuses(edited)).toEqual({ prep: 'skipped', left: 'skipped', right: 'ran', join: 'ran' });
    expect(reasonOf(edited, 'right')).toBe('input suffix.txt changed');
    expect(readFileSync(join(ws, 'out.txt'), 'utf8')).toBe('L ONE\nL TWO\nR ONE\nR TWO\nthe end\n');
    expect(jobsOf(...steps).map((j) => j.name)).toEqual([...steps, 'right', 'join']);

    // with the traces known, left and right are in flight at once
    const forced = await runJson(ws, ['-j', '4', '--force']);
    expect(forced.code, forced.stderr).toBe(0);
    const [left, right] = ['left', 'right'].map((s) => jobsOf(s).at(-1)!);
    expect(Math.max(left.start, right.start)).toBeLessThan(Math.min(left.end, right.end));
  }, 120_000);

  it('failures read as Slurm\'s: an exit code, out of memory with the limit, a refused job naming the option', async () => {
    const failing = workspace({ 'pipeline.yml': 'executor: slurm\nsteps:\n  boom:\n    run: echo about to fail; exit 3\n    resources: { mem: 100M }\n  after:\n    run: echo > after.txt\n    needs: [boom]\n' });
    const hog = workspace({ 'pipeline.yml': 'executor: slurm\nsteps:\n  hog:\n    run: python3 -c "import time; b = b\'x\' * (400 << 20); time.sleep(5)"\n    resources: { mem: 100M }\n' });
    const refused = workspace({ 'pipeline.yml': 'executor: slurm\nresources: { partition: nope }\nsteps:\n  nowhere:\n    run: echo never > never.txt\n' });
    const [f, h, r] = await Promise.all([runJson(failing), runJson(hog), runJson(refused)]);

    expect(f.code).toBe(1);
    expect(statuses(f)).toEqual({ boom: 'failed', after: 'blocked' });
    expect(reasonOf(f, 'boom')).toBe('exit code 3 (it ran because it has never run)');
    const [boom] = await log(failing);
    expect(boom.job).toMatchObject({ scheduler: 'slurm', state: 'FAILED', nodes: slurm.nodeName });
    expect(jobsOf('boom')).toEqual([expect.objectContaining({ jobId: boom.job!.id, state: 'FAILED', exitCode: '3:0' })]);
    const text = await prov(failing, ['log']);
    expect(text.stdout).toContain(`Slurm job ${boom.job!.id} on ${slurm.nodeName}: FAILED`);

    expect(h.code).toBe(1);
    expect(reasonOf(h, 'hog')).toBe('killed by Slurm: out of memory (mem=100M) (it ran because it has never run)');
    expect((await log(hog))[0].job?.state).toBe('OUT_OF_MEMORY');

    expect(r.code).toBe(1);
    expect(reasonOf(r, 'nowhere')).toBe('Slurm refused the job: partition=nope: Invalid partition name specified (sinfo lists the partitions)');
    expect(await log(refused)).toEqual([]); // nothing ran, nothing is recorded
    expect(existsSync(join(refused, 'never.txt'))).toBe(false);
  }, 60_000);

  it('a step over its time limit is killed by Slurm: its reason names the limit, its output Slurm\'s words', async () => {
    const ws = workspace({ 'pipeline.yml': 'executor: slurm\nsteps:\n  slow:\n    run: echo sleeping; sleep 300; echo never\n    resources: { time: 1, mem: 100M }\n' });
    const started = Date.now();
    const r = await prov(ws, ['run']);
    expect(Date.now() - started).toBeLessThan(150_000);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('[slow] FAILED: killed by Slurm: time limit exceeded (time=1) (it ran because it has never run)');
    expect(r.stdout).toMatch(/\[slow\] sleeping\n.*CANCELLED AT .* DUE TO TIME LIMIT/s);
    expect((await log(ws))[0].job?.state).toBe('TIMEOUT');
    expect(jobsOf('slow').map((j) => j.state)).toEqual(['TIMEOUT']);
  }, 180_000);

  it('Ctrl-C cancels every job of the run at once, and records nothing', async () => {
    const { ws, run, ids } = await runningSleepers(['c1', 'c2', 'c3']);
    const asked = Date.now();
    run.child.kill('SIGINT');
    const r = await run.done;
    expect(r.code, r.stderr).toBe(130);
    expect(Date.now() - asked).toBeLessThan(15_000);
    expect(jobsOf('c1', 'c2', 'c3').map((j) => [j.jobId, j.state]).sort()).toEqual(ids.map((id) => [id, 'CANCELLED']).sort());
    expect([...queued().keys()].filter((id) => ids.includes(id))).toEqual([]);
    expect(notedJobs(ws)).toEqual([]);
    // only the first (local) executions are recorded, so the steps run again
    expect((await log(ws)).map((e) => [e.step, e.job])).toEqual([['c1', undefined], ['c2', undefined], ['c3', undefined]]);
    const status = JSON.parse((await prov(ws, ['status', '--json'])).stdout) as RunJson;
    expect(statuses(status)).toEqual({ c1: 'would-run', c2: 'would-run', c3: 'would-run' });
  }, 120_000);

  it('after a kill -9 of prov-make, the next run (even a local one) cancels the jobs it left, and waits for them to end', async () => {
    const { ws, run, ids } = await runningSleepers(['k1', 'k2', 'k3']);
    run.child.kill('SIGKILL');
    await run.done;
    const left = queued();
    expect(ids.map((id) => left.get(id))).toEqual(['RUNNING', 'RUNNING', 'RUNNING']);

    rmSync(join(ws, 'slow'));
    const next = await runJson(ws, ['--executor', 'local']);
    expect(next.code, next.stderr).toBe(0);
    expect(statuses(next)).toEqual({ k1: 'skipped', k2: 'skipped', k3: 'skipped' });
    expect(['k1', 'k2', 'k3'].map((s) => readFileSync(join(ws, `${s}.txt`), 'utf8'))).toEqual(['k1\n', 'k2\n', 'k3\n']);
    expect([...queued().keys()].filter((id) => ids.includes(id))).toEqual([]);
    expect(jobsOf('k1', 'k2', 'k3').map((j) => [j.jobId, j.state]).sort()).toEqual(ids.map((id) => [id, 'CANCELLED']).sort());
    expect(notedJobs(ws)).toEqual([]);
    expect(existsSync(join(ws, '.prov-make', 'jobs'))).toBe(false);
  }, 120_000);

  it('a result made on the cluster is restored by a local run, and the reverse: the executor is not part of a step\'s identity', async () => {
    const pipeline = 'executor: slurm\nresources: { mem: 100M }\nsteps:\n  shout:\n    run: tr a-z A-Z < in.txt > up.txt\n  count:\n    run: wc -c < up.txt > n.txt\n';
    const cache = mkdtempSync(join(workspace(), 'cache-'));
    const sources = { 'pipeline.yml': pipeline, 'in.txt': 'made somewhere\n' };
    const onCluster = workspace(sources);
    expect(statuses(await runJson(onCluster, ['--cache-dir', cache]))).toEqual({ shout: 'ran', count: 'ran' });
    expect(jobsOf('shout', 'count')).toHaveLength(2);
    const local = workspace(sources);
    const restored = await runJson(local, ['--cache-dir', cache, '--executor', 'local']);
    expect(statuses(restored)).toEqual({ shout: 'restored', count: 'restored' });
    expect(readFileSync(join(local, 'n.txt'), 'utf8')).toBe(readFileSync(join(onCluster, 'n.txt'), 'utf8'));

    const otherCache = mkdtempSync(join(workspace(), 'cache-'));
    const madeLocally = workspace({ ...sources, 'in.txt': 'made here\n' });
    expect(statuses(await runJson(madeLocally, ['--cache-dir', otherCache, '--executor', 'local']))).toEqual({ shout: 'ran', count: 'ran' });
    const clusterClone = workspace();
    cpSync(join(madeLocally, 'pipeline.yml'), join(clusterClone, 'pipeline.yml'));
    cpSync(join(madeLocally, 'in.txt'), join(clusterClone, 'in.txt'));
    const fromLocal = await runJson(clusterClone, ['--cache-dir', otherCache]);
    expect(statuses(fromLocal)).toEqual({ shout: 'restored', count: 'restored' });
    expect(readFileSync(join(clusterClone, 'up.txt'), 'utf8')).toBe('MADE HERE\n');
    expect(jobsOf('shout', 'count')).toHaveLength(2); // no job for the restore
  }, 60_000);

  it('a submission Slurm took but did not answer is found by its tag; one it did not take stops the run\'s submissions, and the next run looks for it again', async () => {
    const bin = join(workspace(), 'bin');
    const sbatch = (submits: boolean) => {
      write(bin, 'sbatch', `#!/bin/sh\n${submits ? '/usr/bin/sbatch "$@" > /dev/null\n' : 'cat > /dev/null\n'}echo "sbatch: error: Batch job submission failed: Socket timed out on send/recv operation" >&2\nexit 1\n`);
      chmodSync(join(bin, 'sbatch'), 0o755);
    };
    const PATH = `${bin}:${process.env.PATH}`;
    const ws = workspace({ 'pipeline.yml': 'executor: slurm\nresources: { mem: 100M }\nsteps:\n  late:\n    run: echo late > late.txt\n  later:\n    run: echo later > later.txt\n' });
    sbatch(true);
    const taken = await runJson(ws, [], { PATH });
    expect(taken.code, taken.stderr).toBe(0);
    expect(statuses(taken)).toEqual({ late: 'ran', later: 'ran' });
    expect((await log(ws)).map((e) => e.job?.state)).toEqual(['COMPLETED', 'COMPLETED']);

    sbatch(false);
    const lost = await runJson(ws, ['--force', '-j', '1', '--keep-going'], { PATH });
    expect(lost.code).toBe(1);
    expect(reasonOf(lost, 'late')).toBe('Slurm did not answer the submission (Socket timed out on send/recv operation), and it holds no job of this submission: the step was not started');
    expect(reasonOf(lost, 'later')).toBe('not submitted: an earlier submission went unanswered (the Slurm controller is overloaded or down); no more jobs are submitted by this run');
    expect(notedJobs(ws)).toEqual([expect.stringMatching(/^\?prov-make:[0-9a-f]{16}$/)]);
    const again = await runJson(ws, [], { PATH }); // the same PATH: it is part of every step's identity
    expect(statuses(again)).toEqual({ late: 'skipped', later: 'skipped' });
    expect(notedJobs(ws)).toEqual([]);
  }, 60_000);

  it('refuses, before any job, a workspace the nodes cannot reach or a host without Slurm\'s commands', async () => {
    const shm = mkdtempSync('/dev/shm/pm-slurm-run-');
    try {
      writeFileSync(join(shm, 'pipeline.yml'), 'executor: slurm\nsteps:\n  a:\n    run: echo a > a.txt\n');
      const r = await prov(shm, ['run']);
      expect(r.code).toBe(2);
      expect(r.stderr).toBe(`prov-make: error: cannot run steps on Slurm: ${join(shm, '.prov-make')} is in memory on this machine (tmpfs): compute nodes cannot read it\n`
        + '  hint: prov-make and the workspace must be on a file system the compute nodes share (see docs/slurm.md)\n');
      expect(existsSync(join(shm, 'a.txt'))).toBe(false);
    } finally {
      rmSync(shm, { recursive: true, force: true });
    }
    const ws = workspace({ 'pipeline.yml': 'steps:\n  a:\n    run: echo a > a.txt\n' });
    const r = await prov(ws, ['run', '--executor', 'slurm'], { PATH: '/nonexistent' });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^prov-make: error: cannot run steps on Slurm: sbatch is not on the PATH/);
    expect(existsSync(join(ws, 'a.txt'))).toBe(false);
  });
});
