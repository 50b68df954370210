/**
 * The Slurm step runner: each step that has to run is one batch job (executor/slurm.ts), still
 * traced. Everything a job needs is in the workspace's `.prov-make/` on the shared file system: its
 * trace log, output file and notes file in `.prov-make/jobs/<step>.<pid>.<n>/`, and a copy of the
 * interposer when its installed path cannot be named in LD_PRELOAD. Job ids are noted in
 * `.prov-make/run/slurm-jobs` the moment sbatch returns them, so the jobs of a run killed with `kill -9`
 * are cancelled by the next run; a cancelled run (Ctrl-C) asks scancel once for all its jobs.
 * The workspace loads this module only for a Slurm run, or when the ids file names leftovers.
 * Importing it loads no Slurm client nor the interposer.
 */
import { closeSync, constants, openSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { isInsideFolder } from '@prov-make/cache/workspace-key';
import type { StepDependencies, TraceResult } from '@prov-make/interposer';
import type { SlurmClient } from '../executor/slurm.js';
import type { SlurmJobEnd } from '../executor/slurm-outcome.js';
import type { SlurmResources } from '../executor/slurm-resources.js';
import { LeftoversFile } from './leftovers-file.js';
import { shellArgv } from '../pipeline/shell.js';
import { readNotes, stepEnvironment } from './local-runner.js';
import { RunnerSetupError, StepStartError, type StartedStep, type StepExecution, type StepLaunch, type StepRunner } from './step-runner.js';

/**
 * `-j` when the executor is Slurm and none is given: jobs in flight at once (Nextflow's default
 * queue size for grid executors). The controller is asked about all of them with one squeue per tick.
 */
export const SLURM_DEFAULT_JOBS = 100;

export interface SlurmRunnerOptions {
  /** Where Slurm's commands are found (PATH), SLURM_CONF and SBATCH_* defaults. Default: process.env. */
  env?: NodeJS.ProcessEnv;
  /** The client's polling bounds (default 250 to 5000 ms). */
  pollMs?: { min: number; max: number };
  warn?: (message: string) => void;
}

export interface SlurmRunnerPaths {
  /** The workspace: inputs inside it are revalidated after each job. */
  root: string;
  /** `.prov-make/`: job folders, the interposer's copy. */
  stateDir: string;
  /** Where the ids of running jobs are noted. */
  slurmJobsFile: string;
}

interface Ready {
  client: SlurmClient;
  /** The interposer as compute nodes load it. */
  library: string;
}

const SHARED_HINT = 'prov-make and the workspace must be on a file system the compute nodes share (see docs/slurm.md)';

export class SlurmStepRunner implements StepRunner {
  private readonly jobs: LeftoversFile;
  private client: Promise<SlurmClient> | null = null;
  private ready: Promise<Ready> | null = null;
  private readonly toCancel = new Set<string>();
  private made = 0;
  /** Set once Slurm left a submission unanswered: no more jobs are submitted by this run. */
  private unanswered: string | null = null;

  constructor(private readonly paths: SlurmRunnerPaths, private readonly options: SlurmRunnerOptions = {}) {
    this.jobs = new LeftoversFile(paths.slurmJobsFile);
  }

  private get jobsDir(): string {
    return join(this.paths.stateDir, 'jobs');
  }

  private warn(message: string): void {
    (this.options.warn ?? ((m) => process.stderr.write(`prov-make: warning: ${m}\n`)))(message);
  }

  /**
   * Cancels the jobs a killed run left, and waits until their processes are gone (they may be
   * writing the workspace): the ids it noted, and the jobs tagged by submissions Slurm left unanswered.
   */
  async stopLeftovers(): Promise<void> {
    this.unanswered = null;
    const left = this.jobs.left();
    if (left.length) {
      let running: string[];
      try {
        const client = await this.slurm();
        const tags = left.filter((e) => e.startsWith('?')).map((e) => e.slice(1));
        const tagged = tags.length ? [...(await client.findTagged(tags)).values()] : [];
        running = await client.cancelAndWait([...left.filter((e) => !e.startsWith('?')), ...tagged]);
      } catch (err) {
        throw new RunnerSetupError(`cannot cancel the Slurm jobs a killed run left (${left.join(', ')}): ${(err as Error).message}`,
          `cancel them where Slurm runs (scancel ${left.join(' ')}), then empty ${this.paths.slurmJobsFile}`);
      }
      if (running.length) {
        throw new RunnerSetupError(`the Slurm jobs a killed run left (${running.join(', ')}) are still running after scancel`,
          `wait until \`squeue -j ${running.join(',')}\` no longer lists them, then run again`);
      }
      this.jobs.clear();
    }
    rmSync(this.jobsDir, { recursive: true, force: true }); // no job of this workspace runs now
  }

  async start(launch: StepLaunch): Promise<StartedStep> {
    const { client, library } = await this.setUp();
    if (this.unanswered) throw new StepStartError(`not submitted: ${this.unanswered}; no more jobs are submitted by this run`);
    const [{ prepareLogDir }, { OutputCapture }, { jobTracing }] = await Promise.all([
      import('@prov-make/interposer'), import('./output-capture.js'), import('../executor/slurm.js'),
    ]);
    const jobDir = join(this.jobsDir, `${launch.step}.${process.pid}.${++this.made}`);
    const logDir = prepareLogDir(join(jobDir, 'trace'));
    const env = stepEnvironment(launch, join(jobDir, 'notes'));
    const capture = new OutputCapture(launch.onLine);
    const resources = launch.resources ?? {};
    const submittedAt = Date.now();
    let job: Awaited<ReturnType<SlurmClient['submit']>>;
    try {
      job = await client.submit({
        ...jobTracing(env, logDir, library), command: shellArgv(launch.shell, launch.command), cwd: launch.cwd, env, resources,
        outputFile: join(jobDir, 'output'), name: launch.step, onOutput: (chunk) => capture.write(chunk),
      });
    } catch (err) {
      // were the job taken after all, it could not run the step: its folder is gone (the job script checks it)
      rmSync(jobDir, { recursive: true, force: true });
      const { SlurmSubmitError } = await import('../executor/slurm-outcome.js');
      if (err instanceof SlurmSubmitError && err.unsureTag) {
        this.jobs.add(`?${err.unsureTag}`); // the next run looks for it, and cancels it
        this.unanswered = 'an earlier submission went unanswered (the Slurm controller is overloaded or down)';
      }
      throw err;
    }
    this.jobs.add(job.id); // at once: a kill -9 from here on leaves the id for the next run
    let cancelled = false;
    const cancel = () => {
      if (cancelled) return; // scancel signals, then kills after the cluster's KillWait
      cancelled = true;
      this.cancelSoon(client, job.id);
    };
    const done = job.done
      .then(async (end) => {
        capture.end();
        const execution = await this.finished(end, launch, resources, logDir, submittedAt);
        return { ...execution, output: capture.bytes(), annotations: readNotes(join(jobDir, 'notes')), cancelled };
      })
      .finally(() => {
        this.jobs.delete(job.id);
        rmSync(jobDir, { recursive: true, force: true });
      });
    return { done, cancel };
  }

  /** The trace of an ended job, its versions made fresh on this host, and Slurm's verdict. */
  private async finished(end: SlurmJobEnd, launch: StepLaunch, resources: SlurmResources, logDir: string, submittedAt: number): Promise<Omit<StepExecution, 'output' | 'annotations' | 'cancelled'>> {
    const [{ collectTrace }, { jobFailure, signalOf }] = await Promise.all([import('@prov-make/interposer'), import('../executor/slurm-outcome.js')]);
    // the job has ended, all its processes gone: every log is closed, and opening it shows it whole (NFS close-to-open)
    const { deps, problems } = await collectTrace(logDir, { ignore: launch.ignore });
    revalidate(deps, this.paths.root);
    const failure = jobFailure(end, resources) ?? undefined;
    // a supervisor that died killed its programs: the step failed, even if its shell exited 0 (as startTrace has it)
    const killed = problems.some((p) => p.kind === 'supervisor-died');
    const trace: TraceResult = {
      // a job Slurm ended is never a success, whatever exit status it was given
      exitCode: end.exitCode === 0 && (failure || killed) ? (failure ? null : 1) : end.exitCode,
      signal: signalOf(end.signal),
      deps,
      problems,
      fullyObserved: problems.length === 0 && deps.untraced.length === 0,
      // inputs changed after the submission were read by the job or not: taken as changed while it ran
      startedAt: submittedAt,
      finishedAt: Date.now(),
    };
    return { trace, job: { scheduler: 'slurm', id: end.jobId, nodes: end.nodes, state: end.state }, failure };
  }

  /** The client, once per runner (one squeue per tick covers every job in flight). */
  private slurm(): Promise<SlurmClient> {
    this.client ??= import('../executor/slurm.js').then(({ SlurmClient }) => new SlurmClient({
      env: this.options.env, pollMs: this.options.pollMs, onWarning: (m) => this.warn(m),
    }));
    return this.client;
  }

  /**
   * Checked before the first job (a failure is not kept: the next run checks again): Slurm's
   * commands are on the PATH, and the interposer, the supervisor and the trace folder are where
   * compute nodes can reach them.
   */
  private setUp(): Promise<Ready> {
    this.ready ??= (async () => {
      const [client, { jobTracing, localOnlyProblem, shareableLibrary }] = await Promise.all([this.slurm(), import('../executor/slurm.js')]);
      try {
        client.requirePrograms();
      } catch (err) {
        throw new RunnerSetupError(`cannot run steps on Slurm: ${(err as Error).message}`, 'run prov-make on a login node of the cluster, or use --executor local');
      }
      const library = shareableLibrary(this.paths.stateDir);
      for (const path of [...(jobTracing(process.env, this.paths.stateDir, library).requiredPaths ?? []), this.paths.stateDir]) {
        const problem = localOnlyProblem(path);
        if (problem) throw new RunnerSetupError(`cannot run steps on Slurm: ${problem}`, SHARED_HINT);
      }
      return { client, library };
    })().catch((err) => {
      this.ready = null;
      throw err;
    });
    return this.ready;
  }

  /** Every job cancelled in one turn of the event loop (Ctrl-C cancels all at once) goes to one scancel. */
  private cancelSoon(client: SlurmClient, id: string): void {
    if (this.toCancel.size === 0) {
      queueMicrotask(() => {
        const ids = [...this.toCancel];
        this.toCancel.clear();
        client.cancel(ids).catch((err: Error) => this.warn(`could not cancel Slurm jobs ${ids.join(', ')}: ${err.message}`));
      });
    }
    this.toCancel.add(id);
  }
}

/**
 * NFS clients cache attributes (up to acregmax, 60 s by default): a stat here may show a file as it
 * was before a job wrote it on a node. Opening a file revalidates them (close-to-open consistency),
 * and opening a folder its entries, so what the job wrote or deleted, and what it read or looked for
 * inside the workspace, is opened once here before the engine takes versions. Versions of files
 * outside the workspace (programs, system libraries) are this host's, as for every step.
 */
function revalidate(deps: StepDependencies, root: string): void {
  const inside = (p: string) => isInsideFolder(root, p);
  const changed = [...deps.writes, ...deps.deleted];
  const looked = [...deps.reads, ...deps.absent].filter(inside);
  const folders = new Set([...changed, ...looked].map((p) => dirname(p)));
  for (const path of [...folders, ...changed, ...looked]) {
    try {
      closeSync(openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY));
    } catch {
      /* gone, or not ours to open: the engine's lstat says which */
    }
  }
}
