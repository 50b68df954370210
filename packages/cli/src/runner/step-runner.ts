/**
 * How a step's command is executed: start it with this environment and folder, give back its trace
 * and its output, let the engine cancel it. The local runner is a traced spawn in a process group;
 * a cluster runner would submit a job and keep the trace logs on the shared file system. Where logs
 * go and how a leftover execution of a killed run is found and stopped belong to the runner, not
 * to the engine. The runner is not part of a step's identity: results are shared between runners.
 */
import type { ExecutionJob } from '@prov-make/cache';
import type { TraceResult } from '@prov-make/interposer';
import type { JobFailure } from '../engine/reasons.js';
import type { SlurmResources } from '../executor/slurm-resources.js';

export interface StepLaunch {
  /** The step's name (PROV_MAKE_STEP, file names of the runner's own). */
  step: string;
  /** The step's `run` text. */
  command: string;
  /** The words that run it, before it: the step's shell (`/bin/sh -e -c`; pipeline/shell.ts). */
  shell: readonly string[];
  /** Absolute working folder. */
  cwd: string;
  /**
   * Every variable the step sees (pipeline/step-env.ts: the allowlist, passEnv, env:). The runner
   * adds only its own (PROV_MAKE_STEP, PROV_MAKE_ANNOTATE, the tracer's); nothing else is inherited.
   */
  env: Record<string, string>;
  /** Paths never to report as dependencies (prov-make's state, ignore globs). */
  ignore(absPath: string): boolean;
  /** Each whole line the command prints (stdout and stderr). */
  onLine(line: string): void;
  /** What a cluster job of the step asks for (`resources:`, the pipeline's merged under the step's); local runs ignore it. */
  resources?: SlurmResources;
}

export interface StepExecution {
  trace: TraceResult;
  /** Everything the command printed (stdout and stderr, interleaved as it came; bounded). */
  output: Buffer;
  /** Lines the step appended to $PROV_MAKE_ANNOTATE. */
  annotations: string[];
  /** It was cancelled: nothing of it is recorded. */
  cancelled: boolean;
  /** The cluster job it ran as. */
  job?: ExecutionJob;
  /** Set when the scheduler ended the job, not the command's own exit (out of memory, time limit...). */
  failure?: JobFailure;
}

/** The step could not be started (a scheduler refused its job): it fails with this message, and nothing is recorded. */
export class StepStartError extends Error {
  constructor(message: string, readonly detail = '') {
    super(message);
    this.name = 'StepStartError';
  }
}

/**
 * The runner cannot run any step here (the Slurm executor on a workspace the compute nodes cannot
 * reach...): the run stops before its first step starts; printed as `prov-make: error:` with a
 * hint, exit code 2.
 */
export class RunnerSetupError extends Error {
  constructor(message: string, readonly hint: string) {
    super(message);
    this.name = 'RunnerSetupError';
  }

  format(): string {
    return `prov-make: error: ${this.message}\n  hint: ${this.hint}`;
  }
}

export interface StartedStep {
  done: Promise<StepExecution>;
  /** Stops the step's whole process tree (or job). */
  cancel(signal: 'SIGTERM' | 'SIGKILL'): void;
}

export interface StepRunner {
  /**
   * Stops whatever a killed earlier run left running in this workspace. Called by every run once it
   * holds the workspace lock, before any file is looked at.
   */
  stopLeftovers(): Promise<void>;
  /**
   * Starts the step (a job submission is asynchronous); it is running, or queued, on return.
   * Throws StepStartError when this step cannot start (its job was refused), RunnerSetupError
   * when no step can.
   */
  start(launch: StepLaunch): Promise<StartedStep>;
}
