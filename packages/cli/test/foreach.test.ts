/**
 * `foreach:` through the real CLI: one step per file (or item), each traced, cached and explained
 * on its own; a new matching file adds a step, a removed one drops it; `needs` to and from a foreach
 * step; errors with file:line:col.
 */
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli, reasonOf, runJson, statuses, workspace, write } from './cli-helpers.js';

const PIPELINE = `steps:
  prepare:
    run: mkdir -p out && echo "# made by prov-make" > out/header.txt
  convert:
    foreach: raw/*.csv
    needs: [prepare]
    run: (cat out/header.txt; tr a-z A-Z < {item}) > out/{stem}.up && echo {name} >> out/{stem}.up
  summary:
    needs: [convert]
    run: cat out/*.up > summary.txt
`;

function fanOut() {
  return workspace({ 'pipeline.yml': PIPELINE, 'raw/a.csv': 'alpha\n', 'raw/b.csv': 'beta\n', 'raw/notes.txt': 'not a csv\n', 'raw/.hidden.csv': 'hidden\n' });
}

describe('foreach', () => {
  it('makes one step per matching file, named <step>.<item>, with {item}, {name} and {stem} put in run', () => {
    const ws = fanOut();
    const r = runJson(ws);
    expect(r.code, r.stderr).toBe(0);
    expect(r.steps.map((s) => s.name)).toEqual(['prepare', 'convert.a.csv', 'convert.b.csv', 'summary']);
    expect(readFileSync(join(ws, 'out/a.up'), 'utf8')).toBe('# made by prov-make\nALPHA\na.csv\n');
    expect(readFileSync(join(ws, 'summary.txt'), 'utf8')).toContain('BETA');
    expect(statuses(runJson(ws))).toEqual({ prepare: 'skipped', 'convert.a.csv': 'skipped', 'convert.b.csv': 'skipped', summary: 'skipped' });
  });

  it('traces, runs and explains each item on its own', () => {
    const ws = fanOut();
    runJson(ws);
    write(ws, 'raw/b.csv', 'beta two\n');
    const r = runJson(ws);
    expect(statuses(r)).toEqual({ prepare: 'skipped', 'convert.a.csv': 'skipped', 'convert.b.csv': 'ran', summary: 'ran' });
    expect(reasonOf(r, 'convert.b.csv')).toBe('input raw/b.csv changed');
    const why = cli(ws, ['why', 'out/b.up', '--json']);
    expect(why.code, why.stderr).toBe(0);
    const answer = JSON.parse(why.stdout);
    const producer = answer.executions[answer.producedBy]; // why --json names executions by id
    expect(producer.step).toBe('convert.b.csv');
    expect(producer.command).toContain('< raw/b.csv) > out/b.up');
    // each item is cached alone: its output comes back without running
    rmSync(join(ws, 'out/a.up'));
    const restored = runJson(ws);
    expect(statuses(restored)['convert.a.csv']).toBe('restored');
  });

  it('a new matching file adds a step (even after a no-op run), a removed one drops it', () => {
    const ws = fanOut();
    runJson(ws);
    expect(runJson(ws).steps.every((s) => s.status === 'skipped')).toBe(true); // the no-op snapshot is written
    write(ws, 'raw/c.csv', 'gamma\n');
    const added = runJson(ws);
    expect(added.steps.map((s) => s.name)).toEqual(['prepare', 'convert.a.csv', 'convert.b.csv', 'convert.c.csv', 'summary']);
    expect(statuses(added)['convert.c.csv']).toBe('ran');
    expect(statuses(added).summary).toBe('ran');
    rmSync(join(ws, 'raw/a.csv'));
    const dropped = runJson(ws);
    expect(dropped.steps.map((s) => s.name)).toEqual(['prepare', 'convert.b.csv', 'convert.c.csv', 'summary']);
  });

  it('a foreach step name on the command line stands for all its items; status shows them', () => {
    const ws = fanOut();
    const r = runJson(ws, ['convert']);
    expect(r.steps.map((s) => s.name)).toEqual(['prepare', 'convert.a.csv', 'convert.b.csv']);
    const one = runJson(ws, ['convert.b.csv', '--force']);
    expect(statuses(one)['convert.b.csv']).toBe('ran');
    const status = cli(ws, ['status']);
    expect(status.stdout).toMatch(/^> summary: would run, because it has never run$/m);
    expect(status.stdout).toMatch(/^  convert\.a\.csv: up to date$/m);
  });

  it('a list of items, in order, each its own step', () => {
    const ws = workspace({ 'pipeline.yml': 'steps:\n  size:\n    foreach: [small, large]\n    run: echo {item} > {item}.txt\n' });
    const r = runJson(ws);
    expect(r.steps.map((s) => s.name)).toEqual(['size.small', 'size.large']);
    expect(readFileSync(join(ws, 'large.txt'), 'utf8')).toBe('large\n');
  });

  it('a glob with no match makes no step, and a step that needs it does not wait for anything', () => {
    const ws = workspace({ 'pipeline.yml': 'steps:\n  convert:\n    foreach: raw/*.csv\n    run: cat {item}\n  after:\n    needs: [convert]\n    run: echo ok > ok.txt\n' });
    const r = runJson(ws);
    expect(r.code, r.stderr).toBe(0);
    expect(r.steps.map((s) => s.name)).toEqual(['after']);
  });

  it.each([
    ['foreach: 3', 3, 14, /foreach in step "x" is the number 3; it must be a glob or a list/],
    ['foreach: /etc/*.conf', 3, 14, /foreach glob "\/etc\/\*\.conf" in step "x" leads outside the workspace/],
    ['foreach: "data/[ab.csv"', 3, 14, /invalid glob "data\/\[ab\.csv" in foreach of step "x"/],
    ['foreach: []', 3, 14, /foreach in step "x" is an empty list/],
    ['foreach: [a, a]', 3, 18, /foreach in step "x" lists "a" twice/],
    ['foreach: [a]\n    run: echo {stme}', 4, 10, /unknown placeholder \{stme\} in the run of step "x"\. Did you mean \{stem\}\?/],
  ])('bad foreach (%s): file:line:col, what is wrong, exit 2', (text, line, col, message) => {
    const body = text.includes('run:') ? text : `${text}\n    run: echo {item}`;
    const ws = workspace({ 'pipeline.yml': `steps:\n  x:\n    ${body}\n` });
    const r = cli(ws, ['run']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(new RegExp(`^pipeline\\.yml:${line}:${col}: error: `));
    expect(r.stderr).toMatch(message);
  });

  it('two items that would share a name are an error at the foreach line', () => {
    const ws = workspace({ 'pipeline.yml': 'steps:\n  x.a:\n    run: echo\n  x:\n    foreach: [a]\n    run: echo {item}\n' });
    const r = cli(ws, ['run']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^pipeline\.yml:5:14: error: item "a" of foreach step "x" would be the step "x\.a", which is already a step/);
  });

  it('shell braces and ${VAR} in a foreach run are left alone', () => {
    const ws = workspace({ 'pipeline.yml': 'steps:\n  x:\n    foreach: [one]\n    run: N={item}; echo "${N}" {a,b} > {item}.txt\n' });
    expect(runJson(ws).code).toBe(0);
    expect(readFileSync(join(ws, 'one.txt'), 'utf8')).toBe('one {a,b}\n');
  });

  it('an item with odd characters gets a safe step name; {item} is still the real path', () => {
    const ws = workspace({ 'pipeline.yml': 'steps:\n  x:\n    foreach: "in/*.txt"\n    run: cat "{item}" > "{stem}.out"\n', 'in/my file.txt': 'spaced\n' });
    const r = runJson(ws);
    expect(r.steps.map((s) => s.name)).toEqual(['x.my_file.txt']);
    expect(readFileSync(join(ws, 'my file.out'), 'utf8')).toBe('spaced\n');
  });
});
