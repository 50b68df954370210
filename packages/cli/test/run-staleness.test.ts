/**
 * DESIGN section 3 through the real CLI on real files: every rule that makes a step run, skip or
 * restore, with the reason a person reads.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync, utimesSync, writeFileSync, appendFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli, reasonOf, runJson, statuses, workspace, write } from './cli-helpers.js';

const CHAIN = `steps:
  clean:
    run: tr a-z A-Z < data/raw.txt > clean.txt
  stats:
    run: wc -l < clean.txt > stats.txt
  other:
    run: cat other.txt > other.out
`;

function chain() {
  return workspace({ 'pipeline.yml': CHAIN, 'data/raw.txt': 'a\nb\n', 'other.txt': 'x\n' });
}

describe('prov-make run: staleness', () => {
  it('runs everything the first time, then nothing', () => {
    const ws = chain();
    const first = runJson(ws);
    expect(first.code).toBe(0);
    expect(first.ok).toBe(true);
    expect(statuses(first)).toEqual({ clean: 'ran', stats: 'ran', other: 'ran' });
    expect(reasonOf(first, 'clean')).toMatch(/never run/);
    expect(readFileSync(join(ws, 'clean.txt'), 'utf8')).toBe('A\nB\n');
    const second = runJson(ws);
    expect(statuses(second)).toEqual({ clean: 'skipped', stats: 'skipped', other: 'skipped' });
    for (const s of second.steps) expect(s.reason).toBe('up to date');
  });

  it('an input edit reruns that step and its consumers only', () => {
    const ws = chain();
    runJson(ws);
    write(ws, 'data/raw.txt', 'a\nb\nc\n');
    const r = runJson(ws);
    expect(statuses(r)).toEqual({ clean: 'ran', stats: 'ran', other: 'skipped' });
    expect(reasonOf(r, 'clean')).toBe('input data/raw.txt changed');
    expect(reasonOf(r, 'stats')).toBe('input clean.txt changed');
    expect(readFileSync(join(ws, 'stats.txt'), 'utf8').trim()).toBe('3');
  });

  it('touching a file without changing it reruns nothing', () => {
    const ws = chain();
    runJson(ws);
    const later = new Date(Date.now() + 5000);
    utimesSync(join(ws, 'data/raw.txt'), later, later);
    utimesSync(join(ws, 'other.txt'), later, later);
    expect(statuses(runJson(ws))).toEqual({ clean: 'skipped', stats: 'skipped', other: 'skipped' });
  });

  it('an upstream step that reruns and writes identical bytes does not rerun its consumers (early cutoff)', () => {
    const ws = chain();
    runJson(ws);
    write(ws, 'data/raw.txt', 'A\nb\n'); // upper-cases to the same clean.txt
    const r = runJson(ws);
    expect(statuses(r)).toEqual({ clean: 'ran', stats: 'skipped', other: 'skipped' });
  });

  it('an edited command reruns the step, saying so', () => {
    const ws = chain();
    runJson(ws);
    write(ws, 'pipeline.yml', CHAIN.replace('cat other.txt > other.out', 'cat other.txt other.txt > other.out'));
    const r = runJson(ws);
    expect(statuses(r).other).toBe('ran');
    expect(reasonOf(r, 'other')).toBe('its command changed');
    expect(statuses(r).clean).toBe('skipped');
  });

  it('a changed declared env value reruns the step', () => {
    const ws = workspace({
      'pipeline.yml': 'env:\n  GREETING: hello\nsteps:\n  greet:\n    run: echo "$GREETING" > greeting.txt\n  plain:\n    run: echo hi > hi.txt\n',
    });
    runJson(ws);
    write(ws, 'pipeline.yml', 'env:\n  GREETING: bonjour\nsteps:\n  greet:\n    run: echo "$GREETING" > greeting.txt\n  plain:\n    run: echo hi > hi.txt\n');
    const r = runJson(ws);
    expect(statuses(r).greet).toBe('ran');
    expect(reasonOf(r, 'greet')).toBe('env GREETING changed (hello -> bonjour)');
    expect(readFileSync(join(ws, 'greeting.txt'), 'utf8')).toBe('bonjour\n');
  });

  it('a file that was absent and appears reruns the step that looked for it', () => {
    const ws = workspace({
      'pipeline.yml': 'steps:\n  pick:\n    run: if [ -e override.txt ]; then cat override.txt; else echo default; fi > chosen.txt\n',
    });
    expect(statuses(runJson(ws)).pick).toBe('ran');
    expect(statuses(runJson(ws)).pick).toBe('skipped');
    write(ws, 'override.txt', 'special\n');
    const r = runJson(ws);
    expect(statuses(r).pick).toBe('ran');
    expect(reasonOf(r, 'pick')).toBe('override.txt appeared (it looked for it and it was absent)');
    expect(readFileSync(join(ws, 'chosen.txt'), 'utf8')).toBe('special\n');
  });

  it('a changed folder listing reruns the step that listed it', () => {
    const ws = workspace({
      'pipeline.yml': 'steps:\n  concat:\n    run: cat data/*.csv > all.csv\n',
      'data/a.csv': '1\n',
      'data/b.csv': '2\n',
    });
    runJson(ws);
    expect(statuses(runJson(ws)).concat).toBe('skipped');
    write(ws, 'data/c.csv', '3\n');
    const r = runJson(ws);
    expect(statuses(r).concat).toBe('ran');
    expect(reasonOf(r, 'concat')).toBe('data/c.csv appeared in folder data/ (it listed it)');
    expect(readFileSync(join(ws, 'all.csv'), 'utf8')).toBe('1\n2\n3\n');
  });

  it('a deleted or hand-edited output is restored from the cache without running', () => {
    const ws = workspace({ 'pipeline.yml': 'steps:\n  make:\n    run: echo made >> runs.log; tr a-z A-Z < in.txt > out.txt\n', 'in.txt': 'abc\n' });
    runJson(ws);
    rmSync(join(ws, 'out.txt'));
    let r = runJson(ws);
    expect(statuses(r).make).toBe('restored');
    expect(reasonOf(r, 'make')).toMatch(/out\.txt was deleted/);
    expect(readFileSync(join(ws, 'out.txt'), 'utf8')).toBe('ABC\n');
    writeFileSync(join(ws, 'out.txt'), 'hand edit\n');
    r = runJson(ws);
    expect(statuses(r).make).toBe('restored');
    expect(reasonOf(r, 'make')).toMatch(/out\.txt was modified/);
    expect(readFileSync(join(ws, 'out.txt'), 'utf8')).toBe('ABC\n');
    // runs.log proves the command ran once only
    expect(readFileSync(join(ws, 'runs.log'), 'utf8')).toBe('made\n');
    expect(statuses(runJson(ws)).make).toBe('skipped');
  });

  it('a failed step exits 1, blocks its consumers and runs again next time', () => {
    const ws = workspace({
      'pipeline.yml': 'steps:\n  gen:\n    run: cat source.txt > gen.txt && test -s gen.txt\n  use:\n    run: cat gen.txt > use.txt\n  free:\n    run: echo free > free.txt\n',
      'source.txt': 'v1\n',
    });
    expect(statuses(runJson(ws))).toEqual({ gen: 'ran', use: 'ran', free: 'ran' });
    write(ws, 'source.txt', '');
    const r = runJson(ws, ['--keep-going']);
    expect(r.code).toBe(1);
    expect(r.ok).toBe(false);
    expect(statuses(r)).toEqual({ gen: 'failed', use: 'blocked', free: 'skipped' });
    expect(reasonOf(r, 'gen')).toMatch(/^exit code 1/);
    expect(reasonOf(r, 'use')).toBe('it depends on gen, which failed');
    // without -k the run stops at the failure: nothing after it starts
    const stopped = runJson(ws);
    expect(statuses(stopped)).toEqual({ gen: 'failed', use: 'blocked', free: 'blocked' });
    expect(reasonOf(stopped, 'free')).toBe('not started: the run stopped when gen failed (-k keeps going)');
    const again = runJson(ws);
    expect(again.code).toBe(1);
    expect(statuses(again).gen).toBe('failed');
    expect(reasonOf(again, 'gen')).toMatch(/its last run failed \(exit code 1\)/);
    write(ws, 'source.txt', 'v2\n');
    const fixed = runJson(ws);
    expect(fixed.code).toBe(0);
    expect(statuses(fixed)).toEqual({ gen: 'ran', use: 'ran', free: 'skipped' });
    expect(readFileSync(join(ws, 'use.txt'), 'utf8')).toBe('v2\n');
  });

  it('on a first run, a failure blocks the later steps, since what they use is not known yet', () => {
    const ws = workspace({ 'pipeline.yml': 'steps:\n  gen:\n    run: exit 4\n  later:\n    run: echo x > x.txt\n' });
    const r = runJson(ws, ['-k']);
    expect(r.code).toBe(1);
    expect(statuses(r)).toEqual({ gen: 'failed', later: 'blocked' });
    expect(reasonOf(r, 'later')).toBe('it has never run, so it may use what gen makes, and gen failed');
  });

  it('every execution\'s output is kept: log STEP --output prints it later', () => {
    const ws = workspace({ 'pipeline.yml': 'steps:\n  talk:\n    run: echo hello; echo oops >&2\n  bad:\n    run: echo failing; exit 3\n' });
    expect(runJson(ws).code).toBe(1);
    const talk = cli(ws, ['log', 'talk', '--output']);
    expect(talk.code).toBe(0);
    expect(talk.stdout).toBe('hello\noops\n');
    expect(cli(ws, ['log', 'bad', '--output']).stdout).toBe('failing\n');
  });

  it('a failed step shows its output in plain mode', () => {
    const ws = workspace({ 'pipeline.yml': 'steps:\n  bad:\n    run: echo "something broke" >&2; exit 3\n' });
    const r = cli(ws, ['run']);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/\[bad\] something broke/);
    expect(r.stdout).toMatch(/\[bad\] FAILED: exit code 3/);
  });

  it('a changed program that the step executed reruns it', () => {
    const ws = workspace({
      'pipeline.yml': 'steps:\n  tool:\n    run: gcc -o tool tool.c\n  use:\n    run: ./tool > result.txt\n',
      'tool.c': '#include <stdio.h>\nint main(void){puts("v1");return 0;}\n',
    });
    runJson(ws);
    expect(readFileSync(join(ws, 'result.txt'), 'utf8')).toBe('v1\n');
    // rebuild the program outside the pipeline: the step that ran it must notice
    write(ws, 'tool.c', '#include <stdio.h>\nint main(void){puts("v2");return 0;}\n');
    execFileSync('gcc', ['-o', 'tool', 'tool.c'], { cwd: ws });
    const r = runJson(ws);
    expect(statuses(r).use).toBe('ran');
    expect(reasonOf(r, 'use')).toMatch(/tool changed/);
    expect(readFileSync(join(ws, 'result.txt'), 'utf8')).toBe('v2\n');
  });

  it('a changed shared library that the step loaded reruns it', () => {
    const ws = workspace({
      'pipeline.yml': 'env:\n  LD_LIBRARY_PATH: lib\nsteps:\n  use:\n    run: ./app > app.txt\n',
      'greet.c': 'const char *greet(void){return "v1";}\n',
      'app.c': '#include <stdio.h>\nconst char *greet(void);\nint main(void){puts(greet());return 0;}\n',
    });
    mkdirSync(join(ws, 'lib'));
    execFileSync('gcc', ['-shared', '-fPIC', '-o', 'lib/libgreet.so', 'greet.c'], { cwd: ws });
    execFileSync('gcc', ['-o', 'app', 'app.c', '-Llib', '-lgreet'], { cwd: ws });
    runJson(ws);
    expect(readFileSync(join(ws, 'app.txt'), 'utf8')).toBe('v1\n');
    expect(statuses(runJson(ws)).use).toBe('skipped');
    write(ws, 'greet.c', 'const char *greet(void){return "v2";}\n');
    execFileSync('gcc', ['-shared', '-fPIC', '-o', 'lib/libgreet.so', 'greet.c'], { cwd: ws });
    const r = runJson(ws);
    expect(statuses(r).use).toBe('ran');
    expect(reasonOf(r, 'use')).toMatch(/lib\/libgreet\.so changed/);
    expect(readFileSync(join(ws, 'app.txt'), 'utf8')).toBe('v2\n');
  });

  it('a step whose trace has untraced programs is never skipped, and status says why', () => {
    const ws = workspace({
      // a static program under another tracer: neither the interposer nor the supervisor sees it
      'pipeline.yml': 'steps:\n  build:\n    run: gcc -static -o static-hello hello.c\n  use:\n    run: strace -f -o /dev/null ./static-hello > hello.txt\n',
      'hello.c': '#include <stdio.h>\nint main(void){puts("hello");return 0;}\n',
    });
    const first = runJson(ws);
    expect(statuses(first)).toEqual({ build: 'ran', use: 'ran' });
    const second = runJson(ws);
    expect(statuses(second)).toEqual({ build: 'skipped', use: 'ran' });
    expect(reasonOf(second, 'use')).toBe('its last run cannot be trusted: static-hello ran without being observed (a static or Go program, and ptrace is not allowed here: Yama, a container or a debugger)');
    const status = runJson(ws, [], 'status');
    expect(statuses(status).use).toBe('would-run');
    expect(reasonOf(status, 'use')).toMatch(/static-hello ran without being observed/);
  });

  it('status says what would run and why, and runs nothing', () => {
    const ws = chain();
    runJson(ws);
    appendFileSync(join(ws, 'data/raw.txt'), 'z\n');
    rmSync(join(ws, 'other.out'));
    const r = runJson(ws, [], 'status');
    expect(r.code).toBe(0);
    expect(statuses(r)).toEqual({ clean: 'would-run', stats: 'would-run', other: 'would-restore' });
    expect(reasonOf(r, 'clean')).toBe('input data/raw.txt changed');
    expect(reasonOf(r, 'stats')).toMatch(/after clean runs/);
    expect(readFileSync(join(ws, 'clean.txt'), 'utf8')).toBe('A\nB\n'); // nothing ran
    const text = cli(ws, ['status']);
    expect(text.stdout).toMatch(/clean: would run, because input data\/raw.txt changed/);
  });

  it('--force reruns up-to-date steps; named steps run with what they depend on', () => {
    const ws = chain();
    runJson(ws);
    expect(statuses(runJson(ws, ['--force']))).toEqual({ clean: 'ran', stats: 'ran', other: 'ran' });
    write(ws, 'data/raw.txt', 'q\n');
    const r = runJson(ws, ['stats']);
    expect(statuses(r)).toEqual({ clean: 'ran', stats: 'ran' });
    expect(cli(ws, ['run', 'nosuch']).code).toBe(2);
  });
});
