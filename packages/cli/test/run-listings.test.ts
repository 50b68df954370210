/**
 * Listings that mean what they meant (issue 10, item 3), through the real CLI under the real
 * interposer: Python's import system lists every folder on sys.path, but only importable names
 * count there; user code listing the same folder counts every entry; the reason names the entry.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli, exampleWorkspace, reasonOf, runJson, statuses, workspace, write } from './cli-helpers.js';

const allSkipped = (names: string[]) => Object.fromEntries(names.map((n) => [n, 'skipped']));
const EXAMPLE_STEPS = ['clean', 'split', 'top_products', 'stats', 'report'];

describe("listings narrowed by Python's import system", () => {
  it('a new NOTES.txt beside the example\'s scripts reruns nothing', () => {
    const ws = exampleWorkspace();
    expect(runJson(ws).code).toBe(0);
    write(ws, 'scripts/NOTES.txt', 'todo\n');
    write(ws, 'scripts/.clean.py.swp', 'vim swap\n');
    expect(statuses(runJson(ws))).toEqual(allSkipped(EXAMPLE_STEPS));
  });

  it('adding a new step and its script beside the others reruns none of them', () => {
    const ws = exampleWorkspace();
    expect(runJson(ws).code).toBe(0);
    write(ws, 'scripts/extra.py', 'import json\nprint(json.dumps({"extra": 1}))\n');
    write(ws, 'pipeline.yml', `${readFileSync(join(ws, 'pipeline.yml'), 'utf8')}  extra:\n    run: python3 scripts/extra.py > extra.json\n`);
    expect(statuses(runJson(ws))).toEqual({ ...allSkipped(EXAMPLE_STEPS), extra: 'ran' });
  });

  it('scripts at the workspace root: git init or a swap file reruns nothing; a new csv.py does, and is named', () => {
    const ws = workspace({
      'pipeline.yml': 'steps:\n  load:\n    run: python3 load.py > out.txt\n',
      'load.py': 'import csv, io\nprint(next(csv.reader(io.StringIO("a,b"))))\n',
    });
    expect(statuses(runJson(ws))).toEqual({ load: 'ran' });
    mkdirSync(join(ws, '.git'));
    writeFileSync(join(ws, '.git', 'HEAD'), 'ref: refs/heads/main\n');
    write(ws, '.load.py.swp', 'swap\n');
    write(ws, 'README', 'notes\n');
    expect(statuses(runJson(ws))).toEqual({ load: 'skipped' });
    write(ws, 'csv.py', 'def reader(f):\n    return iter([["shadowed"]])\n');
    const r = runJson(ws);
    expect(statuses(r)).toEqual({ load: 'ran' });
    expect(reasonOf(r, 'load')).toBe('csv.py appeared in folder ./ (it listed it)');
    expect(runJson(ws).steps[0].status).toBe('skipped');
  });

  it('a module looked up with importlib.import_module that appears later reruns the step; one nobody looks up does not', () => {
    const ws = workspace({
      'pipeline.yml': 'steps:\n  plugins:\n    run: python3 load.py > loaded.txt\n',
      'load.py': 'import importlib\ntry:\n    print(importlib.import_module("plugin").NAME)\nexcept ImportError:\n    print("none")\n',
    });
    runJson(ws);
    expect(readFileSync(join(ws, 'loaded.txt'), 'utf8')).toBe('none\n');
    write(ws, 'unrelated.py', 'X = 1\n');
    expect(statuses(runJson(ws))).toEqual({ plugins: 'skipped' });
    write(ws, 'plugin.py', 'NAME = "found"\n');
    const r = runJson(ws);
    expect(reasonOf(r, 'plugins')).toBe('plugin.py appeared in folder ./ (it listed it)');
    expect(readFileSync(join(ws, 'loaded.txt'), 'utf8')).toBe('found\n');
  });

  it('a script that lists its own folder with os.listdir or glob still reruns on a new data file', () => {
    const ws = workspace({
      'pipeline.yml': 'steps:\n  count:\n    run: python3 tools/count.py > n.txt\n  globbed:\n    run: python3 tools/globbed.py > g.txt\n',
      'tools/count.py': 'import os\nprint(len(os.listdir(os.path.dirname(__file__))))\n',
      'tools/globbed.py': 'import glob, os\nprint(sorted(glob.glob(os.path.join(os.path.dirname(__file__), "*"))))\n',
    });
    runJson(ws);
    write(ws, 'tools/data.txt', 'x\n');
    const r = runJson(ws);
    expect(statuses(r)).toEqual({ count: 'ran', globbed: 'ran' });
    expect(reasonOf(r, 'count')).toBe('tools/data.txt appeared in folder tools/ (it listed it)');
    rmSync(join(ws, 'tools/data.txt'));
    expect(cli(ws, ['why', 'n.txt']).stdout).toContain('tools/data.txt vanished from folder tools/ (it listed it)');
    // the folder is as the first run saw it: that execution's outputs come back from the cache
    expect(reasonOf(runJson(ws), 'count')).toBe('tools/data.txt vanished from folder tools/ (it listed it); restored its outputs from the cache');
  });
});

describe('listings of a step whose set of written files shrinks', () => {
  it('a make-like step that rewrites only what changed lists its folder: the next no-op reruns and restores nothing', () => {
    // ls lists ./ (its own outputs in it); each out-X.txt is made only when in-X.txt is newer
    const run = 'ls > /dev/null; for x in a b c; do [ out-$x.txt -nt in-$x.txt ] || tr a-z A-Z < in-$x.txt > out-$x.txt; done';
    const ws = workspace({ 'pipeline.yml': `steps:\n  upper:\n    run: ${run}\n`, 'in-a.txt': 'a\n', 'in-b.txt': 'b\n', 'in-c.txt': 'c\n' });
    expect(statuses(runJson(ws))).toEqual({ upper: 'ran' });
    expect(statuses(runJson(ws))).toEqual({ upper: 'skipped' });
    write(ws, 'in-b.txt', 'bb\n');
    const edited = runJson(ws);
    expect(statuses(edited)).toEqual({ upper: 'ran' });
    expect(reasonOf(edited, 'upper')).toBe('input in-b.txt changed');
    for (let n = 0; n < 2; n++) {
      const again = runJson(ws);
      expect(statuses(again), JSON.stringify(again.steps)).toEqual({ upper: 'skipped' });
    }
    expect(['a', 'b', 'c'].map((x) => readFileSync(join(ws, `out-${x}.txt`), 'utf8'))).toEqual(['A\n', 'BB\n', 'C\n']);
    expect(JSON.parse(cli(ws, ['why', 'out-a.txt', '--json']).stdout)).toMatchObject({ upToDate: true, staleBecause: [] });
  });
});
