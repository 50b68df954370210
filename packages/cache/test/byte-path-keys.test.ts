/**
 * Names that are not UTF-8 in the stores (issue 11, item 2): a path holding raw bytes (lone
 * surrogates, @prov-make/interposer/byte-path) is stored in valid Unicode and read back as the same
 * path, through the real lmdb stores, the content store and the hashes, and two names that differ
 * only in such a byte never share a key or a hash.
 */
import { readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { fsPath } from '@prov-make/interposer/byte-path';
import {
  cachedOutputsProblem,
  ContentStore,
  DepsLog,
  digestFileVersioned,
  fromWorkspaceKey,
  hashDefinition,
  hashListing,
  isStoredPath,
  keyOf,
  newExecutionId,
  pathOfKey,
  ProvenanceStore,
  tokenList,
  toWorkspaceKey,
  type ExecutionRecord,
  type StepState,
} from '../src/index.js';
import { pathKey } from '../src/db-key.js';
import { tempDir } from './helpers.js';

const ROOT = '/work/ws';
const NAMES = ['in\udcff.txt', 'in\udcfe.txt', 'd\udcfd/a\\xff', 'new\nline\udcff', 'back\\slash\udc80', 'emoji😀\udcff', '..\udcff'];

const closers: (() => unknown)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

describe('stored paths holding bytes that are not UTF-8', () => {
  it('are valid Unicode, distinct, and read back as the same path, inside and outside the workspace', () => {
    const keys = new Set<string>();
    for (const name of NAMES) {
      for (const abs of [`${ROOT}/${name}`, `/elsewhere/${name}`]) {
        const key = toWorkspaceKey(ROOT, abs);
        expect(key.isWellFormed()).toBe(true);
        expect(fromWorkspaceKey(ROOT, key)).toBe(abs);
        keys.add(key);
      }
    }
    expect(keys.size).toBe(NAMES.length * 2);
    expect(toWorkspaceKey(ROOT, `${ROOT}/data/in\udcff.txt`)).toBe('./data/in\\xff.txt');
    expect(toWorkspaceKey(ROOT, `/tmp/in\udcff.txt`)).toBe('//tmp/in\\xff.txt');
    expect(pathOfKey('./data/in\\xff.txt')).toBe('data/in\udcff.txt');
    // UTF-8 names keep the form they always had
    expect(toWorkspaceKey(ROOT, `${ROOT}/été/a\\xff`)).toBe('été/a\\xff');
    expect(toWorkspaceKey(ROOT, `${ROOT}/new\nline`)).toBe('new\nline');
  });

  it('key the hash memo and the provenance indexes apart', () => {
    expect(pathKey('/w/in\udcff')).not.toBe(pathKey('/w/in\udcfe'));
    expect(pathKey('/w/plain')).toBe('/w/plain');
  });

  it('survive the deps log and the provenance store (lmdb, msgpack values)', async () => {
    const dir = tempDir();
    const keys = NAMES.map((n) => toWorkspaceKey(ROOT, `${ROOT}/${n}`));
    const deps = DepsLog.open(join(dir, 'deps'));
    const ids = keys.map((k) => deps.idOf(k));
    const definition = { run: 'cat', cwd: '.', env: {} };
    const none = tokenList([], []);
    const state: StepState = {
      definitionHash: hashDefinition(definition), definition, executionId: 'e', succeeded: true, distrust: null, startedAt: 1, finishedAt: 2, exitCode: 0,
      inputs: tokenList(ids, ids.map(() => 1)), outputs: none, absent: new Uint32Array(), listed: none,
    };
    deps.put('s', state, { inputs: ids.map(() => null), outputs: [], outputModes: [] });
    await deps.close();
    const again = DepsLog.open(join(dir, 'deps'));
    closers.push(() => again.close());
    expect(ids.map((id) => again.pathOf(id))).toEqual(keys);

    const store = ProvenanceStore.open(dir);
    closers.push(() => store.close());
    const record: ExecutionRecord = {
      id: newExecutionId(), runId: 'r', step: 's', definitionHash: hashDefinition(definition), definition, startedAt: 1, finishedAt: 2, exitCode: 0, signal: null,
      status: 'succeeded', reason: 'first run', fullyObserved: true, executed: [], absent: [], listed: [], deleted: [], untraced: [], annotations: [], outputLogHash: null,
      inputs: keys.map((path) => ({ path, version: null, hash: null })),
      outputs: [{ path: keys[0], version: null, hash: 'aaaaaaaaaaaaaaaa' }],
    };
    store.put(record);
    expect(store.get(record.id)).toEqual(record);
    expect(store.writersOf(keys[0]).map((r) => r.id)).toEqual([record.id]);
    expect(store.writersOf(keys[1])).toEqual([]);
    expect(store.readersOf(keys[1]).map((r) => r.id)).toEqual([record.id]);
  });

  it('are hashed as their bytes: listings and symlink targets that differ in one byte differ', async () => {
    expect(await hashListing(['a\udcfe'])).not.toBe(await hashListing(['a\udcff']));
    expect(await hashListing(['plain'])).toBe(await hashListing(['plain']));
    const dir = tempDir();
    symlinkSync(fsPath('t\udcfe'), fsPath(join(dir, 'l1')));
    symlinkSync(fsPath('t\udcff'), fsPath(join(dir, 'l2')));
    const [l1, l2] = [await digestFileVersioned(join(dir, 'l1')), await digestFileVersioned(join(dir, 'l2'))];
    expect(l1.digests.xxh64).not.toBe(l2.digests.xxh64);
    expect(l1.digests.sha256).not.toBe(l2.digests.sha256);
  });

  it('are kept and restored by the content store under their own bytes, on its workers too', async () => {
    const ws = tempDir();
    const objects = new ContentStore(join(tempDir(), 'cache'));
    const one = join(ws, 'out\udcfe.txt');
    writeFileSync(fsPath(one), 'bytes\n');
    const [read] = await objects.readFiles([one], true);
    const dest = join(ws, 'sub\udcfd', 'again\udcff.txt');
    await objects.restore(read.digests!.sha256, dest, { workspaceRoot: ws });
    expect(readFileSync(fsPath(dest), 'utf8')).toBe('bytes\n');

    // enough files for the worker threads, one of them large (an object file of its own), and a link
    const names = Array.from({ length: 40 }, (_, k) => join(ws, `many\udcfe${k}.txt`));
    names.forEach((n, k) => writeFileSync(fsPath(n), k === 0 ? Buffer.alloc(100_000, 7) : `file ${k}\n`));
    symlinkSync(fsPath('t\udcff'), fsPath(join(ws, 'link\udcfe')));
    const reads = await objects.readFiles([...names, join(ws, 'link\udcfe')], true);
    expect(reads.at(-1)!.target).toBe('t\udcff');
    const back = join(ws, 'back\udcfc');
    await objects.restoreFiles(names.map((n, k) => ({ sha256: reads[k].digests!.sha256, path: join(back, `f\udcfb${k}`), mode: 0o644 })), ws);
    names.forEach((n, k) => expect(readFileSync(fsPath(join(back, `f\udcfb${k}`)))).toEqual(readFileSync(fsPath(n))));
  });

  it('are outputs a cache entry may restore, checked as the paths they stand for', () => {
    const nothingThere = { lstat: () => undefined };
    const key = toWorkspaceKey(ROOT, join(ROOT, 'd\udcfd', 'out\udcff.txt'));
    expect(isStoredPath(key)).toBe(true);
    expect(cachedOutputsProblem(ROOT, [{ kind: 'dir', path: keyOf('d\udcfd'), mode: 0o755 }, { kind: 'symlink', path: key, target: 't\udcfe' }], nothingThere)).toBeNull();
    // a crafted key: one that climbs, one that is not a path's own key (so it could alias another)
    expect(isStoredPath('./../out\\xff')).toBe(false);
    expect(cachedOutputsProblem(ROOT, [{ kind: 'dir', path: './..\\xff/../..', mode: 0o755 }], nothingThere)).toMatch(/not a safe path|not a normal path/);
    expect(isStoredPath('./plain.txt')).toBe(false);
    expect(cachedOutputsProblem(ROOT, [{ kind: 'file', path: keyOf('d\udcfd'), hash: '0'.repeat(16), sha256: '0'.repeat(64), size: 0, mode: 0o644 }, { kind: 'dir', path: key, mode: 0o755 }], nothingThere)).toMatch(/is under output .*, a file/);
  });
});
