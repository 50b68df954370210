/**
 * How a Slurm job ended: Slurm's final state becomes the step's typed failure (engine/reasons.ts says
 * it: "killed by Slurm: out of memory (mem=2G)"), and sbatch's refusal of a job becomes an error
 * naming the resource that caused it.
 */
import { constants } from 'node:os';
import type { JobFailure } from '../engine/reasons.js';
import { StepStartError } from '../runner/step-runner.js';
import { describeResource, type ResourceKey, type SlurmResources } from './slurm-resources.js';

/** Slurm's final job states (squeue/sacct names), plus UNKNOWN when Slurm has forgotten the job. */
export type SlurmFinalState =
  | 'COMPLETED' | 'FAILED' | 'OUT_OF_MEMORY' | 'TIMEOUT' | 'CANCELLED' | 'NODE_FAIL' | 'PREEMPTED'
  | 'BOOT_FAIL' | 'DEADLINE' | 'UNKNOWN';

const FINAL = new Set<string>(['COMPLETED', 'FAILED', 'OUT_OF_MEMORY', 'TIMEOUT', 'CANCELLED', 'NODE_FAIL', 'PREEMPTED', 'BOOT_FAIL', 'DEADLINE']);

/** True for a state the job will not leave (PENDING, RUNNING, COMPLETING... are not). */
export function isFinalState(state: string): state is SlurmFinalState {
  return FINAL.has(state);
}

export interface SlurmJobEnd {
  jobId: string;
  state: SlurmFinalState;
  /** Exit status of the job script (the step's command), or null when a signal ended it or it is unknown. */
  exitCode: number | null;
  /** Signal that ended the job script, or null. */
  signal: number | null;
  /** Node(s) the job ran on, as Slurm lists them, or null. */
  nodes: string | null;
  /** Set when the job could not start the command on its node (a path it must read, its cwd). */
  setupProblem: string | null;
}

/** A signal number as Node names it (9 -> SIGKILL), or null. */
export function signalOf(n: number | null): NodeJS.Signals | null {
  if (!n) return null;
  return (Object.entries(constants.signals).find(([, v]) => v === n)?.[0] as NodeJS.Signals | undefined) ?? null;
}

/** Why Slurm ended the job, or null when the command's own exit status says it all (COMPLETED, FAILED). */
export function jobFailure(end: SlurmJobEnd, resources: SlurmResources): JobFailure | null {
  switch (end.state) {
    case 'COMPLETED':
      return null;
    case 'FAILED':
      return end.setupProblem ? { state: 'SETUP', problem: end.setupProblem } : null;
    case 'OUT_OF_MEMORY':
      return { state: 'OUT_OF_MEMORY', limit: describeResource(resources, 'mem') };
    case 'TIMEOUT':
      return { state: 'TIMEOUT', limit: describeResource(resources, 'time') };
    case 'CANCELLED':
    case 'PREEMPTED':
    case 'DEADLINE':
      return { state: end.state };
    case 'NODE_FAIL':
    case 'BOOT_FAIL':
      return { state: end.state, nodes: end.nodes };
    case 'UNKNOWN':
      return { state: 'UNKNOWN', jobId: end.jobId };
  }
}

/**
 * slurmstepd's own words when jobacct_gather kills a job over its memory (clusters without cgroup
 * memory limits): the job then ends FAILED or CANCELLED, not OUT_OF_MEMORY.
 */
const MEMORY_KILL = /slurmstepd[^\n]*: error: (Exceeded job memory limit|[^\n]*exceeded memory limit)/i;

/** The state as a person would name it: a job Slurm killed for its memory is out of memory. */
export function effectiveState(state: SlurmFinalState, outputTail: string): SlurmFinalState {
  if ((state === 'FAILED' || state === 'CANCELLED') && MEMORY_KILL.test(outputTail)) return 'OUT_OF_MEMORY';
  return state;
}

/**
 * sbatch gave no job id: it refused the job (`option` names the resource that caused it, when
 * sbatch's words say), or the controller did not answer in time (`unanswered`), and then the job
 * may exist all the same: the client looks for it by its tag.
 */
export class SlurmSubmitError extends StepStartError {
  constructor(
    message: string,
    readonly option: ResourceKey | null,
    /** sbatch's own error lines. */
    readonly slurmMessage: string,
    readonly unanswered = false,
    /** Set when Slurm may hold the job all the same: the tag (`--comment`) it would carry. */
    readonly unsureTag: string | null = null,
  ) {
    super(message, slurmMessage);
    this.name = 'SlurmSubmitError';
  }
}

/** sbatch's words when it did not hear the controller's answer (overloaded, restarting, down). */
const NO_ANSWER = /socket timed out|unable to contact slurm controller|connect(ion)? (failure|refused)|zero bytes were transmitted|communication connection failure/i;

/** sbatch's messages (Slurm 20.11 to 24.x) -> the resources that cause them. */
const REFUSALS: { pattern: RegExp; keys: ResourceKey[]; hint: string }[] = [
  { pattern: /invalid partition/i, keys: ['partition'], hint: 'sinfo lists the partitions' },
  { pattern: /invalid account/i, keys: ['account'], hint: 'sacctmgr show associations user=$USER lists your accounts' },
  { pattern: /invalid --time|time limit/i, keys: ['time'], hint: 'sinfo -o "%P %l" shows each partition\'s limit' },
  { pattern: /gres|gpu/i, keys: ['gpus'], hint: 'sinfo -o "%P %G" shows the GPUs of each partition' },
  { pattern: /memory specification|invalid --mem/i, keys: ['mem'], hint: 'sinfo -o "%P %m" shows the memory of each partition\'s nodes' },
  { pattern: /node configuration is not available|more processors requested|cpus-per-task|cpu count/i, keys: ['cpus', 'mem', 'gpus'], hint: 'sinfo -o "%P %c %m %G" shows what the nodes of each partition have' },
  { pattern: /unrecognized option|invalid option|unknown option|invalid qos|qos/i, keys: ['slurm'], hint: 'see man sbatch' },
];

/** The error for a job sbatch refused, naming the option from `resources` that its message points at. */
export function submitError(stderr: string, resources: SlurmResources): SlurmSubmitError {
  const lines = stderr.split('\n').map((l) => l.trim()).filter(Boolean);
  const slurmMessage = lines.join('\n');
  // "sbatch: error: Batch job submission failed: Invalid partition name specified"
  const said = (lines.filter((l) => /^sbatch: (error|fatal)|unrecognized option|invalid option/i.test(l)).at(-1) ?? lines[0] ?? 'no message')
    .replace(/^sbatch: (error|fatal): (Batch job submission failed: )?/, '');
  if (NO_ANSWER.test(slurmMessage)) return new SlurmSubmitError(`Slurm did not answer the submission (${said})`, null, slurmMessage, true);
  for (const { pattern, keys, hint } of REFUSALS) {
    if (!pattern.test(slurmMessage)) continue;
    const named = keys.map((k) => describeResource(resources, k)).filter((d): d is string => d !== null);
    if (!named.length) continue; // the cluster's own defaults were refused: no option of ours to name
    return new SlurmSubmitError(`Slurm refused the job: ${named.join(', ')}: ${said} (${hint})`, keys.find((k) => resources[k] !== undefined) ?? null, slurmMessage);
  }
  return new SlurmSubmitError(`Slurm refused the job: ${said}`, null, slurmMessage);
}
