import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import {
  hashDefinition,
  newExecutionId,
  ProvenanceStore,
  type ExecutionRecord,
  type ExecutionStatus,
  type RecordedFile,
} from '../src/index.js';
import { tempDir } from './helpers.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const DIST = pathToFileURL(resolve(HERE, '..', 'dist', 'index.js')).href;
const WRITER = join(HERE, 'fixtures', 'provenance-writer.mjs');

const opened: ProvenanceStore[] = [];
afterEach(async () => {
  for (const s of opened.splice(0)) await s.close();
});
function openStore(dir: string): ProvenanceStore {
  const s = ProvenanceStore.open(dir);
  opened.push(s);
  return s;
}

function file(path: string, hash: string | null = null): RecordedFile {
  return { path, version: null, hash };
}

function record(step: string, status: ExecutionStatus, over: Partial<ExecutionRecord> = {}): ExecutionRecord {
  const definition = { run: `make ${step}`, cwd: '.', env: { LC_ALL: 'C' } };
  return {
    id: newExecutionId(),
    runId: 'run-1',
    step,
    definitionHash: hashDefinition(definition),
    definition,
    startedAt: 1000,
    finishedAt: 2000,
    exitCode: status === 'succeeded' ? 0 : 1,
    signal: null,
    status,
    reason: 'first run',
    fullyObserved: true,
    inputs: [],
    executed: [],
    outputs: [],
    absent: [],
    listed: [],
    deleted: [],
    untraced: [],
    annotations: [],
    outputLogHash: null,
    ...over,
  };
}

describe('ProvenanceStore', () => {
  it('stores records and keeps the per-step indexes', () => {
    const store = openStore(tempDir());
    const a1 = record('clean', 'succeeded', { inputs: [file('data/raw.csv', 'aaaaaaaaaaaaaaaa')], executed: [file('/usr/bin/python3', 'bbbbbbbbbbbbbbbb')] });
    const a2 = record('clean', 'failed');
    const b1 = record('stats', 'succeeded');
    store.put(a1);
    store.putMany([a2, b1]);

    expect(store.get(a1.id)).toEqual(a1);
    expect(store.get('nope')).toBeUndefined();
    expect(store.latestForStep('clean')?.id).toBe(a2.id);
    expect(store.latestSuccessfulForStep('clean')?.id).toBe(a1.id);
    expect(store.latestSuccessfulForStep('missing')).toBeUndefined();
    expect(store.executionsForStep('clean').map((r) => r.id)).toEqual([a1.id, a2.id]);
    expect(store.executionsForStep('clea')).toEqual([]); // prefixes do not match
    expect(store.allExecutions().map((r) => r.id)).toEqual([a1.id, a2.id, b1.id]);
    expect(store.count()).toBe(3);
    expect(store.steps()).toEqual(['clean', 'stats']);
    expect(store.readersOf('data/raw.csv').map((r) => r.id)).toEqual([a1.id]);
    expect(store.readersOf('/usr/bin/python3').map((r) => r.id)).toEqual([a1.id]);
    expect(store.readersOf('data/raw')).toEqual([]);
  });

  it('finds the producer of a path, and of a given content at that path', () => {
    const store = openStore(tempDir());
    const first = record('clean', 'succeeded', { outputs: [file('build/clean.csv', '1111111111111111')] });
    const second = record('clean', 'succeeded', { outputs: [file('build/clean.csv', '2222222222222222')] });
    const other = record('other', 'succeeded', { outputs: [file('build/clean.csv.bak', '1111111111111111')] });
    for (const r of [first, second, other]) store.put(r);

    expect(store.producerOf('build/clean.csv')?.id).toBe(second.id);
    expect(store.producerOf('build/clean.csv', '1111111111111111')?.id).toBe(first.id);
    expect(store.producerOf('build/clean.csv', '2222222222222222')?.id).toBe(second.id);
    expect(store.producerOf('build/clean.csv', '3333333333333333')).toBeUndefined();
    expect(store.producerOf('build/clean')).toBeUndefined();
    expect(store.writersOf('build/clean.csv').map((r) => r.id)).toEqual([first.id, second.id]);
  });

  it('handles paths longer than an LMDB key', () => {
    const store = openStore(tempDir());
    const long = `/very/${'deep/'.repeat(600)}file.txt`;
    const r = record('long', 'succeeded', { inputs: [file(long)], outputs: [file(`${long}.out`, 'abcdefabcdefabcd')] });
    store.put(r);
    expect(store.readersOf(long).map((x) => x.id)).toEqual([r.id]);
    expect(store.producerOf(`${long}.out`, 'abcdefabcdefabcd')?.id).toBe(r.id);
    expect(store.get(r.id)?.inputs[0].path).toBe(long);
  });

  it('handles paths with control characters', () => {
    const store = openStore(tempDir());
    const odd = `weird/${'x'.repeat(80)}\u0001\u0000name`;
    const r = record('odd', 'succeeded', { inputs: [file(odd)], outputs: [file(`${odd}.out`, 'abcdefabcdefabcd')] });
    store.put(r);
    expect(store.readersOf(odd).map((x) => x.id)).toEqual([r.id]);
    expect(store.producerOf(`${odd}.out`)?.id).toBe(r.id);
  });

  it('rewriting a record replaces its index entries and pointers', () => {
    const store = openStore(tempDir());
    const ok = record('s', 'succeeded', { inputs: [file('in.txt')], outputs: [file('out.txt', 'aaaaaaaaaaaaaaaa')] });
    const later = record('s', 'succeeded', { inputs: [file('old-input.txt')] });
    store.put(ok);
    store.put(later);
    expect(store.latestSuccessfulForStep('s')?.id).toBe(later.id);

    store.put({ ...later, status: 'failed', inputs: [file('new-input.txt')] });
    expect(store.latestSuccessfulForStep('s')?.id).toBe(ok.id);
    expect(store.latestForStep('s')?.status).toBe('failed');
    expect(store.readersOf('old-input.txt')).toEqual([]);
    expect(store.readersOf('new-input.txt').map((r) => r.id)).toEqual([later.id]);
    expect(store.count()).toBe(2);

    // An older record put late does not move the pointers back.
    const early = record('s', 'succeeded', { id: `000000000000001-000000-000000` });
    store.put(early);
    expect(store.latestForStep('s')?.id).toBe(later.id);
    expect(store.executionsForStep('s')[0].id).toBe(early.id);
  });

  it('keeps meta values and everything across reopen', async () => {
    const dir = tempDir();
    const store = openStore(dir);
    const r = record('x', 'succeeded');
    store.put(r);
    store.setMeta('lastRunId', 'run-42');
    expect(store.getMeta<string>('lastRunId')).toBe('run-42');
    await store.close();
    opened.splice(opened.indexOf(store), 1);

    const again = openStore(dir);
    expect(again.getMeta('lastRunId')).toBe('run-42');
    expect(again.latestSuccessfulForStep('x')).toEqual(r);
  });

  it('makes sortable unique ids and stable definition hashes', () => {
    const ids = Array.from({ length: 1000 }, () => newExecutionId());
    expect(new Set(ids).size).toBe(1000);
    expect([...ids].sort()).toEqual(ids);
    expect(hashDefinition({ run: 'a', cwd: '.', env: { A: '1', B: '2' } })).toBe(
      hashDefinition({ run: 'a', cwd: '.', env: { B: '2', A: '1' } }),
    );
    expect(hashDefinition({ run: 'a', cwd: '.', env: { A: '1' } })).not.toBe(hashDefinition({ run: 'a', cwd: '.', env: { A: '2' } }));
  });

  it('refuses records without an id or step', () => {
    const store = openStore(tempDir());
    expect(() => store.put(record('', 'succeeded'))).toThrow(/step/);
    expect(() => store.put(record('s', 'succeeded', { id: '' }))).toThrow(/id/);
  });
});

/** Start the writer, wait until it has committed `atLeast` records, then SIGKILL it at a random moment. */
async function writeThenKill(stateDir: string, atLeast: number): Promise<number> {
  const child = spawn(process.execPath, [WRITER, DIST, stateDir], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  let written = 0;
  await new Promise<void>((resolveWait, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      const lines = d.toString().trim().split('\n');
      written = Number(lines[lines.length - 1]);
      if (written >= atLeast) resolveWait();
    });
    child.on('exit', (code) => reject(new Error(`writer exited early (${code}): ${stderr}`)));
  });
  await new Promise((r) => setTimeout(r, Math.random() * 30));
  const exited = new Promise<NodeJS.Signals | null>((r) => child.on('exit', (_c, sig) => r(sig)));
  child.kill('SIGKILL');
  expect(await exited).toBe('SIGKILL');
  return written;
}

function checkConsistent(store: ProvenanceStore): number {
  const all = store.allExecutions();
  for (const r of all) {
    const n = Number(r.annotations[0].slice(2));
    expect(r.inputs).toHaveLength(n);
    const sum = createHash('sha256').update(JSON.stringify([r.inputs, r.outputs, r.step, r.id])).digest('hex');
    expect(r.annotations[1]).toBe(`sum=${sum}`);
  }
  // Every index agrees with the records: nothing indexed that is missing, nothing missing from an index.
  for (const step of store.steps()) {
    const own = all.filter((r) => r.step === step);
    expect(store.executionsForStep(step).map((r) => r.id)).toEqual(own.map((r) => r.id));
    expect(store.latestForStep(step)?.id).toBe(own[own.length - 1].id);
    const ok = own.filter((r) => r.status === 'succeeded');
    expect(store.latestSuccessfulForStep(step)?.id).toBe(ok[ok.length - 1]?.id);
  }
  expect(new Set(store.steps())).toEqual(new Set(all.map((r) => r.step)));
  const last = all[all.length - 1];
  expect(store.producerOf(last.outputs[0].path)?.id).toBe(last.id);
  expect(store.readersOf(last.inputs[0].path).map((r) => r.id)).toContain(last.id);
  return all.length;
}

describe('ProvenanceStore crash safety', () => {
  it('after kill -9 of a writer mid-loop, every record is complete or absent and indexes agree', async () => {
    const dir = tempDir();
    let committed = 0;
    for (let round = 0; round < 4; round++) {
      const written = await writeThenKill(dir, 30);
      const store = openStore(dir);
      const count = checkConsistent(store);
      // Every put the writer reported is there (put is durable on return); it may have done more
      // before the signal landed, and the one in flight is either whole or missing (checked above).
      expect(count).toBeGreaterThanOrEqual(committed + written);
      committed = count;
      await store.close();
      opened.splice(opened.indexOf(store), 1);
    }
  });
});
