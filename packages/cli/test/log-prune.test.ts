/** `prov-make log --prune`: history trimmed, with what only it used in the cache; the present kept. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli, runJson, workspace } from './cli-helpers.js';

interface Entry { id: string; step: string }

function objects(ws: string): number {
  return JSON.parse(cli(ws, ['cache', 'stats', '--json']).stdout).objects;
}

/** A step that prints something different on each of `n` runs (its output log is kept per execution). */
function history(n: number): string {
  const ws = workspace({ 'pipeline.yml': 'steps:\n  talk:\n    run: echo said $(cat in.txt); tr a-z A-Z < in.txt > out.txt\n  quiet:\n    run: echo same > same.txt\n', 'in.txt': 'v0\n' });
  for (let i = 0; i < n; i++) {
    writeFileSync(join(ws, 'in.txt'), `version ${i}\n`);
    expect(runJson(ws).code).toBe(0);
  }
  return ws;
}

describe('prov-make log --prune', () => {
  it('--keep N keeps each step\'s N newest executions and removes what only the others used', () => {
    const ws = history(4);
    const before = JSON.parse(cli(ws, ['log', '--json']).stdout) as Entry[];
    expect(before.filter((e) => e.step === 'talk')).toHaveLength(4);
    const objectsBefore = objects(ws);

    const dry = cli(ws, ['log', '--prune', '--keep', '2', '--dry-run']);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toMatch(/^would forget 2 execution\(s\), 3 kept$/m);
    expect(JSON.parse(cli(ws, ['log', '--json']).stdout)).toHaveLength(5);

    const r = cli(ws, ['log', '--prune', '--keep', '2', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const result = JSON.parse(r.stdout);
    const oldTalks = before.filter((e) => e.step === 'talk').slice(2).map((e) => e.id);
    expect(result.removed.sort()).toEqual(oldTalks.sort());
    expect(result.kept).toBe(3);
    // their output logs and the in.txt versions they read; the old out.txt versions stay, for the cache
    expect(result.objects.length).toBe(4);
    expect(objects(ws)).toBe(objectsBefore - 4);
    const after = JSON.parse(cli(ws, ['log', '--json']).stdout) as Entry[];
    expect(after.map((e) => e.id)).toEqual(before.filter((e) => !oldTalks.includes(e.id)).map((e) => e.id));
    // the present is intact: up to date, explained, its output still printable
    expect(runJson(ws, [], 'status').steps.every((s) => s.status === 'up-to-date')).toBe(true);
    expect(cli(ws, ['why', 'out.txt']).code).toBe(0);
    expect(cli(ws, ['log', 'talk', '--output']).stdout).toBe('said version 3\n');
  });

  it('--older-than keeps each step\'s current execution however old', () => {
    const ws = history(2);
    const r = cli(ws, ['log', '--prune', '--older-than', '0s']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^forgot 1 execution\(s\), 2 kept$/m);
    expect((JSON.parse(cli(ws, ['log', '--json']).stdout) as Entry[]).map((e) => e.step).sort()).toEqual(['quiet', 'talk']);
  });

  it.each([
    [['log', '--prune'], /log --prune needs one of --keep N or --older-than DURATION/],
    [['log', '--prune', '--keep', '1', '--older-than', '1d'], /log --prune needs one of --keep N or --older-than DURATION/],
    [['log', '--prune', '--older-than', 'soon'], /--older-than expects a duration like 30d/],
    [['log', '--prune', '--keep', 'all'], /--keep expects a whole number, not "all"/],
  ])('prov-make %j is a usage error', (args, message) => {
    const r = cli(workspace({ 'pipeline.yml': 'steps:\n  x:\n    run: echo\n' }), args as string[]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message as RegExp);
  });
});
