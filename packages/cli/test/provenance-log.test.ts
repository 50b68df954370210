/**
 * `prov-make log`, `show` and `diff` (DESIGN section 5: every execution is kept; small workspace
 * inputs are kept with their bytes) through the real CLI on the bundled example pipeline.
 * The runs build on each other: run 1; edit scripts/clean.py and append to data/raw.csv; run 2.
 */
import { appendFileSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { cli, runJson, statuses, workspace, exampleWorkspace } from './cli-helpers.js';

const example = exampleWorkspace;

function size(bytes: number): string {
  return bytes < 1000 ? `${bytes} B` : `${(bytes / 1000).toFixed(1)} kB`;
}

interface LogEntry { id: string; runId: string; step: string; status: string; reason: string; exitCode: number | null; startedAt: string; durationMs: number; annotations: string[] }
interface RunEntry { runId: string; startedAt: string; executions: number; steps: string[] }

const STEPS = ['clean', 'split', 'top_products', 'stats', 'report'];
/** "001764636312123-000000-ab12cd  2026-01-02 03:04:05  clean            ok         593 ms  it has never run" */
const LOG_LINE = /^(\d{15}-\d{6}-[0-9a-f]{6})  (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)  (\S+)\s+(\S+)\s+(\d+ ms|\d+\.\d s|\d+ min \d+ s)  (.+)$/;

function logJson(ws: string, args: string[] = []): LogEntry[] {
  const r = cli(ws, ['log', ...args, '--json']);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as LogEntry[];
}

function showBytes(ws: string, args: string[]): { code: number | null; bytes: Buffer; stderr: string } {
  const r = cli(ws, ['show', ...args]);
  return { code: r.code, bytes: Buffer.from(r.stdout, 'utf8'), stderr: r.stderr };
}

describe('prov-make log, show and diff on the example pipeline', () => {
  let ws: string;
  let cleanV1: Buffer;
  let cleanV2: Buffer;
  let rawV1: Buffer;

  beforeAll(() => {
    ws = example();
    cleanV1 = readFileSync(join(ws, 'scripts/clean.py'));
    const r = runJson(ws);
    expect(r.code, r.stderr).toBe(0);
  });

  it('log lists every execution, newest first, with its id, status, duration and reason', () => {
    const r = cli(ws, ['log']);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(5);
    const parsed = lines.map((l) => LOG_LINE.exec(l));
    expect(parsed.every(Boolean), r.stdout).toBe(true);
    expect(parsed.map((m) => m![3])).toEqual([...STEPS].reverse());
    for (const m of parsed) {
      expect(m![4]).toBe('ok');
      expect(m![6]).toBe('it has never run');
    }
    const j = logJson(ws);
    expect(j.map((e) => e.step)).toEqual([...STEPS].reverse());
    expect(parsed.map((m) => m![1])).toEqual(j.map((e) => e.id));
    for (const e of j) {
      expect(e).toMatchObject({ status: 'succeeded', exitCode: 0, reason: 'it has never run', annotations: [] });
      expect(e.durationMs).toBeGreaterThanOrEqual(0);
      expect(new Date(e.startedAt).toISOString()).toBe(e.startedAt);
      expect(e.id).toBeTruthy();
    }
    expect(new Set(j.map((e) => e.runId)).size).toBe(1);
    // the text durations are the JSON ones
    const ms = (s: string) => (s.endsWith(' ms') ? Number(s.slice(0, -3)) : Number(s.slice(0, -2)) * 1000);
    parsed.forEach((m, i) => expect(Math.abs(ms(m![5]) - j[i].durationMs)).toBeLessThanOrEqual(50));
    // -n N: the N newest
    const two = cli(ws, ['log', '-n', '2']).stdout.trim().split('\n');
    expect(two).toEqual(lines.slice(0, 2));
    expect(logJson(ws, ['-n', '1']).map((e) => e.step)).toEqual(['report']);
  });

  it('show FILE --for OUTPUT prints the exact bytes of the version OUTPUT was made from', () => {
    const s = showBytes(ws, ['scripts/clean.py', '--for', 'out.csv']);
    expect(s.code, s.stderr).toBe(0);
    expect(s.bytes.equals(cleanV1)).toBe(true);
    const raw = showBytes(ws, ['data/raw.csv', '--for', 'report.txt']);
    expect(raw.code, raw.stderr).toBe(0);
    expect(raw.bytes.equals(readFileSync(join(ws, 'data/raw.csv')))).toBe(true);
    // not an input of out.csv's lineage
    const no = cli(ws, ['show', 'scripts/report.py', '--for', 'out.csv']);
    expect(no.code).toBe(1);
    expect(no.stderr).toContain('scripts/report.py is not among the inputs of out.csv');
  });

  it('after editing scripts/clean.py and data/raw.csv and running: the new bytes for the new out.csv, the old ones kept', () => {
    const src = cleanV1.toString('utf8');
    const edited = src.replace('    out_rows.sort()\n', '    out_rows.sort()\n    out_rows = out_rows[1:]  # v2: drop the earliest sale\n');
    expect(edited).not.toBe(src);
    writeFileSync(join(ws, 'scripts/clean.py'), edited);
    cleanV2 = Buffer.from(edited, 'utf8');
    rawV1 = readFileSync(join(ws, 'data/raw.csv'));
    appendFileSync(join(ws, 'data/raw.csv'), '2024-07-01,South,gadget,2,9.99\n'.repeat(5));
    const outBefore = readFileSync(join(ws, 'out.csv'), 'utf8');
    const r = runJson(ws);
    expect(r.code, r.stderr).toBe(0);
    expect(statuses(r).clean).toBe('ran');
    expect(statuses(r).stats).toBe('ran');
    expect(readFileSync(join(ws, 'out.csv'), 'utf8')).not.toBe(outBefore);

    const now = showBytes(ws, ['scripts/clean.py', '--for', 'out.csv']);
    expect(now.code, now.stderr).toBe(0);
    expect(now.bytes.equals(cleanV2)).toBe(true);
    const rawNow = showBytes(ws, ['data/raw.csv', '--for', 'out.csv']);
    expect(rawNow.bytes.equals(readFileSync(join(ws, 'data/raw.csv')))).toBe(true);

    const cleans = logJson(ws, ['clean']).reverse();
    expect(cleans).toHaveLength(2);
    expect(cleans[1].reason).toMatch(/^input (data\/raw\.csv|scripts\/clean\.py) changed$/);
    const old = showBytes(ws, ['scripts/clean.py', '--execution', cleans[0].id]);
    expect(old.code, old.stderr).toBe(0);
    expect(old.bytes.equals(cleanV1)).toBe(true);
    const oldRaw = showBytes(ws, ['data/raw.csv', '--execution', cleans[0].id]);
    expect(oldRaw.bytes.equals(rawV1)).toBe(true);
    const fresh = showBytes(ws, ['scripts/clean.py', '--execution', cleans[1].id]);
    expect(fresh.bytes.equals(cleanV2)).toBe(true);

    const bad = cli(ws, ['show', 'scripts/clean.py', '--execution', 'no-such-execution']);
    expect(bad.code).toBe(2);
  });

  it('log STEP and log --runs', () => {
    const r = cli(ws, ['log', 'clean']);
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines.map((l) => LOG_LINE.exec(l)?.[3])).toEqual(['clean', 'clean']);
    expect(lines[0]).toMatch(/  input (data\/raw\.csv|scripts\/clean\.py) changed$/);

    const all = cli(ws, ['log']).stdout.trim().split('\n');
    expect(all.length).toBeGreaterThanOrEqual(8);
    expect(all.find((l) => / split /.test(l))).toMatch(/  input build\/clean\.csv changed$/);

    const runs = cli(ws, ['log', '--runs']);
    expect(runs.code).toBe(0);
    const rl = runs.stdout.trim().split('\n');
    expect(rl).toHaveLength(2);
    expect(rl[1]).toMatch(/^\S+  \d{4}-\d\d-\d\d \d\d:\d\d:\d\d  5 execution\(s\): clean, split, top_products, stats, report$/);
    expect(rl[0]).toMatch(/^\S+  \d{4}-\d\d-\d\d \d\d:\d\d:\d\d  \d execution\(s\): clean, /);
    const rj = JSON.parse(cli(ws, ['log', '--runs', '--json']).stdout) as RunEntry[];
    expect(rj).toHaveLength(2);
    expect(rj[1]).toMatchObject({ executions: 5, steps: STEPS });
    expect(rl[1].startsWith(`${rj[1].runId}  `)).toBe(true);

    const unknown = cli(ws, ['log', 'cleen']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('no execution of a step named "cleen" is recorded. Did you mean "clean"?');
  });

  it('diff names the first step whose inputs differed between the last two runs, and the files', () => {
    const r = cli(ws, ['diff']);
    expect(r.code, r.stderr).toBe(0);
    const runs = (JSON.parse(cli(ws, ['log', '--runs', '--json']).stdout) as RunEntry[]).reverse();
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toBe(`first step whose inputs differ between runs ${runs[0].runId} and ${runs[1].runId}: clean`);
    const rawLine = lines.find((l) => l.startsWith('  data/raw.csv: '));
    expect(rawLine, r.stdout).toMatch(new RegExp(`^  data/raw\\.csv: changed: ${size(rawV1.length).replace('.', '\\.')} -> ${size(statSync(join(ws, 'data/raw.csv')).size).replace('.', '\\.')} \\([0-9a-f]{8} -> [0-9a-f]{8}\\)$`));
    expect(lines.some((l) => /^  scripts\/clean\.py: changed: .* \([0-9a-f]{8} -> [0-9a-f]{8}\)$/.test(l)), r.stdout).toBe(true);
    const j = JSON.parse(cli(ws, ['diff', '--json']).stdout);
    expect(j).toMatchObject({ runA: runs[0].runId, runB: runs[1].runId, step: 'clean', definitionChanged: false });
    expect(j.files.map((f: { path: string }) => f.path).sort()).toEqual(['data/raw.csv', 'scripts/clean.py']);
    const explicit = JSON.parse(cli(ws, ['diff', runs[0].runId, runs[1].runId, '--json']).stdout);
    expect(explicit).toEqual(j);
  });
});

describe('prov-make show: which inputs are kept', () => {
  it('inputs up to 256 KiB are kept; a bigger one is named as not kept', () => {
    const big = 'x'.repeat(300 * 1024 - 1) + '\n';
    const ws = workspace({
      'pipeline.yml': 'steps:\n  join:\n    run: cat small.txt big.txt > joined.txt\n',
      'small.txt': 'small input\n',
      'big.txt': big,
    });
    const r = runJson(ws);
    expect(r.code, r.stderr).toBe(0);
    const small = cli(ws, ['show', 'small.txt', '--for', 'joined.txt']);
    expect(small.code, small.stderr).toBe(0);
    expect(small.stdout).toBe('small input\n');
    const b = cli(ws, ['show', 'big.txt', '--for', 'joined.txt']);
    expect(b.code).toBe(1);
    expect(b.stderr).toMatch(/big\.txt .*not in the cache/);
    expect(b.stdout).toBe('');
  });
});
