/** Bad usage: one clear error that says what is wrong and what to do, exit 2, nothing run. */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli, workspace } from './cli-helpers.js';

const PIPELINE = 'steps:\n  one:\n    run: echo ran > ran.txt\n';

describe('usage errors', () => {
  it.each([
    [['run', '--bogus'], /prov-make run has no option --bogus\n  hint: see `prov-make run --help`/],
    [['run', '-j', 'two'], /-j expects a whole number of jobs \(1 or more\), not "two"/],
    [['run', '-j'], /argument missing\n  hint: see `prov-make run --help`/],
    [['run', 'nosuch'], /no step named "nosuch" in .*pipeline\.yml \(steps: one\)/],
    [['frobnicate'], /unknown command "frobnicate"/],
    [['graph', 'extra'], /prov-make graph takes no such argument/],
    [['cache', 'gc'], /cache gc needs --max-size SIZE/],
    [['trace'], /no command to trace/],
  ])('prov-make %j', (args, message) => {
    const ws = workspace({ 'pipeline.yml': PIPELINE });
    const r = cli(ws, args as string[]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message as RegExp);
    expect(existsSync(join(ws, 'ran.txt'))).toBe(false);
  });

  it('--help prints the commands and exits 0', () => {
    const r = cli(workspace(), ['--help']);
    expect(r.code).toBe(0);
    for (const c of ['run', 'status', 'watch', 'clean', 'init', 'why', 'log', 'show', 'diff', 'graph', 'cache', 'trace', 'completion']) expect(r.stdout).toMatch(new RegExp(`^  ${c} `, 'm'));
  });

  it.each(['run', 'status', 'watch', 'clean', 'init', 'log', 'completion'])('prov-make %s --help says what it does and exits 0', (c) => {
    const r = cli(workspace(), [c, '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^usage: prov-make ${c} `));
  });
});
