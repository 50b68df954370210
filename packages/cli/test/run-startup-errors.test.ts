/**
 * Clear errors before anything runs (issue 10, item 8), through the real CLI: a step folder that is
 * missing or leads outside the workspace, and `run --json` / `status --json` printing one object on
 * any start-up error.
 */
import { existsSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli, runJson, statuses, workspace } from './cli-helpers.js';

describe('a step folder that cannot be used', () => {
  it('a cwd naming a missing folder: file:line:col, exit 2, nothing run', () => {
    const ws = workspace({ 'pipeline.yml': 'steps:\n  first:\n    run: echo 1 > first.txt\n  later:\n    run: echo hi\n    cwd: nowhere\n' });
    const r = cli(ws, ['run']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('pipeline.yml:6:10: error: the folder of step "later" (cwd "nowhere") does not exist');
    expect(r.stderr).toContain('hint: create it');
    expect(existsSync(join(ws, 'first.txt'))).toBe(false);
  });

  it('a cwd that leads outside the workspace through a symlink', () => {
    const ws = workspace({ 'pipeline.yml': 'steps:\n  a:\n    run: touch escaped.txt\n    cwd: out\n' });
    symlinkSync(tmpdir(), join(ws, 'out'));
    const r = cli(ws, ['status']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/pipeline\.yml:4:10: error: .*leads outside the workspace/);
  });

  it('a folder an earlier step makes is fine; when that step does not make it, the step fails saying so', () => {
    const ws = workspace({ 'pipeline.yml': 'steps:\n  make:\n    run: mkdir -p build\n  use:\n    run: pwd > ../where.txt\n    cwd: build\n' });
    expect(statuses(runJson(ws))).toEqual({ make: 'ran', use: 'ran' });
    // an earlier step that never ran and names the folder may make it: checked when the step starts
    const moved = workspace({ 'pipeline.yml': 'steps:\n  make:\n    run: echo build is made elsewhere\n  use:\n    run: pwd\n    cwd: build\n' });
    const r = runJson(moved);
    expect(r.code).toBe(1);
    expect(statuses(r)).toEqual({ make: 'ran', use: 'failed' });
    expect(r.steps[1].reason).toBe('its folder build does not exist (cwd at pipeline.yml:6:10): it did not start');
  });
});

describe('--json on a start-up error: one object, exit 2', () => {
  const shape = (stdout: string) => JSON.parse(stdout) as { ok: boolean; error: { message: string; hint: string | null; file: string | null; line: number | null; col: number | null }; steps: unknown[] };

  it('a bad pipeline file, for run and status', () => {
    const ws = workspace({ 'pipeline.yml': 'steps:\n  a:\n    run: echo\n    nedds: x\n' });
    for (const command of ['run', 'status']) {
      const r = cli(ws, [command, '--json']);
      expect(r.code).toBe(2);
      const o = shape(r.stdout);
      expect(o).toMatchObject({ ok: false, steps: [], error: { file: join(ws, 'pipeline.yml'), line: 4, col: 5 } });
      expect(o.error.message).toBe('unknown key "nedds" in step "a". Did you mean "needs"?');
      expect(r.stdout.trim().split('\n')).toHaveLength(1);
    }
  });

  it('a missing step folder, an unknown step, an unknown flag, a missing pipeline file', () => {
    const ws = workspace({ 'pipeline.yml': 'steps:\n  a:\n    run: echo\n    cwd: gone\n' });
    expect(shape(cli(ws, ['run', '--json']).stdout).error).toMatchObject({ line: 4, col: 10, message: expect.stringContaining('does not exist') });
    const other = workspace({ 'pipeline.yml': 'steps:\n  a:\n    run: echo\n' });
    const unknown = cli(other, ['run', 'nope', '--json']);
    expect(unknown.code).toBe(2);
    expect(shape(unknown.stdout).error.message).toMatch(/nope/);
    const flag = cli(other, ['status', '--json', '--bogus']);
    expect(flag.code).toBe(2);
    expect(shape(flag.stdout).error).toMatchObject({ message: 'prov-make status has no option --bogus', file: null });
    const missing = cli(other, ['run', 'missing.yml', '--json']);
    expect(missing.code).toBe(2);
    expect(shape(missing.stdout).error).toMatchObject({ file: join(other, 'missing.yml'), line: null });
    expect(runJson(other).ok).toBe(true);
  });
});
