/**
 * Provenance answers that match the state (issue 10, item 7), through the real CLI on the bundled
 * example: the README's demo (early cutoff), runs undone by the cache (one -> two -> one), what
 * `cache gc` keeps, the size of `why --json`, a restored symlink.
 */
import { readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli, exampleWorkspace, runJson, statuses, workspace } from './cli-helpers.js';

const PARAMS = 'config/params.json';

function setDecimals(ws: string, n: number): void {
  const p = join(ws, PARAMS);
  writeFileSync(p, readFileSync(p, 'utf8').replace(/"decimals": \d/, `"decimals": ${n}`));
}

const whyJson = (ws: string, file: string) => JSON.parse(cli(ws, ['why', file, '--json']).stdout) as {
  upToDate: boolean;
  staleBecause: string[];
  producedBy: string | null;
  executions: Record<string, { step: string; inputs: { path: string; hash: string | null }[] }>;
};

describe('provenance answers match the state', () => {
  it("the README's demo: after decimals 2 -> 1, status and why agree, params.json is one version, show prints it", () => {
    const ws = exampleWorkspace();
    expect(runJson(ws).code).toBe(0);
    setDecimals(ws, 1);
    const r = runJson(ws);
    expect(statuses(r)).toEqual({ clean: 'ran', split: 'skipped', top_products: 'skipped', stats: 'ran', report: 'ran' });
    expect(runJson(ws, [], 'status').steps.every((s) => s.status === 'up-to-date')).toBe(true);
    const why = whyJson(ws, 'out.csv');
    expect(why).toMatchObject({ upToDate: true, staleBecause: [] });
    const versions = new Set(Object.values(why.executions).flatMap((e) => e.inputs.filter((i) => i.path === PARAMS).map((i) => i.hash)));
    expect(versions.size).toBe(1);
    // clean's new execution (the one that read decimals 1) vouches for build/clean.csv now
    expect(cli(ws, ['why', 'out.csv']).stdout.split('\n')[0]).toBe('out.csv: up to date');
    const shown = cli(ws, ['show', PARAMS, '--for', 'out.csv']);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toContain('"decimals": 1');
  });

  it('one -> two -> one: log --runs in the order they ran (restores included), diff names the change', () => {
    const ws = exampleWorkspace();
    runJson(ws);
    setDecimals(ws, 1);
    runJson(ws);
    setDecimals(ws, 2);
    const back = runJson(ws); // the cache holds the first run's executions: restored, not run
    expect(statuses(back)).toMatchObject({ clean: 'restored', stats: 'restored' });
    const runs = JSON.parse(cli(ws, ['log', '--runs', '--json']).stdout) as { runId: string; startedAt: string; steps: string[] }[];
    expect(runs).toHaveLength(3);
    const times = runs.map((x) => Date.parse(x.startedAt)); // newest first
    expect([...times].sort((a, b) => b - a)).toEqual(times);
    expect(runs[0].steps).toEqual(expect.arrayContaining(['clean', 'stats']));
    const diff = cli(ws, ['diff']);
    expect(diff.code).toBe(0);
    expect(diff.stdout).toMatch(new RegExp(`^first step whose inputs differ between runs ${runs[1].runId} and ${runs[0].runId}: clean\\n  ${PARAMS}: changed`));
    expect(whyJson(ws, 'out.csv').upToDate).toBe(true);
    expect(cli(ws, ['why', 'out.csv']).stdout).toMatch(/made by step stats, .*restored from the cache \(it ran as execution /);
  });

  it('cache gc keeps what the current outputs were made from; an older version it removed is said plainly', () => {
    const ws = exampleWorkspace();
    runJson(ws);
    const old = JSON.parse(cli(ws, ['log', 'stats', '--json']).stdout)[0].id as string;
    writeFileSync(join(ws, 'scripts/stats.py'), `${readFileSync(join(ws, 'scripts/stats.py'), 'utf8')}# edited\n`);
    runJson(ws);
    expect(cli(ws, ['cache', 'gc', '--max-size', '0']).code).toBe(0);
    const now = cli(ws, ['show', 'scripts/stats.py', '--for', 'out.csv']);
    expect(now.code).toBe(0);
    expect(now.stdout).toContain('# edited');
    expect(cli(ws, ['show', PARAMS, '--for', 'report.txt']).code).toBe(0);
    const gone = cli(ws, ['show', 'scripts/stats.py', '--execution', old]);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toMatch(/was kept, but `prov-make cache gc` has removed it from the cache since/);
  });

  it('why --json of the example names each execution once and refers to it by id', () => {
    const ws = exampleWorkspace();
    runJson(ws);
    const text = cli(ws, ['why', 'report.txt', '--json']).stdout;
    // 257 kB when executions were repeated wherever a file they made was read; most of the rest is
    // each execution's system inputs (the interpreter, its libraries), listed once
    expect(text.split('"command":')).toHaveLength(6);
    expect(text.length).toBeLessThan(150_000);
    const j = JSON.parse(text) as ReturnType<typeof whyJson>;
    expect(Object.values(j.executions).map((e) => e.step).sort()).toEqual(['clean', 'report', 'split', 'stats', 'top_products']);
    expect(j.executions[j.producedBy!].step).toBe('report');
    const ids = Object.keys(j.executions);
    for (const e of Object.values(j.executions)) for (const i of e.inputs) if ((i as { producedBy?: string | null }).producedBy) expect(ids).toContain((i as { producedBy: string }).producedBy);
  });

  it('a deleted or retargeted symlink output is made again, and said so', () => {
    const ws = workspace({ 'pipeline.yml': 'steps:\n  a:\n    run: echo x > data.txt && ln -sf data.txt link\n' });
    runJson(ws);
    rmSync(join(ws, 'link'));
    const r = runJson(ws);
    expect(statuses(r)).toEqual({ a: 'restored' });
    expect(r.steps[0].reason).toBe('output link was deleted; restored from the cache');
    expect(readFileSync(join(ws, 'link'), 'utf8')).toBe('x\n');
    rmSync(join(ws, 'link'));
    symlinkSync('elsewhere', join(ws, 'link'));
    expect(statuses(runJson(ws))).toEqual({ a: 'restored' });
    expect(readFileSync(join(ws, 'link'), 'utf8')).toBe('x\n');
  });
});
