/**
 * `why` agrees with `status` for every output after any sequence of edits (issue 10, item 7): random
 * edits on the bundled example (inputs, configs, scripts, the pipeline, outputs deleted or edited
 * by hand), each followed by `status --json` and `why --json` for every output, compared; then a run,
 * after which everything is up to date by both. The seed is fixed and printed on failure.
 */
import { appendFileSync, existsSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { exampleWorkspace, runJson, startCli, type RunJson } from './cli-helpers.js';

/** mulberry32: a small seeded generator, so a failing sequence can be replayed. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Every output of the example and the step that writes it. */
function outputs(ws: string): [string, string][] {
  const regions = existsSync(join(ws, 'build/regions')) ? readdirSync(join(ws, 'build/regions')).map((f) => `build/regions/${f}`) : [];
  return [['build/clean.csv', 'clean'], ...regions.map((r): [string, string] => [r, 'split']), ['build/top_products.txt', 'top_products'], ['out.csv', 'stats'], ['report.txt', 'report']];
}

const content = (ws: string, p: string) => (existsSync(join(ws, p)) ? readFileSync(join(ws, p), 'utf8') : null);

type Edit = (ws: string, pick: () => number) => string;

const EDITS: Edit[] = [
  (ws) => {
    const p = join(ws, 'config/params.json');
    const text = readFileSync(p, 'utf8');
    writeFileSync(p, text.includes('"decimals": 2') ? text.replace('"decimals": 2', '"decimals": 1') : text.replace('"decimals": 1', '"decimals": 2'));
    return 'decimals toggled';
  },
  (ws, pick) => {
    const region = ['North', 'south', 'E', 'Central', 'Mars'][Math.floor(pick() * 5)];
    appendFileSync(join(ws, 'data/raw.csv'), `2024-07-0${1 + Math.floor(pick() * 9)},${region},gadget,${1 + Math.floor(pick() * 9)},3.50\n`);
    return `a ${region} row appended`;
  },
  (ws) => {
    appendFileSync(join(ws, 'scripts/report.py'), '# a comment\n');
    return 'a comment added to report.py';
  },
  (ws) => {
    const p = join(ws, 'pipeline.yml');
    const text = readFileSync(p, 'utf8');
    writeFileSync(p, text.includes('"40"') ? text.replace('"40"', '"30"') : text.replace('"30"', '"40"'));
    return 'REPORT_WIDTH changed';
  },
  (ws) => {
    const later = new Date(Date.now() + 60_000);
    utimesSync(join(ws, 'data/raw.csv'), later, later);
    return 'data/raw.csv touched';
  },
  (ws, pick) => {
    const list = outputs(ws).filter(([p]) => existsSync(join(ws, p)));
    const [p] = list[Math.floor(pick() * list.length)];
    rmSync(join(ws, p));
    return `${p} deleted`;
  },
  (ws, pick) => {
    const list = outputs(ws).filter(([p]) => existsSync(join(ws, p)));
    const [p] = list[Math.floor(pick() * list.length)];
    appendFileSync(join(ws, p), 'edited by hand\n');
    return `${p} edited by hand`;
  },
];

/** `why FILE --json` for several files at once (two at a time: each is a process). */
async function whyAll(ws: string, paths: string[]): Promise<Map<string, { upToDate: boolean; staleBecause: string[] }>> {
  const answers = new Map<string, { upToDate: boolean; staleBecause: string[] }>();
  const queue = [...paths];
  const worker = async () => {
    for (let p = queue.shift(); p !== undefined; p = queue.shift()) {
      const r = await startCli(ws, ['why', p, '--json']).done;
      answers.set(p, JSON.parse(r.stdout));
    }
  };
  await Promise.all([worker(), worker()]);
  return answers;
}

/** For every output (or those given): what `status` says of it, and what `why` says. */
async function compare(ws: string, made: Map<string, string | null>, where: string, only?: (path: string) => boolean): Promise<void> {
  const plan = runJson(ws, [], 'status');
  expect(plan.code, `${where}: status failed: ${plan.stderr}`).toBe(0);
  const byStep = new Map(plan.steps.map((s) => [s.name, s]));
  const list = outputs(ws).filter(([p]) => !only || only(p));
  const answers = await whyAll(ws, list.map(([p]) => p));
  for (const [path, step] of list) {
    const s = byStep.get(step)!;
    const damaged = content(ws, path) !== made.get(path);
    const inCache = /its outputs are in the cache$/.test(s.reason);
    const stale = s.status === 'would-run' || inCache || (s.status === 'would-restore' && damaged);
    const why = answers.get(path)!;
    expect(why.upToDate, `${where}: ${path} (step ${step}: ${s.status}, ${s.reason}); why says ${why.staleBecause.join('; ') || 'up to date'}`).toBe(!stale);
  }
}

function remember(ws: string): Map<string, string | null> {
  return new Map(outputs(ws).map(([p]) => [p, content(ws, p)]));
}

describe('why agrees with status', () => {
  it('for every output, after each of a sequence of random edits on the example', async () => {
    const seed = 20261;
    const pick = random(seed);
    const ws = exampleWorkspace();
    expect(runJson(ws).code).toBe(0);
    let made = remember(ws);
    const done: string[] = [];
    for (let round = 0; round < 5; round++) {
      for (let k = 0; k < 1 + Math.floor(pick() * 2); k++) done.push(EDITS[Math.floor(pick() * EDITS.length)](ws, pick));
      const where = `seed ${seed}, after ${done.join(', ')}`;
      await compare(ws, made, where);
      const r: RunJson & { code: number | null } = runJson(ws);
      expect(r.code, `${where}: the run failed: ${JSON.stringify(r.steps)}`).toBe(0);
      made = remember(ws);
      // after a run both say up to date: status for every step, why for the files the edits touched most
      await compare(ws, made, `${where}, then a run`, (p) => p === 'out.csv' || p === 'report.txt');
    }
  }, 240_000);
});
