/**
 * The test cluster itself (test/slurm.ts): two one-node clusters run side by side without seeing each
 * other's jobs, a job submitted with plain sbatch runs and Slurm records how it ended, and stop()
 * leaves no daemon and no folder behind.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { startSlurm } from './slurm.js';

it('two clusters start side by side, each runs its own jobs, and stop leaves nothing behind', async () => {
  const started = Date.now();
  const [a, b] = await Promise.all([startSlurm(), startSlurm()]);
  const startMs = Date.now() - started;
  try {
    expect(startMs).toBeLessThan(20_000);
    expect(a.nodeName).not.toBe(b.nodeName);
    expect(a.run('sinfo', ['-h', '-o', '%N %T %c']).stdout.trim()).toBe(`${a.nodeName} idle ${a.cpus}`);

    const out = join(a.dir, 'job.out');
    const submitted = a.run('sbatch', ['--parsable', `--output=${out}`, '--job-name=hello', '--wrap', 'echo "hello from $SLURM_JOB_ID on $SLURMD_NODENAME"; exit 3']);
    expect(submitted.status, submitted.stderr).toBe(0);
    const id = submitted.stdout.trim();
    // b's controller never heard of it
    expect(b.run('squeue', ['-h', '-t', 'all', '-o', '%i']).stdout.trim()).toBe('');

    const deadline = Date.now() + 30_000;
    while (!a.completedJobs().some((j) => j.jobId === id) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(a.completedJobs()).toEqual([expect.objectContaining({ jobId: id, name: 'hello', state: 'FAILED', exitCode: '3:0' })]);
    const [{ start, end }] = a.completedJobs();
    expect(end - start).toBeGreaterThanOrEqual(0);
    expect(Math.abs(Date.now() - end)).toBeLessThan(60_000);
    expect(readFileSync(out, 'utf8')).toBe(`hello from ${id} on ${a.nodeName}\n`);
    // sacct reads the same record (jobcomp/filetxt), as it reads slurmdbd's on a real cluster
    expect(a.run('sacct', ['-c', '-n', '-P', '-j', id, '-o', 'jobid,state']).stdout.trim()).toBe(`${id}|FAILED`);
  } finally {
    await Promise.all([a.stop(), b.stop()]);
  }
  for (const s of [a, b]) {
    expect(existsSync(s.dir)).toBe(false);
    expect(s.pids).toHaveLength(3);
    for (const pid of s.pids) expect(() => process.kill(pid, 0)).toThrow(/ESRCH/);
  }
});
