/**
 * The pure parts of the Slurm executor: `resources:` to sbatch flags (a pipeline default merged under
 * each step's values), what is wrong with a resources block, and Slurm's final states and refusals
 * as the reasons a person reads. The Slurm messages below are sbatch's own (Slurm 22.05).
 */
import { describe, expect, it } from 'vitest';
import { describe as describeReason, describeJobFailure } from '../src/engine/reasons.js';
import { effectiveState, jobFailure, signalOf, submitError, type SlurmJobEnd } from '../src/executor/slurm-outcome.js';
import { mergeResources, resourceOptions, resourceProblems, type SlurmResources } from '../src/executor/slurm-resources.js';

describe('resources -> sbatch flags', () => {
  it('maps every key to its sbatch option, extra flags last', () => {
    expect(resourceOptions({ cpus: 4, mem: '2G', time: '0:01:00', partition: 'short', gpus: 'a100:2', account: 'lab', slurm: ['--qos=long'] })).toEqual([
      '--partition=short', '--account=lab', '--cpus-per-task=4', '--mem=2G', '--time=0:01:00', '--gpus=a100:2', '--qos=long',
    ]);
    expect(resourceOptions({ mem: 2048, time: 30, gpus: 1 })).toEqual(['--mem=2048', '--time=30', '--gpus=1']);
    expect(resourceOptions({})).toEqual([]);
  });

  it('merges the pipeline default under the step: the step wins, slurm flags add up (the step\'s last)', () => {
    const defaults = { partition: 'short', mem: '1G', time: 60, slurm: ['--qos=normal'] };
    expect(mergeResources(defaults, { mem: '8G', cpus: 2, slurm: ['--qos=long'] })).toEqual({
      partition: 'short', mem: '8G', time: 60, cpus: 2, slurm: ['--qos=normal', '--qos=long'],
    });
    expect(mergeResources(defaults, undefined)).toEqual(defaults);
    expect(mergeResources(undefined, { cpus: 1 })).toEqual({ cpus: 1 });
    expect(mergeResources({ cpus: 2 }, { cpus: undefined })).toEqual({ cpus: 2 });
  });
});

describe('resource problems', () => {
  it('accepts Slurm\'s formats', () => {
    for (const time of [30, '30', '0:01:00', '90:00', '2-12', '1-00:00:00', '1-2:30', 'UNLIMITED']) {
      expect(resourceProblems({ time }), String(time)).toEqual([]);
    }
    expect(resourceProblems({ cpus: 1, mem: '500M', gpus: 'v100:1', partition: 'a,b', account: 'my-lab', slurm: ['--qos=long', '--constraint=avx2'] })).toEqual([]);
  });

  it('names the key, says what is expected and what it got', () => {
    const problems = resourceProblems({ cpus: 0, mem: '2 GB', time: '1h', partition: 'a b', gpus: 'two', account: '', slurm: ['qos=long'] });
    expect(problems.map((p) => p.key)).toEqual(['cpus', 'mem', 'time', 'partition', 'account', 'gpus', 'slurm']);
    expect(problems[1].message).toBe('mem: must be megabytes (2048) or a whole size with a K, M, G or T suffix (500M, 2G) (got "2 GB")');
    expect(problems[2].message).toMatch(/^time: must be minutes \(30\) or one of Slurm's formats: 0:01:00/);
    expect(resourceProblems({ cpus: 1.5 })[0].message).toBe('cpus: must be a whole number of CPUs, 1 or more (got 1.5)');
  });

  it('refuses flags prov-make sets itself, in long and short form', () => {
    const problems = resourceProblems({ slurm: ['--output=x.log', '-ex.err', '--requeue', '--export=NONE', '--qos=long'] });
    expect(problems.map((p) => p.message)).toEqual([
      'slurm: --output is set by prov-make (the step\'s output is kept by prov-make)',
      'slurm: -e is set by prov-make (the step\'s output is kept by prov-make)',
      'slurm: --requeue is set by prov-make (a requeued job would run the step twice into one trace)',
      'slurm: --export is set by prov-make (steps see the environment prov-make gives them)',
    ]);
  });
});

const end = (over: Partial<SlurmJobEnd>): SlurmJobEnd => ({ jobId: '42', state: 'COMPLETED', exitCode: 0, signal: null, nodes: 'node7', setupProblem: null, ...over });

describe('final state -> failure reason', () => {
  const said = (e: SlurmJobEnd, r: SlurmResources) => {
    const failure = jobFailure(e, r);
    return failure && describeJobFailure('Slurm', failure);
  };

  it('is none for a completed job or a failed command (its exit code or signal says it), a setup problem otherwise', () => {
    expect(jobFailure(end({}), {})).toBeNull();
    expect(jobFailure(end({ state: 'FAILED', exitCode: 3 }), {})).toBeNull();
    expect(jobFailure(end({ state: 'FAILED', exitCode: null, signal: 9 }), {})).toBeNull();
    expect(signalOf(9)).toBe('SIGKILL');
    expect(signalOf(null)).toBeNull();
    expect(said(end({ state: 'FAILED', exitCode: 199, setupProblem: 'the job could not start on node7: cannot enter /w' }), {})).toBe('the job could not start on node7: cannot enter /w');
  });

  it('says Slurm killed it, and with which of the step\'s limits', () => {
    expect(jobFailure(end({ state: 'OUT_OF_MEMORY' }), { mem: '2G' })).toEqual({ state: 'OUT_OF_MEMORY', limit: 'mem=2G' });
    expect(said(end({ state: 'OUT_OF_MEMORY' }), { mem: '2G' })).toBe('killed by Slurm: out of memory (mem=2G)');
    expect(said(end({ state: 'OUT_OF_MEMORY' }), {})).toBe('killed by Slurm: out of memory (mem not set: the partition\'s default memory applied)');
    expect(said(end({ state: 'TIMEOUT' }), { time: '0:01:00' })).toBe('killed by Slurm: time limit exceeded (time=0:01:00)');
    expect(said(end({ state: 'TIMEOUT' }), { time: 90 })).toBe('killed by Slurm: time limit exceeded (time=90)');
    expect(said(end({ state: 'CANCELLED' }), {})).toBe('killed by Slurm: cancelled (scancel, or an administrator)');
    expect(said(end({ state: 'NODE_FAIL' }), {})).toBe('killed by Slurm: the node failed on node7');
    expect(said(end({ state: 'PREEMPTED' }), {})).toBe('killed by Slurm: preempted by a job of higher priority');
    expect(said(end({ state: 'UNKNOWN', exitCode: null }), {})).toMatch(/^Slurm no longer knows job 42 /);
  });

  it('is the step\'s failure reason, after why it ran', () => {
    const failure = jobFailure(end({ state: 'OUT_OF_MEMORY' }), { mem: '2G' })!;
    expect(describeReason({ kind: 'job-failed', scheduler: 'Slurm', failure, cause: { kind: 'never-ran' } })).toBe('killed by Slurm: out of memory (mem=2G) (it ran because it has never run)');
  });

  it('reads a memory kill by jobacct_gather (no cgroups) as out of memory', () => {
    const tail = 'MemoryError?\nslurmstepd-node7: error: StepId=42.batch exceeded memory limit (329879552 > 104857600), being killed\nslurmstepd-node7: error: Exceeded job memory limit\n';
    expect(effectiveState('FAILED', tail)).toBe('OUT_OF_MEMORY');
    expect(effectiveState('CANCELLED', tail)).toBe('OUT_OF_MEMORY');
    expect(effectiveState('FAILED', 'exceeded memory limit, said the program\n')).toBe('FAILED');
    expect(effectiveState('TIMEOUT', tail)).toBe('TIMEOUT');
  });
});

describe('sbatch refusals -> the option to fix', () => {
  it('names the resource sbatch refused, with a way to see what the cluster has', () => {
    const partition = submitError('sbatch: error: invalid partition specified: nope\nsbatch: error: Batch job submission failed: Invalid partition name specified\n', { partition: 'nope', mem: '1G' });
    expect(partition.option).toBe('partition');
    expect(partition.message).toBe('Slurm refused the job: partition=nope: Invalid partition name specified (sinfo lists the partitions)');

    const account = submitError('sbatch: error: Batch job submission failed: Invalid account or account/partition combination specified\n', { account: 'nolab' });
    expect(account.option).toBe('account');
    expect(account.message).toMatch(/^Slurm refused the job: account=nolab: Invalid account or account\/partition combination specified \(sacctmgr/);

    const mem = submitError('sbatch: error: Memory specification can not be satisfied\nsbatch: error: Batch job submission failed: Requested node configuration is not available\n', { mem: '100G' });
    expect(mem.option).toBe('mem');
    expect(mem.message).toMatch(/^Slurm refused the job: mem=100G: Requested node configuration is not available/);

    const cpus = submitError('sbatch: error: Batch job submission failed: Requested node configuration is not available\n', { cpus: 64, mem: '1G' });
    expect(cpus.option).toBe('cpus');
    expect(cpus.message).toMatch(/^Slurm refused the job: cpus=64, mem=1G: Requested node configuration/);

    expect(submitError('sbatch: error: Invalid --time specification\n', { time: '99:99:99:99' }).option).toBe('time');
    expect(submitError('sbatch: error: Invalid generic resource (gres) specification\n', { gpus: 1 }).option).toBe('gpus');
    expect(submitError('sbatch: unrecognized option \'--frobnicate\'\nTry "sbatch --help" for more information\n', { slurm: ['--frobnicate'] }).message)
      .toBe('Slurm refused the job: slurm=--frobnicate: sbatch: unrecognized option \'--frobnicate\' (see man sbatch)');
    expect(submitError('sbatch: error: Invalid numeric value "0" for --cpus-per-task.\n', { cpus: 0 }).option).toBe('cpus');
  });

  it('a submission the controller did not answer is no refusal: the job may exist, and no option is to blame', () => {
    for (const said of ['Socket timed out on send/recv operation', 'Unable to contact slurm controller (connect failure)']) {
      const e = submitError(`sbatch: error: Batch job submission failed: ${said}\n`, { partition: 'short', time: 5 });
      expect(e).toMatchObject({ unanswered: true, option: null, unsureTag: null, message: `Slurm did not answer the submission (${said})` });
    }
    expect(submitError('sbatch: error: Batch job submission failed: Invalid partition name specified\n', { partition: 'x' }).unanswered).toBe(false);
  });

  it('names no option when the job used none that could cause it', () => {
    const e = submitError('sbatch: error: Batch job submission failed: Invalid partition name specified\n', {});
    expect(e.option).toBeNull();
    expect(e.message).toBe('Slurm refused the job: Invalid partition name specified');
  });
});
