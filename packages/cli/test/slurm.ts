/**
 * A real one-node Slurm cluster (Debian's slurm-wlm and munge) for the Slurm executor tests: this
 * machine is the controller and the only compute node. Everything it touches lives in one temp
 * folder (slurm.conf, the MUNGE key and socket, state, spool, logs), on ports nothing else uses, under
 * a cluster and node name of its own, so test files can each start one at the same time. The daemons
 * run as root in the foreground, as children of the test process; `stop()` cancels what is left,
 * kills them and removes the folder.
 *
 * Choices (see docs/slurm.md):
 * - Finished jobs are read from the controller (`squeue --states=all`), which keeps them for
 *   MinJobAge (300 s here, as by default). There is no slurmdbd, so plain `sacct` has nothing;
 *   jobcomp/filetxt writes one line per finished job (state, exit code) that `completedJobs()` and
 *   `sacct -c` read, so a test can check that Slurm itself saw a job end as the client says.
 * - No cgroups: task/cgroup would move job processes out of the cgroup this test process runs in.
 *   Memory limits are enforced by jobacct_gather/linux polling every second (OverMemoryKill).
 * - Fast dispatch: batch_sched_delay=0 (batch jobs are scheduled on the controller's next
 *   one-second tick instead of up to 3 s later); KillWait=1 and OverTimeLimit=0 so a job that hits
 *   its time limit is killed at once. The controller checks time limits every 30 s, so a job with
 *   `--time=1` ends as TIMEOUT 60 to 90 s after it starts: the smallest limit Slurm honours.
 */
import { spawn, spawnSync, type ChildProcess, type SpawnSyncReturns } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, hostname, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { freePort } from './nginx.js';

export const PARTITION = 'debug';

export interface Slurm {
  /** The temp folder holding everything. */
  dir: string;
  /** Path of slurm.conf. */
  conf: string;
  /** What points Slurm's commands at this cluster: add it to the environment of sbatch, prov-make... */
  env: { SLURM_CONF: string };
  nodeName: string;
  cpus: number;
  /** Process ids of munged, slurmctld and slurmd. */
  pids: number[];
  /** RealMemory of the node, in MiB. */
  memoryMb: number;
  /** Runs a Slurm command (squeue, scontrol, sacct...) against this cluster. */
  run(program: string, args: string[]): SpawnSyncReturns<string>;
  /** Jobs the controller recorded as finished (jobcomp/filetxt), oldest first. */
  completedJobs(): CompletedJob[];
  /** The controller's and the node daemon's logs (for failure messages). */
  logs(): string;
  stop(): Promise<void>;
}

export interface CompletedJob {
  jobId: string;
  name: string;
  state: string;
  /** "code:signal", as Slurm prints it. */
  exitCode: string;
  /** When it started and ended, in ms since the epoch (Slurm keeps whole seconds). */
  start: number;
  end: number;
}

interface Daemon {
  name: string;
  child: ChildProcess;
  stderr: () => string;
  exited: () => boolean;
}

/** util-linux's setpriv: a daemon started through it is killed when the test process ends without stop(). */
const SETPRIV = existsSync('/usr/bin/setpriv') ? '/usr/bin/setpriv' : null;

/**
 * Starts a daemon in the foreground. Its standard error goes to `<dir>/log/<name>.stderr`, not to a
 * pipe: a caller that blocks its event loop (spawnSync of a long prov-make run) would leave a pipe
 * unread, and a daemon writing to a full pipe stops answering (measured: slurmctld then took 5 s per
 * request, and slurmstepd's job-complete RPCs timed out).
 */
function startDaemon(dir: string, name: string, program: string, args: string[], env: NodeJS.ProcessEnv): Daemon {
  const [file, argv] = SETPRIV ? [SETPRIV, ['--pdeathsig', 'KILL', '--', program, ...args]] : [program, args];
  const log = join(dir, 'log', `${name}.stderr`);
  const fd = openSync(log, 'a');
  const child = spawn(file, argv, { env, stdio: ['ignore', 'ignore', fd] });
  closeSync(fd);
  let failure = '';
  let exited = false;
  child.on('exit', () => (exited = true));
  child.on('error', (err) => {
    exited = true;
    failure = String(err);
  });
  return { name, child, stderr: () => readFileSync(log, 'utf8') + failure, exited: () => exited };
}

async function stopDaemon(d: Daemon): Promise<void> {
  if (d.exited()) return;
  const gone = new Promise((r) => d.child.once('exit', r));
  d.child.kill('SIGTERM');
  const timer = setTimeout(() => d.child.kill('SIGKILL'), 5000);
  await gone;
  clearTimeout(timer);
}

async function waitFor(what: string, ready: () => boolean, failed: () => string | null, ms: number): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    if (ready()) return;
    const why = failed();
    if (why !== null) throw new Error(`${what}: ${why}`);
    if (Date.now() > end) throw new Error(`${what}: not ready after ${ms} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export interface SlurmOptions {
  /** slurm.conf's SchedulerParameters (default: batch_sched_delay=0; "" for Slurm's defaults). */
  schedulerParameters?: string;
  /**
   * CPUs the node declares (default: this machine's). More than the machine has lets concurrent
   * tests each run jobs side by side (slurmd then trusts slurm.conf: SlurmdParameters=config_overrides).
   */
  cpus?: number;
}

function slurmConf(dir: string, cluster: string, node: string, ports: { ctld: number; slurmd: number }, cpus: number, memoryMb: number, scheduler: string, overrides: boolean): string {
  return `# One-node test cluster written by packages/cli/test/slurm.ts
ClusterName=${cluster}
SlurmctldHost=${hostname()}(127.0.0.1)
SlurmctldPort=${ports.ctld}
SlurmdPort=${ports.slurmd}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=${dir}/munge/munge.socket
StateSaveLocation=${dir}/state
SlurmdSpoolDir=${dir}/spool
SlurmctldPidFile=${dir}/slurmctld.pid
SlurmdPidFile=${dir}/slurmd.pid
SlurmctldLogFile=${dir}/log/slurmctld.log
SlurmdLogFile=${dir}/log/slurmd.log
# no cgroups: jobs stay in the cgroup of whoever started the cluster
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SwitchType=switch/none
MpiDefault=none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=${Math.floor(memoryMb / cpus)}
SchedulerType=sched/backfill
${scheduler ? `SchedulerParameters=${scheduler}` : '# SchedulerParameters: Slurm\'s defaults'}
JobAcctGatherType=jobacct_gather/linux
JobAcctGatherFrequency=1
JobAcctGatherParams=OverMemoryKill
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc=${dir}/log/jobcomp.txt
MinJobAge=300
KillWait=1
OverTimeLimit=0
ReturnToService=2
${overrides ? 'SlurmdParameters=config_overrides' : '# SlurmdParameters: the node is what slurmd finds'}
NodeName=${node} NodeHostname=${hostname()} NodeAddr=127.0.0.1 CPUs=${cpus} RealMemory=${memoryMb} State=UNKNOWN
PartitionName=${PARTITION} Nodes=${node} Default=YES MaxTime=INFINITE State=UP
`;
}

/** Starts munged with its own key and socket in `<dir>/munge`. */
async function startMunge(dir: string): Promise<Daemon> {
  const m = join(dir, 'munge');
  mkdirSync(m, { mode: 0o755 });
  writeFileSync(join(m, 'munge.key'), randomBytes(1024), { mode: 0o400 });
  const d = startDaemon(dir, 'munged', '/usr/sbin/munged', [
    '--foreground',
    `--socket=${m}/munge.socket`,
    `--key-file=${m}/munge.key`,
    `--pid-file=${m}/munged.pid`,
    `--log-file=${m}/munged.log`,
    `--seed-file=${m}/munged.seed`,
  ], process.env);
  await waitFor('munged', () => existsSync(`${m}/munge.socket`), () => (d.exited() ? d.stderr() || 'exited' : null), 10_000);
  return d;
}

/** Starts the cluster and waits until its node is idle (about a second). */
export async function startSlurm(options: SlurmOptions = {}): Promise<Slurm> {
  // munged wants every folder above its socket searchable by all
  const dir = realpathSync(mkdtempSync(join(tmpdir(), 'pm-slurm-')));
  chmodSync(dir, 0o755);
  for (const d of ['state', 'spool', 'log']) mkdirSync(join(dir, d));
  const conf = join(dir, 'slurm.conf');
  const env = { ...process.env, SLURM_CONF: conf };
  const run = (program: string, args: string[]) => spawnSync(program, args, { env, encoding: 'utf8' });
  const cpus = options.cpus ?? availableParallelism();
  const memoryMb = Math.floor(totalmem() / 1024 / 1024) - 256;
  const tag = randomBytes(4).toString('hex');
  const cluster = `pm${tag}`;
  const node = `pm${tag}`;
  const daemons: Daemon[] = [];
  const logs = () => ['slurmctld', 'slurmd'].map((n) => {
    const f = join(dir, 'log', `${n}.log`);
    return `--- ${n}.log\n${existsSync(f) ? readFileSync(f, 'utf8') : ''}`;
  }).join('\n');

  try {
    daemons.push(await startMunge(dir));
    let lastError = '';
    for (let attempt = 0; attempt < 5; attempt++) {
      const ports = { ctld: await freePort(), slurmd: await freePort() };
      writeFileSync(conf, slurmConf(dir, cluster, node, ports, cpus, memoryMb, options.schedulerParameters ?? 'batch_sched_delay=0', cpus > availableParallelism()));
      const ctld = startDaemon(dir, 'slurmctld', '/usr/sbin/slurmctld', ['-D', '-i', '-f', conf], env);
      try {
        await waitFor('slurmctld', () => run('scontrol', ['ping']).stdout.includes('is UP'), () => (ctld.exited() ? ctld.stderr() || 'exited' : null), 20_000);
        const slurmd = startDaemon(dir, 'slurmd', '/usr/sbin/slurmd', ['-D', '-N', node, '-f', conf], env);
        daemons.push(ctld, slurmd);
        await waitFor('slurmd', () => run('sinfo', ['-h', '-n', node, '-o', '%T']).stdout.trim() === 'idle',
          () => (slurmd.exited() ? slurmd.stderr() || 'exited' : null), 20_000);
        return handle(dir, conf, node, cpus, memoryMb, daemons, run, logs);
      } catch (err) {
        // a port taken between freePort() and the bind: try others
        lastError = `${(err as Error).message}\n${logs()}`;
        for (const d of daemons.splice(1).reverse()) await stopDaemon(d);
        if (!ctld.exited()) await stopDaemon(ctld);
      }
    }
    throw new Error(`Slurm did not start:\n${lastError}`);
  } catch (err) {
    for (const d of daemons.reverse()) await stopDaemon(d);
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}

function handle(dir: string, conf: string, nodeName: string, cpus: number, memoryMb: number, daemons: Daemon[],
  run: Slurm['run'], logs: () => string): Slurm {
  return {
    dir,
    conf,
    env: { SLURM_CONF: conf },
    nodeName,
    cpus,
    pids: daemons.map((d) => d.child.pid!),
    memoryMb,
    run,
    logs,
    completedJobs: () => {
      const f = join(dir, 'log', 'jobcomp.txt');
      if (!existsSync(f)) return [];
      return readFileSync(f, 'utf8').split('\n').filter(Boolean).map((line) => {
        const field = (k: string) => new RegExp(`(?:^| )${k}=(\\S*)`).exec(line)?.[1] ?? '';
        return { jobId: field('JobId'), name: field('Name'), state: field('JobState'), exitCode: field('ExitCode'), start: Date.parse(field('StartTime')), end: Date.parse(field('EndTime')) };
      });
    },
    stop: async () => {
      // slurmstepd outlives slurmd: cancel every job first, then wait until none is left
      const jobs = () => run('squeue', ['-h', '-o', '%i']).stdout.split('\n').filter(Boolean);
      const left = jobs();
      if (left.length) run('scancel', left);
      const end = Date.now() + 10_000;
      while (Date.now() < end && jobs().length) await new Promise((r) => setTimeout(r, 100));
      for (const d of [...daemons].reverse()) await stopDaemon(d);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
