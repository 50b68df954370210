/**
 * The engine's decisions, below a whole process: the real builder, checks, stores and cache on an
 * in-memory disk, with fake steps that say what they read and write. The CLI tests run the same
 * rules end to end under the real interposer.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { FakeStep } from './fake-runner.js';
import { all, tempDir, testWorkspace } from './harness.js';
import { MemoryDisk } from './memory-disk.js';

const CHAIN = `steps:
  clean:
    run: clean data/raw.txt > build/clean.txt
  stats:
    run: stats build/clean.txt > out.txt
`;

const chainSteps: Record<string, FakeStep> = {
  clean: (io) => io.write('build/clean.txt', io.read('data/raw.txt')!.trim().toLowerCase() + '\n'),
  stats: (io) => io.write('out.txt', `${io.read('build/clean.txt')!.length}\n`),
};

async function chain() {
  const t = testWorkspace(CHAIN, { 'data/raw.txt': 'Hello World\n' }, chainSteps);
  expect(await t.run()).toEqual(all(['clean', 'stats'], 'ran'));
  t.disk.settle();
  await t.run(); // confirms what was racily clean: the next checks are token comparisons
  return t;
}

describe('staleness', () => {
  it('runs everything once, then nothing, reading no file to decide', async () => {
    const t = await chain();
    expect(await t.run()).toEqual(all(['clean', 'stats'], 'skipped'));
    expect(t.reason('clean')).toBe('up to date');
    expect(await t.run()).toEqual(all(['clean', 'stats'], 'skipped'));
    expect(t.disk.hashed).toEqual([]);
    expect(t.runner.started).toEqual([]);
  });

  it('an input edit reruns that step and its consumers, with the reason', async () => {
    const t = await chain();
    t.disk.write('data/raw.txt', 'Goodbye\n');
    expect(await t.run()).toEqual(all(['clean', 'stats'], 'ran'));
    expect(t.reason('clean')).toBe('input data/raw.txt changed');
    expect(t.reason('stats')).toBe('input build/clean.txt changed');
    expect(t.disk.read('out.txt')).toBe('8\n');
  });

  it('touching an input reruns nothing: the hash confirms it, and the token is refreshed', async () => {
    const t = await chain();
    t.disk.touch('data/raw.txt');
    t.disk.settle(['data/raw.txt']);
    expect(await t.run()).toEqual(all(['clean', 'stats'], 'skipped'));
    expect(t.disk.hashed).toEqual(['data/raw.txt']);
    expect(await t.run()).toEqual(all(['clean', 'stats'], 'skipped'));
    expect(t.disk.hashed).toEqual([]);
  });

  it('early cutoff: an upstream step that reruns and writes the same bytes does not rerun its consumer', async () => {
    const t = await chain();
    t.disk.write('data/raw.txt', 'HELLO WORLD\n'); // lowercases to the same clean.txt
    expect(await t.run()).toEqual({ clean: 'ran', stats: 'skipped' });
  });

  it('a path it looked for and did not find appears: it reruns', async () => {
    const pick: Record<string, FakeStep> = { pick: (io) => io.write('picked.txt', io.read('override.txt') ?? 'default\n') };
    const t = testWorkspace('steps:\n  pick:\n    run: pick\n', {}, pick);
    await t.run();
    t.disk.settle();
    expect(await t.run()).toEqual({ pick: 'skipped' });
    t.disk.write('override.txt', 'mine\n');
    expect(await t.run()).toEqual({ pick: 'ran' });
    expect(t.reason('pick')).toBe('override.txt appeared (it looked for it and it was absent)');
    expect(t.disk.read('picked.txt')).toBe('mine\n');
  });

  it('a listed folder gains an entry: it reruns; a later step writing into the folder does not count', async () => {
    const pipeline = 'steps:\n  concat:\n    run: concat\n  extra:\n    run: extra\n';
    const steps: Record<string, FakeStep> = {
      concat: (io) => io.write('all.txt', io.list('data').sort().map((n) => io.read(`data/${n}`)).join('')),
      extra: (io) => io.write('data/zz-made-later.txt', 'not an input of concat\n'),
    };
    const t = testWorkspace(pipeline, { 'data/a.txt': 'a\n', 'data/b.txt': 'b\n' }, steps);
    await t.run();
    t.disk.settle();
    expect(await t.run()).toEqual({ concat: 'skipped', extra: 'skipped' });
    t.disk.write('data/c.txt', 'c\n');
    expect(await t.run()).toEqual({ concat: 'ran', extra: 'skipped' });
    expect(t.reason('concat')).toBe('data/c.txt appeared in folder data/ (it listed it)');
  });

  it('a racily clean file is confirmed by hash, once; then a token settles it', async () => {
    const t = testWorkspace(CHAIN, { 'data/raw.txt': 'Hello World\n' }, chainSteps);
    await t.run(); // every file was just written: recorded with untrusted tokens
    expect(await t.run()).toEqual(all(['clean', 'stats'], 'skipped'));
    expect(new Set(t.disk.hashed)).toEqual(new Set(['build/clean.txt', 'data/raw.txt', 'out.txt']));
    t.disk.settle();
    await t.run(); // confirmed again, now old enough to be trusted
    expect(await t.run()).toEqual(all(['clean', 'stats'], 'skipped'));
    expect(t.disk.hashed).toEqual([]);
  });

  it('a same-size edit that keeps the tuple of a racily clean file is still seen', async () => {
    const t = testWorkspace(CHAIN, { 'data/raw.txt': 'Hello World\n' }, chainSteps);
    await t.run();
    t.disk.write('data/raw.txt', 'Howdy World\n'); // same size, same second
    expect(await t.run()).toEqual(all(['clean', 'stats'], 'ran'));
  });

  it('a deleted output is restored from the blobs without running', async () => {
    const t = await chain();
    t.disk.remove('out.txt');
    expect(await t.run()).toEqual({ clean: 'skipped', stats: 'restored' });
    expect(t.reason('stats')).toBe('output out.txt was deleted; restored from the cache');
    expect(t.disk.read('out.txt')).toBe('12\n');
    expect(t.runner.started).toEqual([]);
  });

  it('status says what would run, and why, and changes nothing', async () => {
    const t = await chain();
    t.disk.write('data/raw.txt', 'Goodbye\n');
    expect(await t.plan()).toEqual(all(['clean', 'stats'], 'would-run'));
    expect(t.reason('clean')).toBe('input data/raw.txt changed');
    expect(t.reason('stats')).toBe('it may need to after clean runs (its outputs are inputs here)');
    expect(t.runner.started).toEqual([]);
    expect(await t.run()).toEqual(all(['clean', 'stats'], 'ran'));
  });
});

describe('versions', () => {
  it('a file several steps read is hashed once per run; changed between two of them, it is observed again', async () => {
    const pipeline = 'steps:\n  one:\n    run: one\n  two:\n    run: two\n  edit:\n    run: edit\n  three:\n    run: three\n';
    const steps: Record<string, FakeStep> = {
      one: (io) => io.write('one.txt', io.read('shared.txt')!),
      two: (io) => io.write('two.txt', io.read('shared.txt')!),
      edit: (io) => io.disk.write('shared.txt', 'changed by something else\n'),
      three: (io) => io.write('three.txt', io.read('shared.txt')!),
    };
    const t = testWorkspace(pipeline, { 'shared.txt': 'first\n' }, steps);
    t.disk.settle();
    await t.run();
    expect(t.disk.hashed.filter((p) => p === 'shared.txt')).toHaveLength(2); // for one (two takes it as is), for three
    t.disk.settle();
    // one and two read the first version and rerun; three recorded the version it read
    expect(await t.run()).toEqual({ one: 'ran', two: 'ran', edit: 'skipped', three: 'skipped' });
  });
});

describe('scheduling', () => {
  const PARALLEL = 'steps:\n  a:\n    run: a\n  b:\n    run: b\n  c:\n    run: c\n';
  const slow = (input: string, output: string): FakeStep => async (io) => {
    const text = io.read(input)!;
    await io.pause(30);
    io.write(output, text.toUpperCase());
  };
  const steps = { a: slow('a.in', 'a.out'), b: slow('b.in', 'b.out'), c: slow('a.out', 'c.out') };

  it('-j 2 runs steps the traces show apart at once, and a consumer after its producer', async () => {
    const t = testWorkspace(PARALLEL, { 'a.in': 'a', 'b.in': 'b' }, steps);
    await t.run({ jobs: 2 }); // never traced: each waits for the earlier ones
    expect(t.runner.maxRunning).toBe(1);
    for (const f of ['a.in', 'b.in']) t.disk.write(f, `${f} again`);
    t.runner.maxRunning = 0;
    t.runner.finished.length = 0;
    expect(await t.run({ jobs: 2 })).toEqual(all(['a', 'b', 'c'], 'ran'));
    expect(t.runner.maxRunning).toBe(2);
    expect(t.runner.started.slice(0, 2)).toEqual(['a', 'b']);
    expect(t.runner.finished.indexOf('a')).toBeLessThan(t.runner.started.indexOf('c'));
  });

  it('a failed step blocks what uses it, not what does not; it runs again next time', async () => {
    let fail = true;
    const t = testWorkspace(PARALLEL, { 'a.in': 'a', 'b.in': 'b' }, {
      ...steps,
      a: (io) => {
        const text = io.read('a.in')!;
        if (fail) return 3;
        io.write('a.out', text);
      },
    });
    expect(await t.run({ keepGoing: true })).toEqual({ a: 'failed', b: 'blocked', c: 'blocked' }); // never traced: anything may depend on a
    expect(t.reason('b')).toBe('it has never run, so it may use what a makes, and a failed');
    fail = false;
    expect(await t.run()).toEqual(all(['a', 'b', 'c'], 'ran'));
    fail = true;
    t.disk.write('a.in', 'a2');
    t.disk.write('b.in', 'b2');
    expect(await t.run({ keepGoing: true })).toEqual({ a: 'failed', b: 'ran', c: 'blocked' });
    expect(t.reason('a')).toBe('exit code 3 (it ran because input a.in changed)');
    expect(t.reason('c')).toBe('it depends on a, which failed');
  });

  it('without keepGoing a failure starts nothing more: the rest is not started, and says why', async () => {
    const t = testWorkspace(PARALLEL, { 'a.in': 'a', 'b.in': 'b' }, { ...steps, a: () => 3 });
    expect(await t.run()).toEqual({ a: 'failed', b: 'blocked', c: 'blocked' });
    expect(t.reason('b')).toBe('not started: the run stopped when a failed (-k keeps going)');
    expect(t.last!.ok).toBe(false);
  });
});

describe('cluster jobs', () => {
  const PIPELINE = 'resources: { mem: 1G, slurm: ["--qos=low"] }\nsteps:\n  a:\n    run: a\n    resources: { time: 5, slurm: ["--qos=high"] }\n  b:\n    run: b\n    needs: [a]\n  c:\n    run: c\n';
  const job = (id: string, state: string) => ({ scheduler: 'slurm' as const, id, nodes: 'node7', state });

  it('each launch carries the step\'s resources, the pipeline\'s merged under its own', async () => {
    const t = testWorkspace(PIPELINE, { 'a.in': 'a' }, { a: (io) => io.write('a.out', io.read('a.in')!), b: () => undefined, c: () => undefined });
    await t.run();
    expect(t.runner.launches.map((l) => [l.step, l.resources])).toEqual([
      ['a', { mem: '1G', time: 5, slurm: ['--qos=low', '--qos=high'] }],
      ['b', { mem: '1G', slurm: ['--qos=low'] }],
      ['c', { mem: '1G', slurm: ['--qos=low'] }],
    ]);
  });

  it('a job the scheduler killed fails with its verdict, and its job is kept with the execution', async () => {
    const t = testWorkspace(PIPELINE, { 'a.in': 'a' }, {
      a: (io) => {
        io.write('a.out', io.read('a.in')!);
        return { failure: { state: 'TIMEOUT', limit: 'time=5' }, job: job('17', 'TIMEOUT') };
      },
      b: () => undefined,
      c: () => undefined,
    });
    expect(await t.run()).toEqual({ a: 'failed', b: 'blocked', c: 'blocked' });
    expect(t.reason('a')).toBe('killed by Slurm: time limit exceeded (time=5) (it ran because it has never run)');
    const [execution] = (await t.ws.openStores()).history.executionsForStep('a');
    expect(execution).toMatchObject({ status: 'failed', exitCode: null, job: job('17', 'TIMEOUT') });
    expect(await t.plan()).toMatchObject({ a: 'would-run' });
    expect(t.reason('a')).toBe('its last run failed (killed)');
  });

  it('a refused job fails its step with the refusal, records nothing, and (with -k) blocks only what may use it', async () => {
    const t = testWorkspace(PIPELINE, { 'a.in': 'a' }, { a: (io) => io.write('a.out', io.read('a.in')!), b: () => undefined, c: () => undefined });
    await t.run();
    t.disk.write('a.in', 'a2');
    t.runner.refusals.set('a', 'Slurm refused the job: partition=nope: Invalid partition name specified (sinfo lists the partitions)');
    expect(await t.run({ keepGoing: true })).toEqual({ a: 'failed', b: 'blocked', c: 'skipped' });
    expect(t.reason('a')).toBe('Slurm refused the job: partition=nope: Invalid partition name specified (sinfo lists the partitions)');
    expect(t.last!.steps[0].output).toBe('sbatch: error: refused\n');
    expect((await t.ws.openStores()).history.executionsForStep('a')).toHaveLength(1);
    t.runner.refusals.clear();
    expect(await t.run()).toEqual({ a: 'ran', b: 'skipped', c: 'skipped' });
  });
});

describe('hazards', () => {
  it('two steps writing one file', async () => {
    const t = testWorkspace('steps:\n  one:\n    run: one\n  two:\n    run: two\n', {}, {
      one: (io) => io.write('shared.txt', '1'),
      two: (io) => io.write('shared.txt', '2'),
    });
    await t.run();
    expect(t.last!.ok).toBe(false);
    expect(t.last!.hazards.map((h) => [h.kind, h.steps, h.path])).toEqual([['two-writers', ['one', 'two'], 'shared.txt']]);
  });

  it('a step reading a file a later step writes, and one probing a path a later step makes', async () => {
    const t = testWorkspace('steps:\n  report:\n    run: report\n  summarize:\n    run: summarize\n  probe:\n    run: probe\n  late:\n    run: late\n', { 'in.txt': 'x' }, {
      report: (io) => io.write('report.txt', io.read('summary.txt') ?? 'none'),
      summarize: (io) => io.write('summary.txt', io.read('in.txt')!),
      probe: (io) => io.write('probe.txt', io.read('later.txt') ?? 'none'),
      late: (io) => io.write('later.txt', 'made late'),
    });
    await t.run();
    expect(t.last!.hazards.map((h) => [h.kind, h.steps, h.path]).sort()).toEqual([
      ['read-before-write', ['probe', 'late'], 'later.txt'],
      ['read-before-write', ['report', 'summarize'], 'summary.txt'],
    ]);
    expect(t.last!.hazards.find((h) => h.path === 'summary.txt')!.fix).toMatch(/move "summarize" above "report"/);
  });

  it('an input changed while its step ran: not trusted, an error now, a rerun next time', async () => {
    let meddle = true;
    const t = testWorkspace('steps:\n  copy:\n    run: copy\n', { 'in.txt': 'one' }, {
      copy: (io) => {
        io.write('out.txt', io.read('in.txt')!);
        if (meddle) io.disk.write('in.txt', 'two');
      },
    });
    await t.run();
    expect(t.last!.hazards.map((h) => [h.kind, h.path])).toEqual([['changed-while-running', 'in.txt']]);
    meddle = false;
    t.disk.settle();
    expect(await t.run()).toEqual({ copy: 'ran' });
    expect(t.reason('copy')).toBe('its last run cannot be trusted: input in.txt changed while the step ran');
  });
});

describe('step cache', () => {
  it('a fresh clone at another path restores every step from the cache; an edited input misses and runs', async () => {
    const cacheDir = tempDir();
    const blobs = new Map<string, Buffer>();
    const a = testWorkspace(CHAIN, { 'data/raw.txt': 'Hello World\n' }, chainSteps, { cacheDir, blobs });
    await a.run();
    const clone = new MemoryDisk({ 'data/raw.txt': 'Hello World\n' }, '/elsewhere'); // new inodes, new times
    const b = testWorkspace(CHAIN, {}, chainSteps, { cacheDir, blobs, disk: clone });
    expect(await b.run()).toEqual(all(['clean', 'stats'], 'restored'));
    expect(b.reason('clean')).toBe('it has never run; restored its outputs from the cache');
    expect(b.runner.started).toEqual([]);
    expect(clone.read('out.txt')).toBe('12\n');
    clone.settle();
    expect(await b.run()).toEqual(all(['clean', 'stats'], 'skipped'));

    const edited = new MemoryDisk({ 'data/raw.txt': 'Other\n' }, '/third');
    const c = testWorkspace(CHAIN, {}, chainSteps, { cacheDir, blobs, disk: edited });
    expect(await c.run()).toEqual(all(['clean', 'stats'], 'ran'));
  });

  it('an execution that was not trusted is not cached', async () => {
    const cacheDir = tempDir();
    const blobs = new Map<string, Buffer>();
    const meddler: Record<string, FakeStep> = {
      copy: (io) => {
        io.write('out.txt', io.read('in.txt')!);
        io.disk.write('in.txt', 'one'); // same bytes, new ctime: the step cannot know
      },
    };
    const a = testWorkspace('steps:\n  copy:\n    run: copy\n', { 'in.txt': 'one' }, meddler, { cacheDir, blobs });
    await a.run();
    const b = testWorkspace('steps:\n  copy:\n    run: copy\n', {}, meddler, { cacheDir, blobs, disk: new MemoryDisk({ 'in.txt': 'one' }, '/b') });
    expect(await b.run()).toEqual({ copy: 'ran' });
  });
});

describe('no-op snapshot', () => {
  it('after a clean run, the next no-op is proven from the snapshot; any change falls back to the engine', async () => {
    const t = testWorkspace(CHAIN, { 'data/raw.txt': 'Hello World\n' }, chainSteps, { contentKey: 'pipeline-v1' });
    await t.run();
    t.disk.settle();
    const snapshot = join(t.ws.paths.stateDir, 'up-to-date.json');
    expect(existsSync(snapshot)).toBe(false); // racily clean files: no snapshot yet
    await t.run(); // confirms them, writes the snapshot
    expect(existsSync(snapshot)).toBe(true);
    expect(await t.run()).toEqual(all(['clean', 'stats'], 'skipped'));
    t.disk.write('data/raw.txt', 'Goodbye\n');
    expect(await t.run()).toEqual(all(['clean', 'stats'], 'ran'));
    t.disk.write('data/raw.txt', '');
    await t.run({ force: true });
    expect(existsSync(snapshot)).toBe(false); // a run that ran something leaves racily clean outputs
  });
});
