/**
 * Where steps run, in pipeline.yml: `executor: local|slurm` (top level) and `resources:` (top level,
 * the default of every step; in a step, merged over it). Neither is part of a step's identity
 * (definition.ts leaves them out): where a step runs does not change what it computes, so a result
 * made on a cluster is restored by a local run, and the reverse.
 */
import { isMap, isScalar, isSeq, type Pair } from 'yaml';
import { resourceProblems, type ResourceKey, type SlurmResources } from '../executor/slurm-resources.js';
import type { SourcePosition } from './errors.js';
import type { NodeReader } from './node-reader.js';
import { suggest } from './suggest.js';
import { EXECUTORS, type ExecutorName } from './types.js';

export const RESOURCE_KEYS: readonly ResourceKey[] = ['cpus', 'mem', 'time', 'partition', 'gpus', 'account', 'slurm'];

/** Words from Slurm, PBS and other workflow tools, mapped to the key they mean. */
const RESOURCE_ALIASES: Record<string, ResourceKey> = {
  cores: 'cpus', cpu: 'cpus', ncpus: 'cpus', threads: 'cpus', cpuspertask: 'cpus', tasks: 'cpus',
  memory: 'mem', ram: 'mem', memmb: 'mem',
  walltime: 'time', timelimit: 'time', runtime: 'time', duration: 'time',
  queue: 'partition', partitions: 'partition',
  gpu: 'gpus', gres: 'gpus',
  project: 'account', allocation: 'account',
  sbatch: 'slurm', flags: 'slurm', extra: 'slurm', options: 'slurm', args: 'slurm',
};

/** How to write each key right, for the hint of a problem with it. */
const RESOURCE_FIXES: Record<ResourceKey, string> = {
  cpus: 'write a whole number, e.g. cpus: 4',
  mem: 'write megabytes or a size with a suffix, e.g. mem: 2048 or mem: 2G',
  time: 'write minutes or one of Slurm\'s formats, quoted, e.g. time: 30 or time: "1:30:00"',
  partition: 'write the partition\'s name (sinfo lists them), e.g. partition: short',
  gpus: 'write a count or type:count, e.g. gpus: 1 or gpus: "a100:2"',
  account: 'write the account\'s name (sacctmgr show associations user=$USER lists yours), e.g. account: mylab',
  slurm: 'write a list of sbatch flags, each with its value, e.g. slurm: ["--qos=long", "--constraint=avx2"]',
};

/** `executor: local|slurm`. */
export function readExecutor(y: NodeReader, pair: Pair<unknown, unknown>): ExecutorName {
  const value = y.deref(pair.value);
  const accepted = `write one of: ${EXECUTORS.join(', ')} (local is the default; \`prov-make run --executor\` overrides it)`;
  if (y.isMissing(value)) y.fail('bad-executor', y.valuePosition(pair), 'executor is empty', accepted);
  if (!isScalar(value)) y.fail('bad-executor', value, `executor must be a name, not ${y.describe(value)}`, accepted);
  const name = y.text(value);
  if ((EXECUTORS as readonly string[]).includes(name)) return name as ExecutorName;
  const guess = suggest(name, EXECUTORS, { sbatch: 'slurm', cluster: 'slurm', srun: 'slurm', local: 'local', shell: 'local' });
  y.fail('bad-executor', value, `unknown executor "${name}"${guess ? `. Did you mean "${guess}"?` : ''}`, accepted);
}

/** `resources:` of the top level or of a step (`owner`): a map of the keys above, each value checked as sbatch would take it. */
export function readResources(y: NodeReader, pair: Pair<unknown, unknown>, owner: string): SlurmResources | undefined {
  const value = y.deref(pair.value);
  if (y.isMissing(value)) return undefined;
  if (!isMap(value)) {
    y.fail('bad-resources', value, `resources of ${owner} must be a map, not ${y.describe(value)}`, 'write it as a map, e.g. resources: { cpus: 4, mem: 8G, time: "2:00:00" }');
  }
  const resources: Record<string, unknown> = {};
  const pairs = new Map<string, Pair<unknown, unknown>>();
  const seen = new Map<string, SourcePosition>();
  for (const p of value.items) {
    const { name, position } = y.keyOf(p, `in the resources of ${owner}`);
    y.checkDuplicate(seen, name, position, `key "${name}" in the resources of ${owner}`);
    if (!(RESOURCE_KEYS as readonly string[]).includes(name)) unknownResource(y, name, position, owner);
    const key = name as ResourceKey;
    const v = y.deref(p.value);
    if (y.isMissing(v)) y.fail('bad-resources', y.valuePosition(p), `${key} in the resources of ${owner} has no value`, `${RESOURCE_FIXES[key]}, or remove it`);
    resources[key] = key === 'slurm' ? flagList(y, v, owner) : scalarValue(y, key, v, owner);
    pairs.set(key, p);
  }
  const problem = resourceProblems(resources as SlurmResources)[0];
  if (problem) {
    const pair = pairs.get(problem.key)!;
    // a flag prov-make sets itself: point at that flag, and say to remove it
    const reserved = /^slurm: (\S+) is set by prov-make/.exec(problem.message)?.[1];
    const item = reserved && isSeq(pair.value) ? pair.value.items.find((i) => isScalar(i) && String(i.value).startsWith(reserved)) : undefined;
    y.fail('bad-resources', item ?? y.valuePosition(pair), `in the resources of ${owner}, ${problem.message}`,
      reserved ? `remove "${reserved}" from the slurm list: prov-make sets it itself` : RESOURCE_FIXES[problem.key]);
  }
  return resources as SlurmResources;
}

function unknownResource(y: NodeReader, name: string, position: SourcePosition, owner: string): never {
  const guess = suggest(name, RESOURCE_KEYS, RESOURCE_ALIASES);
  const accepted = `resources accepts: ${RESOURCE_KEYS.join(', ')} (any other sbatch flag goes in the slurm: list)`;
  y.fail('bad-resources', position, `unknown key "${name}" in the resources of ${owner}${guess ? `. Did you mean "${guess}"?` : ''}`,
    guess ? `rename it to "${guess}". ${accepted}` : `remove it, or pass it as a flag: slurm: ["--${name}=..."]. ${accepted}`);
}

/** Names are text as written (`partition: 2024` is "2024"); counts and sizes keep YAML's numbers, checked by resourceProblems. */
function scalarValue(y: NodeReader, key: ResourceKey, v: unknown, owner: string): unknown {
  if (!isScalar(v)) y.fail('bad-resources', v, `${key} in the resources of ${owner} is ${y.describe(v)}; it must be a single value`, RESOURCE_FIXES[key]);
  if (key === 'partition' || key === 'account') return y.text(v);
  return typeof v.value === 'number' || typeof v.value === 'string' ? v.value : y.text(v);
}

function flagList(y: NodeReader, v: unknown, owner: string): string[] {
  if (!isSeq(v)) y.fail('bad-resources', v, `slurm in the resources of ${owner} must be a list of sbatch flags, not ${y.describe(v)}`, RESOURCE_FIXES.slurm);
  return v.items.map((item) => {
    const flag = y.deref(item);
    if (!isScalar(flag) || typeof flag.value !== 'string') {
      y.fail('bad-resources', item ?? v, `each entry of slurm in the resources of ${owner} must be one sbatch flag, not ${y.describe(flag)}`, RESOURCE_FIXES.slurm);
    }
    return flag.value;
  });
}
