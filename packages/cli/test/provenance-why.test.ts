/**
 * `prov-make why` (DESIGN section 5) through the real CLI on the bundled example pipeline
 * (fixtures/example: clean -> split -> stats -> out.csv, python3 and shell): the lineage tree, the
 * staleness answer with the exact change, answers from history, source files, --uses and --json.
 * One workspace, run once; tests that edit it put it back.
 */
import { appendFileSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { cli, runJson, statuses, workspace, exampleWorkspace } from './cli-helpers.js';

const example = exampleWorkspace;

/** describe.ts's wording of sizes, written out independently. */
function size(bytes: number): string {
  if (bytes < 1000) return `${bytes} B`;
  return `${(bytes / 1000).toFixed(1)} kB`;
}

const REGIONS = ['central', 'east', 'north', 'south', 'west'];
/** A tree line without its drawing (│ ├─ └─) and indentation. */
const body = (line: string) => line.replace(/^[\s│├└─]+/, '');

interface WhyInput { path: string; system: boolean; size: number | null; hash: string | null; changed: boolean; producedBy: WhyProducer | null }
interface WhyProducer { step: string; command: string; finishedAt: string; history: string | null; annotations: string[]; inputs: WhyInput[] }
interface WhyJson { path: string; exists: boolean; upToDate: boolean; staleBecause: string[]; producedBy: WhyProducer | null; source?: boolean; readBy?: string[] }

/** `why --json` names each execution once (`executions`, by id); this puts the tree back together for the assertions. */
function whyJson(ws: string, file: string, extra: string[] = []): WhyJson {
  const r = cli(ws, ['why', file, '--json', ...extra]);
  expect(r.code, r.stderr).toBe(0);
  const raw = JSON.parse(r.stdout) as Omit<WhyJson, 'producedBy'> & { producedBy: string | null; executions: Record<string, Omit<WhyProducer, 'inputs'> & { inputs: (Omit<WhyInput, 'producedBy'> & { producedBy: string | null })[] }> };
  const built = new Map<string, WhyProducer>();
  const producer = (id: string | null): WhyProducer | null => {
    if (id === null) return null;
    const known = built.get(id);
    if (known) return known;
    const e = raw.executions[id];
    expect(e, `execution ${id} is named in executions`).toBeDefined();
    const p: WhyProducer = { ...e, inputs: [] };
    built.set(id, p);
    p.inputs = e.inputs.map((i) => ({ ...i, producedBy: producer(i.producedBy) }));
    return p;
  };
  return { ...raw, producedBy: producer(raw.producedBy) };
}

const input = (p: WhyProducer, path: string) => {
  const i = p.inputs.find((x) => x.path === path);
  if (!i) throw new Error(`${path} is not an input of step ${p.step}: ${p.inputs.filter((x) => !x.system).map((x) => x.path).join(', ')}`);
  return i;
};

describe('prov-make why on the example pipeline', () => {
  let ws: string;
  /** `why out.csv` and `why out.csv --json` right after the run (the read-only tests share them). */
  let tree: ReturnType<typeof cli>;
  let treeJson: WhyJson;
  const pipelineText = () => readFileSync(join(ws, 'pipeline.yml'), 'utf8');

  beforeAll(() => {
    ws = example();
    const r = runJson(ws);
    expect(r.code, r.stderr).toBe(0);
    expect(statuses(r)).toEqual({ clean: 'ran', split: 'ran', top_products: 'ran', stats: 'ran', report: 'ran' });
    tree = cli(ws, ['why', 'out.csv']);
    treeJson = whyJson(ws, 'out.csv');
  });

  it('after a run: up to date, with the tree of steps, commands, inputs and sources', () => {
    const r = tree;
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.split('\n');
    expect(lines[0]).toBe('out.csv: up to date');
    const out = statSync(join(ws, 'out.csv'));
    expect(lines[1]).toMatch(new RegExp(`^out\\.csv  ${size(out.size).replace('.', '\\.')}  [0-9a-f]{8}  modified \\d+ s ago$`));

    const made = (step: string) => lines.findIndex((l) => new RegExp(`└─ made by step ${step}, \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d \\(\\d+ (s|min) ago\\), ran \\d+(\\.\\d)? (ms|s)$`).test(l));
    const stats = made('stats');
    const split = made('split');
    const clean = made('clean');
    expect(stats, r.stdout).toBe(2);
    expect(split, r.stdout).toBeGreaterThan(stats);
    expect(clean, r.stdout).toBeGreaterThan(split);
    // each step's command right under it
    expect(body(lines[stats + 1])).toBe('$ python3 scripts/stats.py build/regions > out.csv');
    expect(body(lines[split + 1])).toBe('$ python3 scripts/split.py build/clean.csv build/regions');
    expect(body(lines[clean + 1])).toBe('$ python3 scripts/clean.py data/raw.csv build/clean.csv');
    // steps out.csv does not derive from are not in its tree
    expect(r.stdout).not.toMatch(/step (report|top_products)/);
    // split is shown once; its other outputs point back to it
    expect(lines.filter((l) => /made by step split,/.test(l))).toHaveLength(1);
    expect(lines.filter((l) => /made by step split \(see above\)/.test(l))).toHaveLength(REGIONS.length - 1);

    // inputs with size and short hash; sources marked
    const raw = statSync(join(ws, 'data/raw.csv'));
    const rawLine = lines.find((l) => /[├└]─ data\/raw\.csv /.test(l));
    expect(rawLine, r.stdout).toMatch(new RegExp(`─ data/raw\\.csv  ${size(raw.size).replace('.', '\\.')}  [0-9a-f]{8}  source$`));
    for (const s of ['scripts/clean.py', 'scripts/split.py', 'scripts/stats.py', 'config/params.json']) {
      expect(lines.some((l) => new RegExp(`─ ${s.replace(/\./g, '\\.')}  \\S+ k?B  [0-9a-f]{8}  source$`).test(l)), `${s} as a source\n${r.stdout}`).toBe(true);
    }
    for (const region of REGIONS) {
      expect(lines.some((l) => new RegExp(`─ build/regions/${region}\\.csv  \\S+ k?B  [0-9a-f]{8}$`).test(l)), region).toBe(true);
    }
    expect(lines.some((l) => /─ build\/clean\.csv  \S+ k?B  [0-9a-f]{8}$/.test(l))).toBe(true);

    // the short hash is the start of the recorded one
    const j = treeJson;
    const rawHash = input(input(input(j.producedBy!, 'build/regions/west.csv').producedBy!, 'build/clean.csv').producedBy!, 'data/raw.csv').hash!;
    expect(rawLine).toContain(`  ${rawHash.slice(0, 8)}  `);
  });

  it('system files (interpreter, libraries) are grouped, and --all lists them', () => {
    const r = tree;
    const lines = r.stdout.split('\n');
    const grouped = lines.filter((l) => /─ \d+ system files( \(.*\))?: --all lists them$/.test(l));
    expect(grouped.length, r.stdout).toBe(3); // one per step: stats, split, clean
    expect(lines.some((l) => /─ \/\S+/.test(l)), 'no absolute path is listed one by one').toBe(false);

    const all = cli(ws, ['why', 'out.csv', '--all']);
    expect(all.code).toBe(0);
    expect(all.stdout).not.toMatch(/--all lists them/);
    const listed = all.stdout.split('\n').filter((l) => /─ \/\S+/.test(l));
    expect(listed.length).toBeGreaterThan(3);
    const count = Number(/─ (\d+) system files/.exec(grouped[0])![1]);
    expect(listed.length).toBeGreaterThanOrEqual(count);
  });

  it('--json has the documented shape, nested down to the sources', () => {
    const j = treeJson;
    expect(j).toMatchObject({ path: 'out.csv', exists: true, upToDate: true, staleBecause: [] });
    const stats = j.producedBy!;
    expect(stats.step).toBe('stats');
    expect(stats.command).toBe('python3 scripts/stats.py build/regions > out.csv');
    expect(new Date(stats.finishedAt).toISOString()).toBe(stats.finishedAt);
    expect(stats.history).toBeNull();
    for (const region of REGIONS) {
      const f = input(stats, `build/regions/${region}.csv`);
      expect(f.producedBy?.step).toBe('split');
      expect(f.size).toBe(statSync(join(ws, f.path)).size);
      expect(f.hash).toMatch(/^[0-9a-f]{8,}$/);
    }
    expect(input(stats, 'scripts/stats.py').producedBy).toBeNull();
    expect(input(stats, 'config/params.json').producedBy).toBeNull();
    const split = input(stats, 'build/regions/north.csv').producedBy!;
    expect(split.command).toBe('python3 scripts/split.py build/clean.csv build/regions');
    const clean = input(split, 'build/clean.csv').producedBy!;
    expect(clean.step).toBe('clean');
    expect(clean.command).toBe('python3 scripts/clean.py data/raw.csv build/clean.csv');
    const raw = input(clean, 'data/raw.csv');
    expect(raw).toMatchObject({ system: false, producedBy: null, changed: false, size: statSync(join(ws, 'data/raw.csv')).size });
    // system files are inputs too, marked as such, never expanded
    const system = stats.inputs.filter((i) => i.system);
    expect(system.length).toBeGreaterThan(0);
    for (const s of system) {
      expect(s.path.startsWith('/')).toBe(true);
      expect(s.producedBy).toBeNull();
    }
  });

  it('a source file: no step wrote it, and which steps read it', () => {
    const r = cli(ws, ['why', 'data/raw.csv']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.split('\n')[0]).toBe('data/raw.csv: a source file (no step wrote it)');
    expect(r.stdout).toMatch(/read by step clean\b/);
    const params = cli(ws, ['why', 'config/params.json']);
    expect(params.stdout).toMatch(/read by step clean, step stats|read by step stats, step clean/);
    const j = whyJson(ws, 'data/raw.csv');
    expect(j).toMatchObject({ path: 'data/raw.csv', exists: true, producedBy: null, source: true, readBy: ['clean'] });
  });

  it('a file no step ever saw: exit 1 and "no record of"', () => {
    const gone = cli(ws, ['why', 'data/never-seen.csv']);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toContain('no record of data/never-seen.csv');
    expect(gone.stdout).toBe('');
    // on disk, but no step read or wrote it
    const readme = cli(ws, ['why', 'README.md']);
    expect(readme.code).toBe(1);
    expect(readme.stderr).toContain('no record of README.md');
  });

  it('--uses GLOB: the chains from matching sources, or exit 1', () => {
    const r = cli(ws, ['why', 'out.csv', '--uses', 'data/**']);
    expect(r.code, r.stderr).toBe(0);
    const chains = r.stdout.trim().split('\n');
    expect(chains.sort()).toEqual(REGIONS.map((g) => `data/raw.csv -> [clean] -> build/clean.csv -> [split] -> build/regions/${g}.csv -> [stats] -> out.csv`));

    const params = cli(ws, ['why', 'out.csv', '--uses', '**/params.json']);
    expect(params.code).toBe(0);
    expect(params.stdout.split('\n')).toContain('config/params.json -> [stats] -> out.csv');
    expect(params.stdout).toContain('config/params.json -> [clean] -> build/clean.csv -> [split] -> ');

    const j = cli(ws, ['why', 'out.csv', '--uses', 'data/**', '--json']);
    expect(j.code).toBe(0);
    expect(JSON.parse(j.stdout)).toMatchObject({ path: 'out.csv', found: true });

    const none = cli(ws, ['why', 'out.csv', '--uses', 'secret/**']);
    expect(none.code).toBe(1);
    expect(none.stdout.trim()).toBe('out.csv does not derive from anything matching secret/**');
  });

  it('a step whose command was edited since (not run): answered from history, and stale because of it', () => {
    const original = pipelineText();
    try {
      const edited = original.replace('python3 scripts/clean.py data/raw.csv build/clean.csv', 'python3 -B scripts/clean.py data/raw.csv build/clean.csv');
      expect(edited).not.toBe(original);
      writeFileSync(join(ws, 'pipeline.yml'), edited);
      const r = cli(ws, ['why', 'out.csv']);
      expect(r.code, r.stderr).toBe(0);
      const lines = r.stdout.split('\n');
      expect(lines[0]).toMatch(/^out\.csv: stale: .*definition of step clean/);
      const clean = lines.find((l) => /made by step clean,/.test(l));
      expect(clean).toMatch(/\[history: step edited since\]$/);
      // the command shown is the one that ran, not the new one
      expect(r.stdout).toContain('$ python3 scripts/clean.py data/raw.csv build/clean.csv');
      expect(lines.find((l) => /made by step stats,/.test(l))).not.toMatch(/history/);
      const j = whyJson(ws, 'out.csv');
      expect(j.upToDate).toBe(false);
      expect(j.staleBecause.some((s) => /definition of step clean/.test(s))).toBe(true);
      const cleanJ = input(input(j.producedBy!, 'build/regions/east.csv').producedBy!, 'build/clean.csv').producedBy!;
      expect(cleanJ.history).toBe('edited');
      expect(cleanJ.command).toBe('python3 scripts/clean.py data/raw.csv build/clean.csv');
    } finally {
      writeFileSync(join(ws, 'pipeline.yml'), original);
    }
    expect(cli(ws, ['why', 'out.csv']).stdout.split('\n')[0]).toBe('out.csv: up to date');
  });

  it('a step removed from pipeline.yml: still answered, marked as history', () => {
    const original = pipelineText();
    try {
      const removed = original.replace(/\n  clean:\n    run: [^\n]*\n/, '\n');
      expect(removed).not.toContain('clean:');
      writeFileSync(join(ws, 'pipeline.yml'), removed);
      const r = cli(ws, ['why', 'out.csv']);
      expect(r.code, r.stderr).toBe(0);
      const clean = r.stdout.split('\n').find((l) => /made by step clean,/.test(l));
      expect(clean, r.stdout).toMatch(/\[history: step no longer in pipeline\.yml\]$/);
      expect(r.stdout).toContain('$ python3 scripts/clean.py data/raw.csv build/clean.csv');
      const j = whyJson(ws, 'out.csv');
      expect(input(input(j.producedBy!, 'build/regions/east.csv').producedBy!, 'build/clean.csv').producedBy!.history).toBe('removed');
      // the file it made is answered too
      const c = cli(ws, ['why', 'build/clean.csv']);
      expect(c.code).toBe(0);
      expect(c.stdout).toMatch(/made by step clean, .*\[history: step no longer in pipeline\.yml\]/);
    } finally {
      writeFileSync(join(ws, 'pipeline.yml'), original);
    }
  });

  it('a hand-edited output: stale, with what changed', () => {
    const path = join(ws, 'report.txt');
    const original = readFileSync(path);
    try {
      appendFileSync(path, 'edited by hand\n');
      const r = cli(ws, ['why', 'report.txt']);
      expect(r.code).toBe(0);
      expect(r.stdout.split('\n')[0]).toMatch(/^report\.txt: stale: report\.txt was modified after step report wrote it/);
      expect(whyJson(ws, 'report.txt').upToDate).toBe(false);
    } finally {
      writeFileSync(path, original);
    }
  });

  it('after appending to data/raw.csv: stale with the exact change, also at --depth 1', () => {
    const before = statSync(join(ws, 'data/raw.csv')).size;
    appendFileSync(join(ws, 'data/raw.csv'), '2024-06-30,North,widget,3,4.25\n'.repeat(6));
    const after = statSync(join(ws, 'data/raw.csv')).size;
    expect(size(after)).not.toBe(size(before));
    const change = `data/raw.csv changed: ${size(before)} -> ${size(after)}`;

    const r = cli(ws, ['why', 'out.csv']);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.split('\n');
    const head = new RegExp(`^out\\.csv: stale: ${change.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}, \\d+ s ago$`);
    expect(lines[0]).toMatch(head);
    expect(lines.find((l) => /─ data\/raw\.csv /.test(l))).toMatch(new RegExp(`CHANGED since: now ${size(after).replace('.', '\\.')}$`));

    // --depth 1: only the step that made out.csv is expanded; the answer about staleness is the same
    const shallow = cli(ws, ['why', 'out.csv', '--depth', '1']);
    expect(shallow.code).toBe(0);
    const sl = shallow.stdout.split('\n');
    expect(sl[0]).toMatch(head);
    expect(shallow.stdout).toContain('made by step stats,');
    expect(shallow.stdout).not.toMatch(/made by step clean|scripts\/clean\.py|─ data\/raw\.csv|─ build\/clean\.csv/);
    expect(sl.length).toBeLessThan(lines.length);

    const j = whyJson(ws, 'out.csv');
    expect(j.upToDate).toBe(false);
    expect(j.staleBecause).toHaveLength(1);
    expect(j.staleBecause[0]).toMatch(new RegExp(`^${change.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}, \\d+ s ago$`));
    const jd = whyJson(ws, 'out.csv', ['--depth', '1']);
    expect(jd.upToDate).toBe(false);
    expect(jd.staleBecause).toEqual(j.staleBecause.map((s) => expect.stringMatching(new RegExp(`^${change.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}`)) as unknown as string));
    const raw = input(input(input(j.producedBy!, 'build/regions/north.csv').producedBy!, 'build/clean.csv').producedBy!, 'data/raw.csv');
    expect(raw).toMatchObject({ changed: true, size: before });
    // a source's own answer is not "stale"
    expect(cli(ws, ['why', 'data/raw.csv']).stdout.split('\n')[0]).toBe('data/raw.csv: a source file (no step wrote it)');
  });
});
