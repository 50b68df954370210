/**
 * Issue 11, item 4: faults are failures with a message, and the next run recovers. Full disks are
 * small tmpfs mounts (the suite runs as root in CI: `mount -t tmpfs -o size=...`); the read-only
 * workspace is a read-only bind mount; damaged state is a copy with bytes written over it.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { cli, runJson, statuses, workspace } from '../cli-helpers.js';

const mounts: string[] = [];
afterEach(() => {
  for (const dir of mounts.splice(0)) spawnSync('umount', ['-l', dir]);
});

function mount(args: string[], dir: string): void {
  const r = spawnSync('mount', [...args, dir], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`these tests mount file systems and need root: mount ${args.join(' ')} ${dir}: ${r.stderr}`);
  mounts.push(dir);
}

/** A folder on a tmpfs of `size` (e.g. '20m'). */
function tmpfs(size: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'pm-tmpfs-'));
  mount(['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs'], dir);
  return dir;
}

const TWO_STEPS = (bytes: number) => `steps:\n  big:\n    run: head -c ${bytes} /dev/urandom > big.bin\n  small:\n    run: echo hi > small.txt\n`;

describe('a full disk', () => {
  it('a step filling the workspace disk fails with what it was writing; the next run recovers', () => {
    const ws = tmpfs('20m');
    writeFileSync(join(ws, 'pipeline.yml'), TWO_STEPS(30_000_000));
    const full = cli(ws, ['run', '-k']);
    expect(full.code).toBe(1);
    expect(full.stdout + full.stderr).toMatch(/\[big\] FAILED: no space left on the device \(while writing big\.bin\)/);
    // lmdb itself prints the failed write of its memo (its own stderr line); prov-make adds no stack
    expect(full.stderr).not.toMatch(/internal error/);

    rmSync(join(ws, 'big.bin')); // the user makes room
    writeFileSync(join(ws, 'pipeline.yml'), TWO_STEPS(3_000_000));
    const next = runJson(ws, ['-k']);
    expect(next.code, next.stderr).toBe(0);
    expect(statuses(next)).toEqual({ big: 'ran', small: 'ran' });
    expect(statuses(runJson(ws))).toEqual({ big: 'skipped', small: 'skipped' });
  });

  it('a full --cache-dir only leaves outputs out of the cache, with a warning: the run goes on and recovers', () => {
    const cache = tmpfs('2m');
    const ws = workspace({ 'pipeline.yml': TWO_STEPS(3_000_000) });
    const first = runJson(ws, ['--cache-dir', cache]);
    expect(first.code, first.stderr).toBe(0);
    expect(statuses(first)).toEqual({ big: 'ran', small: 'ran' });
    expect(first.stderr).toContain('warning: could not keep outputs in the cache (no space left on the device); the run goes on');
    expect(statuses(runJson(ws, ['--cache-dir', cache]))).toEqual({ big: 'skipped', small: 'skipped' });
    rmSync(join(ws, 'big.bin'));
    const again = runJson(ws, ['--cache-dir', cache]);
    expect(again.code, again.stderr).toBe(0);
    expect(statuses(again)).toEqual({ big: 'ran', small: 'skipped' });
  });
});

describe('damaged or missing state', () => {
  it('16 KB of 0xAA over a store is found at open, moved aside with a message, and rebuilt: never a segfault', () => {
    for (const [file, offset] of [['deps/data.mdb', 0], ['deps/data.mdb', 16384], ['provenance.lmdb', 8192], ['hash-state.lmdb', 0]] as const) {
      const ws = workspace({ 'pipeline.yml': 'steps:\n  a:\n    run: echo a > a.txt\n  b:\n    run: cat a.txt > b.txt\n' });
      expect(runJson(ws).code).toBe(0);
      const fd = join(ws, '.prov-make', file);
      const bytes = readFileSync(fd);
      Buffer.alloc(16384, 0xaa).copy(bytes, offset);
      writeFileSync(fd, bytes);
      for (const command of [['run', '--json'], ['log'], ['why', 'b.txt']]) {
        const r = cli(ws, command);
        expect(r.code, `${file}@${offset} ${command.join(' ')}: ${r.stderr}`).not.toBe(139);
        expect(r.stderr).not.toMatch(/internal error/);
      }
      const damaged = readdirSync(join(ws, '.prov-make')).filter((n) => n.startsWith('damaged-'));
      expect(damaged, `${file}@${offset}`).toHaveLength(1);
      const after = runJson(ws);
      expect(after.code).toBe(0);
      expect(statuses(after)).toEqual({ a: 'skipped', b: 'skipped' });
      expect(readFileSync(join(ws, 'b.txt'), 'utf8')).toBe('a\n');
    }
  });

  it('the message says which store and where it went', () => {
    const ws = workspace({ 'pipeline.yml': 'steps:\n  a:\n    run: echo a > a.txt\n' });
    runJson(ws);
    const file = join(ws, '.prov-make/deps/data.mdb');
    const bytes = readFileSync(file);
    bytes.fill(0xaa, 0, 16384);
    writeFileSync(file, bytes);
    const r = cli(ws, ['run']);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/^prov-make: warning: \.prov-make\/deps\/data\.mdb is damaged \(its first meta page is damaged\): the recorded state was moved to \.prov-make\/damaged-[\dTZ-]+ and is rebuilt$/m);
  });

  it('a step removing the state folder: the run ends normally and the next one rebuilds it', () => {
    const ws = workspace({ 'pipeline.yml': 'steps:\n  a:\n    run: echo a > a.txt\n  nuke:\n    run: rm -rf .prov-make && echo n > n.txt\n' });
    const first = runJson(ws);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stderr).not.toMatch(/internal error/);
    const second = runJson(ws);
    expect(second.code, second.stderr).toBe(0);
    expect(readFileSync(join(ws, 'n.txt'), 'utf8')).toBe('n\n');
    expect(statuses(runJson(ws))).toEqual({ a: 'skipped', nuke: 'skipped' });
  });

  it('a read-only workspace is a clear error, exit 1, nothing run', () => {
    const ws = workspace({ 'pipeline.yml': 'steps:\n  a:\n    run: echo a > a.txt\n' });
    runJson(ws);
    writeFileSync(join(ws, 'pipeline.yml'), 'steps:\n  a:\n    run: echo b > a.txt\n');
    const ro = mkdtempSync(join(tmpdir(), 'pm-ro-'));
    mount(['--bind', ws], ro);
    mount(['-o', 'remount,ro,bind'], ro);
    const r = cli(ro, ['run']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^prov-make: error: the file system is read-only \(while writing \.prov-make\/lock\)\n  hint: /);
    expect(readFileSync(join(ws, 'a.txt'), 'utf8')).toBe('a\n');
    expect(existsSync(join(ws, '.prov-make/lock'))).toBe(false);
  });
});
