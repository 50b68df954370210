/** What a person sees: the ink view in a terminal (a real pty from tmux), plain lines in a pipe, JSON only with --json. */
import { describe, expect, it } from 'vitest';
import { cli, inTerminal, until, workspace } from './cli-helpers.js';

const PIPELINE = 'steps:\n  first:\n    run: sleep 1.5; echo hello\n  broken:\n    run: echo "it broke" >&2; exit 2\n  last:\n    run: echo done > last.txt\n';

describe('prov-make run: output', () => {
  it('in a terminal: running steps with elapsed time and counts, then finished steps, failed output and a summary', async () => {
    const ws = workspace({ 'pipeline.yml': PIPELINE });
    const term = inTerminal(ws, ['run', '-k']);
    try {
      const screen = term.screen;
      await until(() => /▶ first/.test(screen()), 30_000, 'the running view');
      const running = screen();
      expect(running).toMatch(/▶ first \d+(\.\d)? (ms|s) \(it has never run\)/);
      expect(running).toMatch(/0 ran · 0 up to date · 0 restored · 0 failed · 1 running/);
      await until(() => /EXIT=\d/.test(screen()), 60_000, 'the run to end');
      const done = screen();
      expect(done).toMatch(/✓ first \d/);
      expect(done).toMatch(/✗ broken exit code 2/);
      expect(done).toMatch(/! last it has never run, so it may use what broken makes, and broken failed/);
      expect(done).toMatch(/── output of broken .*──\n\s*it broke/);
      expect(done).toMatch(/prov-make: FAILED: 1 ran, 0 up to date, 0 restored, 1 failed, 1 blocked in .*\n  blocked: last: it has never run, so it may use what broken makes, and broken failed\n/);
      expect(done).toMatch(/EXIT=1/);
    } finally {
      term.close();
    }
  });

  it('in a pipe: plain whole lines prefixed with the step, no terminal codes', () => {
    const ws = workspace({ 'pipeline.yml': PIPELINE });
    const r = cli(ws, ['run']);
    expect(r.code).toBe(1);
    expect(r.stdout).not.toMatch(/\x1b\[/);
    expect(r.stdout).toMatch(/^\[first\] running: it has never run$/m);
    expect(r.stdout).toMatch(/^\[first\] hello$/m);
    expect(r.stdout).toMatch(/^\[broken\] it broke$/m);
    expect(r.stdout).toMatch(/^\[broken\] FAILED: exit code 2/m);
    expect(r.stdout).toMatch(/^prov-make: FAILED: 1 ran, 0 up to date, 0 restored, 1 failed, 1 not started in .*\n  not started: last: the run stopped when broken failed \(-k keeps going\)\n$/m);
  });

  it('with --json: only the JSON object on stdout', () => {
    const ws = workspace({ 'pipeline.yml': PIPELINE });
    const r = cli(ws, ['run', '--json']);
    expect(r.code).toBe(1);
    const parsed = JSON.parse(r.stdout);
    expect(r.stdout.trim().split('\n')).toHaveLength(1);
    expect(Object.keys(parsed)).toEqual(['ok', 'steps']);
    expect(parsed.steps.map((s: { name: string; status: string }) => [s.name, s.status])).toEqual([['first', 'ran'], ['broken', 'failed'], ['last', 'blocked']]);
    for (const s of parsed.steps) expect(Object.keys(s)).toEqual(['name', 'status', 'reason', 'durationMs']);
  });
});

