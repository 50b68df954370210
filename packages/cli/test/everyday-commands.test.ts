/**
 * The commands people reach for in their first hour, through the real CLI: dry runs, the status
 * check for CI, pipeline.yml from a subfolder, did-you-mean, JSON start-up errors, and start-up
 * errors in a real terminal (tmux) that exit exactly as in a pipe.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli, inTerminal, runJson, statuses, until, workspace } from './cli-helpers.js';

const CHAIN = 'steps:\n  clean:\n    run: tr a-z A-Z < raw.txt > clean.txt\n  stats:\n    run: wc -c < clean.txt > stats.txt\n';

describe('run --dry-run and status --exit-code', () => {
  it('run -n prints what status prints and runs nothing', () => {
    const ws = workspace({ 'pipeline.yml': CHAIN, 'raw.txt': 'a\n' });
    const dry = cli(ws, ['run', '-n']);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toBe(cli(ws, ['status']).stdout);
    expect(dry.stdout).toMatch(/^> clean: would run, because it has never run$/m);
    expect(existsSync(join(ws, 'clean.txt'))).toBe(false);
    expect(JSON.parse(cli(ws, ['run', '--dry-run', '--json']).stdout).steps[0].status).toBe('would-run');
  });

  it('status --exit-code exits 1 while something would run, 0 when all is up to date', () => {
    const ws = workspace({ 'pipeline.yml': CHAIN, 'raw.txt': 'a\n' });
    expect(cli(ws, ['status', '--exit-code']).code).toBe(1);
    expect(cli(ws, ['status']).code).toBe(0);
    runJson(ws);
    expect(cli(ws, ['status', '--exit-code']).code).toBe(0);
  });
});

describe('pipeline.yml from a subfolder', () => {
  it.each([['run'], ['status'], ['clean', '--dry-run']])('%s finds the nearest pipeline.yml above and says which', (...args) => {
    const ws = workspace({ 'pipeline.yml': CHAIN, 'raw.txt': 'a\n' });
    mkdirSync(join(ws, 'deep/er'), { recursive: true });
    const r = cli(join(ws, 'deep/er'), args);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe('prov-make: using ../../pipeline.yml\n');
  });

  it('in the workspace folder itself it says nothing', () => {
    const ws = workspace({ 'pipeline.yml': CHAIN, 'raw.txt': 'a\n' });
    expect(cli(ws, ['run']).stderr).toBe('');
  });
});

describe('did you mean', () => {
  it.each([
    [['rnu'], /unknown command "rnu"\. Did you mean "run"\?\n  hint: prov-make run/],
    [['statsu', '--json'], /unknown command "statsu"\. Did you mean "status"\?\n  hint: prov-make status --json/],
    [['run', '--forse'], /prov-make run has no option --forse\. Did you mean --force\?/],
    [['run', '--keep-goin'], /Did you mean --keep-going\?/],
    [['log', '--prun'], /Did you mean --prune\?/],
    [['run', 'stast'], /no step named "stast" in .*pipeline\.yml\. Did you mean "stats"\?/],
  ])('prov-make %j', (args, message) => {
    const ws = workspace({ 'pipeline.yml': CHAIN, 'raw.txt': 'a\n' });
    const r = cli(ws, args as string[]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message as RegExp);
    expect(existsSync(join(ws, 'clean.txt'))).toBe(false);
  });
});

describe('start-up errors', () => {
  it('with --json, still one JSON object on stdout, the message on stderr, exit 2', () => {
    const ws = workspace({ 'pipeline.yml': 'steps:\n  x:\n    runn: echo\n' });
    const r = cli(ws, ['run', '--json']);
    expect(r.code).toBe(2);
    expect(JSON.parse(r.stdout)).toEqual({ ok: false, error: { message: 'unknown key "runn" in step "x". Did you mean "run"?', hint: expect.stringMatching(/^rename it to "run"/), file: join(ws, 'pipeline.yml'), line: 3, col: 5 }, steps: [] });
    expect(r.stderr).toMatch(/^pipeline\.yml:3:5: error: unknown key "runn"/);
    const unknown = cli(workspace({ 'pipeline.yml': CHAIN }), ['status', 'nope', '--json']);
    expect(unknown.code).toBe(2);
    expect(JSON.parse(unknown.stdout)).toMatchObject({ ok: false, error: { message: expect.stringMatching(/no step named "nope"/) }, steps: [] });
  });

  // In a terminal the run view starts before the pipeline is read: it must let go and exit.
  it.each([
    ['no pipeline file', {}, ['run'], /no pipeline\.yml in .* or any parent folder/],
    ['bad YAML', { 'pipeline.yml': 'steps: [\n' }, ['run'], /pipeline\.yml:\d+:\d+: error: invalid YAML/],
    ['an unknown step', { 'pipeline.yml': CHAIN }, ['run', 'nope'], /no step named "nope"/],
    ['a bad option', { 'pipeline.yml': CHAIN }, ['run', '-j', 'x'], /-j expects a whole number/],
  ])('in a real terminal, %s exits at once with the message and code of a pipe', async (_what, files, args, message) => {
    const ws = workspace(files as Record<string, string>);
    const piped = cli(ws, args as string[]);
    expect(piped.code).toBe(2);
    expect(piped.stderr).toMatch(message as RegExp);
    const term = inTerminal(ws, args as string[], { width: 150 });
    try {
      const screen = term.screen;
      await until(() => /EXIT=\d+/.test(screen()), 20_000, 'the command to exit');
      expect(screen()).toMatch(/EXIT=2/);
      expect(screen()).toMatch(message as RegExp);
      expect(screen()).not.toMatch(/running ·|0 running/); // the run view is gone
    } finally {
      term.close();
    }
  });
});

describe('durations', () => {
  it('run and log show the same duration for an execution: its command\'s own time', () => {
    const ws = workspace({ 'pipeline.yml': 'steps:\n  nap:\n    run: sleep 0.4\n' });
    const r = runJson(ws);
    expect(statuses(r).nap).toBe('ran');
    const logged = JSON.parse(cli(ws, ['log', '--json']).stdout)[0];
    expect(r.steps[0].durationMs).toBe(logged.durationMs);
    expect(r.steps[0].durationMs).toBeGreaterThanOrEqual(400);
  });
});
