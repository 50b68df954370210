/**
 * A step's `resources:` (cpus, mem, time, partition, gpus, account, and free-form `slurm:` flags)
 * as sbatch options. A pipeline-wide default is merged under each step's own values. None of this
 * is part of a step's identity: where a step ran does not change what it computes.
 */

export interface SlurmResources {
  /** CPUs for the step's one task: --cpus-per-task. */
  cpus?: number;
  /** Memory for the job: --mem. A number is megabytes; a string takes Slurm's K, M, G or T suffix. */
  mem?: number | string;
  /** Time limit: --time. A number is minutes; a string is one of Slurm's formats (0:01:00, 2-12, ...). */
  time?: number | string;
  /** --partition (a comma-separated list lets Slurm pick the first that can start the job). */
  partition?: string;
  /** --gpus: a count, or type:count. */
  gpus?: number | string;
  /** --account charged for the job. */
  account?: string;
  /** Any other sbatch flags, passed as given (one flag with its value per item: "--qos=long"). */
  slurm?: string[];
}

export type ResourceKey = keyof SlurmResources;

export interface ResourceProblem {
  key: ResourceKey;
  message: string;
}

/** The step's values over the pipeline's; `slurm:` flags of both, the step's last (sbatch keeps the last). */
export function mergeResources(defaults: SlurmResources | undefined, step: SlurmResources | undefined): SlurmResources {
  const merged: SlurmResources = { ...defaults };
  for (const [key, value] of Object.entries(step ?? {}) as [ResourceKey, SlurmResources[ResourceKey]][]) {
    if (value !== undefined && key !== 'slurm') (merged as Record<string, unknown>)[key] = value;
  }
  const flags = [...(defaults?.slurm ?? []), ...(step?.slurm ?? [])];
  if (flags.length) merged.slurm = flags;
  else delete merged.slurm;
  return merged;
}

const MEM = /^[1-9]\d*([KMGT]B?)?$/i; // sbatch takes 2G and 2GB alike
// minutes, minutes:seconds, hours:minutes:seconds, days-hours, days-hours:minutes, days-hours:minutes:seconds
const TIME = /^(\d+(:\d+){0,2}|\d+-\d+(:\d+){0,2}|unlimited|infinite)$/i;
const NAME = /^[\w.+-]+$/;
const NAMES = /^[\w.+-]+(,[\w.+-]+)*$/;
const GPUS = /^([\w.-]+:)?[1-9]\d*$/;

/** sbatch flags prov-make sets itself: a `slurm:` item may not change them. */
const RESERVED_FLAGS: Record<string, string> = {
  '--output': 'the step\'s output is kept by prov-make', '-o': 'the step\'s output is kept by prov-make',
  '--error': 'the step\'s output is kept by prov-make', '-e': 'the step\'s output is kept by prov-make',
  '--input': 'steps read no standard input', '-i': 'steps read no standard input',
  '--chdir': 'steps run in their own cwd', '-D': 'steps run in their own cwd',
  '--export': 'steps see the environment prov-make gives them', '--export-file': 'steps see the environment prov-make gives them',
  '--array': 'one step is one job', '-a': 'one step is one job',
  '--wrap': 'prov-make writes the job script', '--parsable': 'prov-make reads the job id itself',
  '--wait': 'prov-make waits for the job itself', '-W': 'prov-make waits for the job itself',
  '--requeue': 'a requeued job would run the step twice into one trace',
  '--open-mode': 'the step\'s output is kept by prov-make',
  '--comment': 'prov-make tags each job with it, to find a job whose submission went unanswered',
};

function positiveInteger(v: unknown): boolean {
  return typeof v === 'number' && Number.isInteger(v) && v > 0;
}

/** What is wrong with a `resources:` block, one problem per key (the pipeline parser adds file:line:col). */
export function resourceProblems(r: SlurmResources): ResourceProblem[] {
  const problems: ResourceProblem[] = [];
  const bad = (key: ResourceKey, message: string) => problems.push({ key, message: `${key}: ${message} (got ${JSON.stringify(r[key])})` });
  if (r.cpus !== undefined && !positiveInteger(r.cpus)) bad('cpus', 'must be a whole number of CPUs, 1 or more');
  if (r.mem !== undefined && !(positiveInteger(r.mem) || (typeof r.mem === 'string' && MEM.test(r.mem)))) {
    bad('mem', 'must be megabytes (2048) or a whole size with a K, M, G or T suffix (500M, 2G)');
  }
  if (r.time !== undefined && !(positiveInteger(r.time) || (typeof r.time === 'string' && TIME.test(r.time)))) {
    bad('time', 'must be minutes (30) or one of Slurm\'s formats: 0:01:00 (h:m:s), 90:00 (m:s), 2-12 (days-hours), 1-00:00:00');
  }
  if (r.partition !== undefined && !(typeof r.partition === 'string' && NAMES.test(r.partition))) bad('partition', 'must be a partition name, or names separated by commas');
  if (r.account !== undefined && !(typeof r.account === 'string' && NAME.test(r.account))) bad('account', 'must be an account name');
  if (r.gpus !== undefined && !(positiveInteger(r.gpus) || (typeof r.gpus === 'string' && GPUS.test(r.gpus)))) bad('gpus', 'must be a count (2) or type:count (a100:2)');
  if (r.slurm !== undefined) {
    if (!Array.isArray(r.slurm) || r.slurm.some((f) => typeof f !== 'string' || !f.startsWith('-'))) {
      bad('slurm', 'must be a list of sbatch flags, each with its value: ["--qos=long", "--constraint=avx2"]');
    } else {
      for (const flag of r.slurm) {
        const name = flag.startsWith('--') ? flag.split('=')[0] : flag.slice(0, 2); // -o file, -ofile
        const why = RESERVED_FLAGS[name];
        if (why) problems.push({ key: 'slurm', message: `slurm: ${name} is set by prov-make (${why})` });
      }
    }
  }
  return problems;
}

/** The sbatch flags for valid resources (check them with resourceProblems first). */
export function resourceOptions(r: SlurmResources): string[] {
  const options: string[] = [];
  if (r.partition !== undefined) options.push(`--partition=${r.partition}`);
  if (r.account !== undefined) options.push(`--account=${r.account}`);
  if (r.cpus !== undefined) options.push(`--cpus-per-task=${r.cpus}`);
  if (r.mem !== undefined) options.push(`--mem=${r.mem}`);
  if (r.time !== undefined) options.push(`--time=${r.time}`);
  if (r.gpus !== undefined) options.push(`--gpus=${r.gpus}`);
  return [...options, ...(r.slurm ?? [])];
}

/** `key=value` as the user wrote it, for messages ("mem=2G"); null when the key is not set. */
export function describeResource(r: SlurmResources, key: ResourceKey): string | null {
  const value = r[key];
  if (value === undefined) return null;
  return `${key}=${Array.isArray(value) ? value.join(' ') : value}`;
}
