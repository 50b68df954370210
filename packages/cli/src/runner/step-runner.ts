/**
 * How a step's command is executed: start it with this environment and folder, give back its trace
 * and its output, let the engine cancel it. The local runner is a traced spawn in a process group;
 * a cluster runner would submit a job and keep the trace logs on the shared file system. Where logs
 * go and how a leftover execution of a killed run is found and stopped belong to the runner, not
 * to the engine. The runner is not part of a step's identity: results are shared between runners.
 */
import type { TraceResult } from '@prov-make/interposer';

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
}

export interface StepExecution {
  trace: TraceResult;
  /** Everything the command printed (stdout and stderr, interleaved as it came; bounded). */
  output: Buffer;
  /** Lines the step appended to $PROV_MAKE_ANNOTATE. */
  annotations: string[];
  /** It was cancelled: nothing of it is recorded. */
  cancelled: boolean;
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
  /** Starts the step (a job submission is asynchronous); it is running, or queued, on return. */
  start(launch: StepLaunch): Promise<StartedStep>;
}
