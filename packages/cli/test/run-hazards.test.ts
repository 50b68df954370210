/** Hazards (DESIGN 3): errors naming both steps, the file and the fix. */
import { appendFileSync, chmodSync, existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { runJson, startCli, statuses, until, workspace, write } from './cli-helpers.js';

describe('prov-make run: hazards', () => {
  it('two steps writing one file is an error naming both, the file and the fix', () => {
    const ws = workspace({ 'pipeline.yml': 'steps:\n  one:\n    run: echo 1 > shared.txt\n  two:\n    run: echo 2 > shared.txt\n' });
    const r = runJson(ws);
    expect(r.code).toBe(1);
    expect(r.ok).toBe(false);
    const h = r.hazards!.find((x) => x.kind === 'two-writers')!;
    expect(h.steps).toEqual(['one', 'two']);
    expect(h.path).toBe('shared.txt');
    expect(h.message).toBe('steps "one" and "two" both write shared.txt');
    expect(h.fix).toMatch(/only one of them/);
    expect(r.stderr + JSON.stringify(r)).toMatch(/shared\.txt/);
  });

  it('hazards come from every step\'s latest execution: found again with nothing changed; gone once a step stops writing the file', () => {
    const ws = workspace({ 'pipeline.yml': 'steps:\n  one:\n    run: cat in.txt > shared.txt\n  two:\n    run: echo 2 > shared.txt\n', 'in.txt': 'a\n' });
    const kinds = (r: ReturnType<typeof runJson>) => (r.hazards ?? []).map((h) => `${h.kind} ${h.steps.join(',')} ${h.path}`);
    expect(kinds(runJson(ws))).toEqual(['two-writers one,two shared.txt']);
    const again = runJson(ws); // nothing changed (each restores its version of the file): the hazard is still there
    expect(statuses(again)).toEqual({ one: 'restored', two: 'restored' });
    expect(again.code).toBe(1);
    expect(kinds(again)).toEqual(['two-writers one,two shared.txt']);
    write(ws, 'pipeline.yml', 'steps:\n  one:\n    run: cat in.txt > shared.txt\n  two:\n    run: echo 2 > other.txt\n');
    const fixed = runJson(ws);
    expect(kinds(fixed)).toEqual([]);
    write(ws, 'in.txt', 'b\n'); // a real change: "one" runs, "two" is no longer a writer of shared.txt
    const real = runJson(ws);
    expect(statuses(real)).toEqual({ one: 'ran', two: 'skipped' });
    expect(kinds(real)).toEqual([]);
    expect(real.code).toBe(0);
  });

  it('a step that reads a file a later step writes is an error with the fix', () => {
    const ws = workspace({
      'pipeline.yml': 'steps:\n  report:\n    run: cat summary.txt > report.txt || true\n  summarize:\n    run: echo total > summary.txt\n',
    });
    runJson(ws); // first run: report probes summary.txt (absent), summarize writes it
    const r = runJson(ws);
    const h = r.hazards!.find((x) => x.kind === 'read-before-write')!;
    expect(r.code).toBe(1);
    expect(h.steps).toEqual(['report', 'summarize']);
    expect(h.path).toBe('summary.txt');
    expect(h.message).toBe('step "report" reads summary.txt, which the later step "summarize" writes');
    expect(h.fix).toMatch(/move "summarize" above "report"/);
  });

  it('a step that probes a path a later step creates is the same hazard', () => {
    const ws = workspace({
      'pipeline.yml': 'steps:\n  early:\n    run: if test -e late.txt; then echo 0; else echo 1; fi > early.txt\n  late:\n    run: echo x > late.txt\n',
    });
    const r = runJson(ws);
    expect(r.hazards!.map((h) => [h.kind, h.path])).toContainEqual(['read-before-write', 'late.txt']);
  });

  it('a step that makes a hard link to its input (ln in.txt link.txt) moves only its link count: trusted, nothing reruns', () => {
    const ws = workspace({ 'pipeline.yml': 'steps:\n  link:\n    run: ln -f in.txt link.txt && cat in.txt > out.txt\n', 'in.txt': 'v1\n' });
    const first = runJson(ws);
    expect([first.code, statuses(first), first.hazards ?? []]).toEqual([0, { link: 'ran' }, []]);
    expect(statuses(runJson(ws))).toEqual({ link: 'skipped' });
    write(ws, 'in.txt', 'v2\n'); // edited: its bytes before the step are not known, the step's own link explains its ctime
    const edited = runJson(ws);
    expect([edited.code, statuses(edited), edited.hazards ?? []]).toEqual([0, { link: 'ran' }, []]);
    expect(readFileSync(join(ws, 'out.txt'), 'utf8')).toBe('v2\n');
    const forced = runJson(ws, ['--force']); // its bytes before the step are known: the same hash after it
    expect([forced.code, statuses(forced), forced.hazards ?? []]).toEqual([0, { link: 'ran' }, []]);
    expect(statuses(runJson(ws))).toEqual({ link: 'skipped' });
  });

  it('a chmod of an input while its step runs is confirmed by hash: the same bytes, trusted', async () => {
    const ws = workspace({
      'pipeline.yml': 'steps:\n  slow:\n    run: cat in.txt > out.txt; echo started > started.flag; sleep 1\n',
      'in.txt': 'v1\n',
    });
    expect(runJson(ws).code).toBe(0);
    await sleep(2100); // past the racy window: the next check confirms in.txt's version by hash and records it
    expect(statuses(runJson(ws))).toEqual({ slow: 'skipped' });
    rmSync(join(ws, 'started.flag'));
    const run = startCli(ws, ['run', '--json', '--force']);
    await until(() => existsSync(join(ws, 'started.flag')), 20_000, 'the step to start');
    chmodSync(join(ws, 'in.txt'), 0o600);
    const done = await run.done;
    expect(done.code, done.stdout).toBe(0);
    expect(JSON.parse(done.stdout).hazards ?? []).toEqual([]);
    expect(statuses(runJson(ws))).toEqual({ slow: 'skipped' });
  });

  it('an input that changes while its step runs makes the execution untrusted: error now, rerun next time', async () => {
    const ws = workspace({
      'pipeline.yml': 'steps:\n  slow:\n    run: cat in.txt > out.txt; echo started > started.flag; sleep 1\n',
      'in.txt': 'v1\n',
    });
    const run = startCli(ws, ['run', '--json']);
    await until(() => existsSync(join(ws, 'started.flag')), 20_000, 'the step to start');
    appendFileSync(join(ws, 'in.txt'), 'v2\n');
    const done = await run.done;
    expect(done.code).toBe(1);
    const report = JSON.parse(done.stdout);
    const h = report.hazards.find((x: { kind: string }) => x.kind === 'changed-while-running');
    expect(h.path).toBe('in.txt');
    expect(h.steps).toEqual(['slow']);
    const next = runJson(ws);
    expect(statuses(next).slow).toBe('ran');
    expect(next.steps[0].reason).toMatch(/in\.txt changed while the step ran/);
    expect(readFileSync(join(ws, 'out.txt'), 'utf8')).toBe('v1\nv2\n');
  });
});
