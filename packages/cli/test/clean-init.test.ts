/** `prov-make clean` and `prov-make init` through the real CLI, on real files. */
import { existsSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cli, runJson, statuses, workspace, write } from './cli-helpers.js';

const outside = realpathSync(mkdtempSync(join(tmpdir(), 'pm-outside-')));
afterAll(() => rmSync(outside, { recursive: true, force: true }));

const PIPELINE = `steps:
  clean:
    run: mkdir -p build && tr a-z A-Z < raw.txt > build/clean.txt
  stats:
    run: wc -c < build/clean.txt > stats.txt
  stamp:
    run: sed -i 's/draft/final/' notes.txt
`;

describe('prov-make clean', () => {
  it('removes what the steps produced, lists it, keeps the sources; the next run restores from the cache', () => {
    const ws = workspace({ 'pipeline.yml': PIPELINE, 'raw.txt': 'a\n', 'notes.txt': 'draft\n' });
    expect(runJson(ws).code).toBe(0);
    const dry = cli(ws, ['clean', '--dry-run']);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toMatch(/^would remove build\/clean\.txt \(step clean\)$/m);
    expect(dry.stdout).toMatch(/^would remove build\/ \(step clean\)$/m);
    expect(dry.stdout).toMatch(/^would remove stats\.txt \(step stats\)$/m);
    expect(dry.stdout).toMatch(/^kept notes\.txt: it was there before the step changed it in place$/m);
    expect(existsSync(join(ws, 'stats.txt'))).toBe(true);

    const r = cli(ws, ['clean']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^removed 2 file\(s\) and 1 folder\(s\); kept 1$/m);
    expect(existsSync(join(ws, 'build'))).toBe(false);
    expect(existsSync(join(ws, 'stats.txt'))).toBe(false);
    expect(readFileSync(join(ws, 'raw.txt'), 'utf8')).toBe('a\n');
    expect(readFileSync(join(ws, 'notes.txt'), 'utf8')).toBe('final\n');
    const again = runJson(ws);
    expect(statuses(again)).toEqual({ clean: 'restored', stats: 'restored', stamp: 'skipped' });
    expect(readFileSync(join(ws, 'build/clean.txt'), 'utf8')).toBe('A\n');
  });

  it('only the named steps; a hand-edited output and a file another step reads as a source are kept, and said', () => {
    const ws = workspace({
      'pipeline.yml': 'steps:\n  reader:\n    run: cat shared.txt > copy.txt\n  writer:\n    run: echo generated > shared.txt && echo made > made.txt\n',
      'shared.txt': 'hand written\n',
    });
    runJson(ws);
    const r = cli(ws, ['clean', 'writer', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const result = JSON.parse(r.stdout);
    expect(result.removed).toEqual([{ path: 'made.txt', step: 'writer', kind: 'file' }]);
    expect(result.kept).toEqual([{ path: 'shared.txt', step: 'writer', kind: 'file', why: 'source', by: 'reader' }]);
    expect(existsSync(join(ws, 'copy.txt'))).toBe(true);

    runJson(ws);
    writeFileSync(join(ws, 'copy.txt'), 'edited by hand\n');
    const edited = cli(ws, ['clean', 'reader']);
    expect(edited.stdout).toMatch(/^kept copy\.txt: changed since step reader wrote it \(remove it yourself if you mean to\)$/m);
    expect(readFileSync(join(ws, 'copy.txt'), 'utf8')).toBe('edited by hand\n');
  });

  it('never removes anything outside the workspace', () => {
    const target = join(outside, 'result.txt');
    const ws = workspace({ 'pipeline.yml': `steps:\n  out:\n    run: echo x > ${target} && echo y > inside.txt\n` });
    runJson(ws);
    const r = cli(ws, ['clean']);
    expect(r.stdout).toMatch(/^removed inside\.txt \(step out\)$/m);
    expect(r.stdout).toMatch(new RegExp(`^kept ${target.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: outside the workspace`, 'm'));
    expect(readFileSync(target, 'utf8')).toBe('x\n');
  });

  it('counts steps no longer in the pipeline when no step is named', () => {
    const ws = workspace({ 'pipeline.yml': 'steps:\n  gone:\n    run: echo x > gone.txt\n  kept:\n    run: echo y > kept.txt\n' });
    runJson(ws);
    write(ws, 'pipeline.yml', 'steps:\n  kept:\n    run: echo y > kept.txt\n');
    cli(ws, ['clean']);
    expect(existsSync(join(ws, 'gone.txt'))).toBe(false);
    expect(existsSync(join(ws, 'kept.txt'))).toBe(false);
  });
});

describe('prov-make init', () => {
  it('writes a commented pipeline.yml that runs, and adds .prov-make/ to .gitignore once', () => {
    const ws = workspace({ '.gitignore': 'node_modules/' });
    const r = cli(ws, ['init']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('wrote pipeline.yml\nadded .prov-make/ to .gitignore\nnext: prov-make run\n');
    expect(readFileSync(join(ws, '.gitignore'), 'utf8')).toBe('node_modules/\n.prov-make/\n');
    const yml = readFileSync(join(ws, 'pipeline.yml'), 'utf8');
    expect(yml).toMatch(/^# prov-make pipeline/);
    expect(yml).toMatch(/#\s+foreach: data\/\*\.csv/);
    const run = runJson(ws);
    expect(run.code, run.stderr).toBe(0);
    expect(readFileSync(join(ws, 'HELLO.txt'), 'utf8')).toBe('HELLO FROM PROV-MAKE\n');

    const again = cli(ws, ['init']);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/pipeline\.yml exists already; init never overwrites it/);
    rmSync(join(ws, 'pipeline.yml'));
    cli(ws, ['init']);
    expect(readFileSync(join(ws, '.gitignore'), 'utf8')).toBe('node_modules/\n.prov-make/\n');
  });

  it('makes a .gitignore when there is none, in the folder named', () => {
    const ws = workspace({ 'sub/keep.txt': '' });
    const r = cli(ws, ['init', 'sub']);
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(join(ws, 'sub/.gitignore'), 'utf8')).toBe('.prov-make/\n');
    expect(existsSync(join(ws, 'sub/pipeline.yml'))).toBe(true);
  });
});
