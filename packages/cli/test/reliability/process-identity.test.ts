/**
 * Issue 11, item 3: processes are known by pid and start time, not by pid. After a kill -9, the
 * old run's pid and its step's process group id are given to unrelated processes (forced through
 * /proc/sys/kernel/ns_last_pid, as root); the next run leaves them alone, takes the lock and runs.
 * SIGTERM, and SIGHUP from a terminal that closes, stop a run's steps as Ctrl-C does.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { inTerminal, runJson, startCli, statuses, until, workspace } from '../cli-helpers.js';

const PIPELINE = 'steps:\n  wait:\n    run: if [ -e slow ]; then sleep 300; fi; echo done > out.txt\n';

const strangers: ChildProcess[] = [];
afterEach(() => {
  for (const s of strangers.splice(0)) s.kill('SIGKILL');
});

/** The process groups a running prov-make noted (their leaders' pids). */
function notedGroups(ws: string): number[] {
  try {
    return readFileSync(join(ws, `.prov-make/run/process-groups@${hostname()}`), 'utf8').split('\n').filter(Boolean).map((l) => Number(l.split('.')[0]));
  } catch {
    return [];
  }
}

/** Exited (or a zombie): a process may end between two looks at /proc, so one read decides. */
function gone(pid: number): boolean {
  try {
    return /\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return true;
  }
}

/** An unrelated `sleep` in a session (and process group) of its own, with exactly this pid. */
function takePid(pid: number): ChildProcess {
  for (let attempt = 0; attempt < 2000; attempt++) { // other tests and helpers of this machine start processes too
    writeFileSync('/proc/sys/kernel/ns_last_pid', String(pid - 1));
    const child = spawn('sleep', ['300'], { detached: true, stdio: 'ignore' });
    if (child.pid === pid) {
      strangers.push(child);
      return child;
    }
    child.kill('SIGKILL'); // another process of this busy machine was faster: try again
  }
  throw new Error(`could not get pid ${pid} through ns_last_pid`);
}

/** A run whose step sleeps, once the step's group is noted. */
async function runningStep(ws: string) {
  const run = startCli(ws, ['run']);
  await until(() => notedGroups(ws).length === 1, 20_000, 'the step to start');
  return { run, group: notedGroups(ws)[0] };
}

describe('process identity', () => {
  it('after a kill -9, unrelated processes given the old run\'s pid and its step group\'s are left alone; the next run takes the lock and runs', async () => {
    const ws = workspace({ 'pipeline.yml': PIPELINE, slow: '' });
    const { run, group } = await runningStep(ws);
    run.child.kill('SIGKILL');
    await run.done;
    process.kill(-group, 'SIGKILL');
    await until(() => gone(group), 10_000, 'the old step to end');
    rmSync(join(ws, 'slow'));

    const inGroup = takePid(group);
    const inRun = takePid(run.child.pid!);
    const r = runJson(ws, ['--no-wait']);
    expect(r.code, r.stderr).toBe(0);
    expect(statuses(r)).toEqual({ wait: 'ran' });
    expect(gone(inGroup.pid!)).toBe(false);
    expect(gone(inRun.pid!)).toBe(false);
  });

  it('a step a killed run left running is still stopped by the next run', async () => {
    const ws = workspace({ 'pipeline.yml': PIPELINE, slow: '' });
    const { run, group } = await runningStep(ws);
    run.child.kill('SIGKILL');
    await run.done;
    expect(gone(group)).toBe(false);
    rmSync(join(ws, 'slow'));
    const r = runJson(ws);
    expect(r.code, r.stderr).toBe(0);
    await until(() => gone(group), 10_000, 'the leftover step to be stopped');
  });

  it('SIGTERM stops the run\'s steps as Ctrl-C does: exit 130, nothing recorded', async () => {
    const ws = workspace({ 'pipeline.yml': PIPELINE, slow: '' });
    const { run, group } = await runningStep(ws);
    run.child.kill('SIGTERM');
    expect((await run.done).code).toBe(130);
    await until(() => gone(group), 10_000, 'the step to be stopped');
    rmSync(join(ws, 'slow'));
    expect(statuses(runJson(ws, [], 'status'))).toEqual({ wait: 'would-run' });
  });

  it('a terminal that closes (SIGHUP) stops the run\'s steps', async () => {
    const ws = workspace({ 'pipeline.yml': PIPELINE, slow: '' });
    const term = inTerminal(ws, ['run']);
    try {
      await until(() => notedGroups(ws).length === 1, 20_000, 'the step to start');
      const group = notedGroups(ws)[0];
      term.close();
      await until(() => gone(group), 10_000, 'the step to be stopped');
      await until(() => !existsSync(join(ws, '.prov-make/lock')), 10_000, 'prov-make to end');
    } finally {
      term.close();
    }
  });
});
