/**
 * DESIGN section 4, the local portable cache through the real CLI: a run in one folder fills a cache
 * folder that a fresh copy of the sources elsewhere (new absolute path, every mtime new) restores
 * from without running anything; PROV_MAKE_CACHE_DIR; `prov-make cache stats | verify | gc`.
 */
import { cpSync, existsSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, appendFileSync } from 'node:fs';
import { basename, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { cli, reasonOf, rotCachedObject, runJson, statuses, workspace, write } from './cli-helpers.js';
import { acDocuments, SHELL_OUTPUTS, SHELL_SOURCES } from './nginx.js';

const EXAMPLE = fileURLToPath(new URL('../../../fixtures/example', import.meta.url));
const EXAMPLE_OUTPUTS = ['build/clean.csv', 'build/top_products.txt', 'out.csv', 'report.txt'];
const EXAMPLE_STEPS = ['clean', 'split', 'top_products', 'stats', 'report'];

/** Copies the sources of `from` into a new workspace: not its outputs, not .prov-make. */
function cloneSources(from: string, outputs: string[]): string {
  const to = workspace();
  cpSync(from, to, {
    recursive: true,
    filter: (src) => {
      const rel = relative(from, src);
      if (rel === '') return true;
      if (rel === '.prov-make' || rel.startsWith('.prov-make/') || basename(rel) === '__pycache__') return false;
      return !outputs.some((o) => rel === o || rel.startsWith(`${o}/`));
    },
  });
  return to;
}

function files(dir: string, base = dir): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((n) => {
    const abs = join(dir, n);
    return statSync(abs).isDirectory() ? files(abs, base) : [relative(base, abs)];
  }).sort();
}

interface LogEntry { step: string; status: string; reason: string }
function log(dir: string, env: NodeJS.ProcessEnv = {}): LogEntry[] {
  const r = cli(dir, ['log', '--json'], env);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout);
}

function expectAllRestored(r: ReturnType<typeof runJson>, names: string[]) {
  expect(r.code, r.stderr).toBe(0);
  expect(r.ok).toBe(true);
  expect(statuses(r)).toEqual(Object.fromEntries(names.map((n) => [n, 'restored'])));
  for (const n of names) expect(reasonOf(r, n)).toMatch(/; restored its outputs from the cache$/);
}

describe('portable cache: a fresh copy elsewhere restores instead of running', () => {
  it('fixtures/example (python3 + shell, 5 steps): copy the sources to B, every step restored byte for byte, then one edit runs only what it affects', () => {
    const cache = workspace();
    const a = cloneSources(EXAMPLE, EXAMPLE_OUTPUTS.concat('build'));
    const first = runJson(a, ['--cache-dir', cache]);
    expect(first.code, first.stderr).toBe(0);
    expect(statuses(first)).toEqual(Object.fromEntries(EXAMPLE_STEPS.map((n) => [n, 'ran'])));

    const b = cloneSources(a, EXAMPLE_OUTPUTS.concat('build'));
    expect(b).not.toBe(a);
    expect(existsSync(join(b, '.prov-make'))).toBe(false);
    expect(existsSync(join(b, 'out.csv'))).toBe(false);
    // Older than A's files, so nothing could look "unchanged" by mtime.
    const old = new Date('2001-01-01T00:00:00Z');
    for (const f of files(b)) utimesSync(join(b, f), old, old);

    const restored = runJson(b, ['--cache-dir', cache]);
    expectAllRestored(restored, EXAMPLE_STEPS);
    const outputsA = files(join(a, 'build')).map((f) => `build/${f}`).concat('out.csv', 'report.txt');
    expect(outputsA).toContain('build/regions/north.csv');
    expect(files(join(b, 'build')).map((f) => `build/${f}`).concat('out.csv', 'report.txt')).toEqual(outputsA);
    for (const f of outputsA) expect(readFileSync(join(b, f)), f).toEqual(readFileSync(join(a, f)));

    // Nothing executed in B: its history holds only adoptions of A's executions.
    const history = log(b);
    expect(history.map((e) => e.step).sort()).toEqual([...EXAMPLE_STEPS].sort());
    for (const e of history) expect(e.reason, e.step).toMatch(/^restored from the cache \(made by execution /);

    expect(statuses(runJson(b, ['--cache-dir', cache]))).toEqual(Object.fromEntries(EXAMPLE_STEPS.map((n) => [n, 'skipped'])));

    appendFileSync(join(b, 'scripts/report.py'), '\n# edited in B\n');
    const edited = runJson(b, ['--cache-dir', cache]);
    expect(edited.code, edited.stderr).toBe(0);
    expect(statuses(edited)).toEqual({ clean: 'skipped', split: 'skipped', top_products: 'skipped', stats: 'skipped', report: 'ran' });
    expect(reasonOf(edited, 'report')).toMatch(/scripts\/report\.py/);
    expect(readFileSync(join(b, 'report.txt'))).toEqual(readFileSync(join(a, 'report.txt')));
  });

  it('a shell pipeline with a folder listing: restored in B, then a content edit and a new file run exactly the affected steps', () => {
    const cache = workspace();
    const a = workspace(SHELL_SOURCES);
    const first = runJson(a, ['--cache-dir', cache]);
    expect(statuses(first)).toEqual({ upper: 'ran', listing: 'ran', count: 'ran', other: 'ran' });

    const b = cloneSources(a, ['build']);
    const restored = runJson(b, ['--cache-dir', cache]);
    expectAllRestored(restored, Object.keys(SHELL_OUTPUTS));
    for (const out of Object.values(SHELL_OUTPUTS)) expect(readFileSync(join(b, out), 'utf8'), out).toBe(readFileSync(join(a, out), 'utf8'));
    for (const e of log(b)) expect(e.reason).toMatch(/^restored from the cache/);

    write(b, 'src/a.txt', 'edited in b, longer than before\n');
    const edit = runJson(b, ['--cache-dir', cache]);
    expect(statuses(edit)).toEqual({ upper: 'ran', listing: 'skipped', count: 'ran', other: 'skipped' });
    expect(readFileSync(join(b, 'build/upper.txt'), 'utf8')).toBe('EDITED IN B, LONGER THAN BEFORE\n');

    write(b, 'src/new.txt', 'x\n');
    const added = runJson(b, ['--cache-dir', cache]);
    expect(statuses(added)).toEqual({ upper: 'skipped', listing: 'ran', count: 'skipped', other: 'skipped' });
    expect(readFileSync(join(b, 'build/files.txt'), 'utf8')).toBe('a.txt\nb.txt\nnew.txt\n');

    // Back to A's sources in a third copy: the listing's path set matches again, so it restores.
    const c = cloneSources(a, ['build']);
    expectAllRestored(runJson(c, ['--cache-dir', cache]), Object.keys(SHELL_OUTPUTS));
    expect(readFileSync(join(c, 'build/files.txt'), 'utf8')).toBe('a.txt\nb.txt\n');
  });

  it('the cache key sees a new file in a listed folder: B with an extra source file runs the listing step', () => {
    const cache = workspace();
    const a = workspace(SHELL_SOURCES);
    runJson(a, ['--cache-dir', cache]);
    const b = cloneSources(a, ['build']);
    write(b, 'src/extra.txt', 'x\n');
    const r = runJson(b, ['--cache-dir', cache]);
    expect(statuses(r)).toEqual({ upper: 'restored', listing: 'ran', count: 'restored', other: 'restored' });
    expect(readFileSync(join(b, 'build/files.txt'), 'utf8')).toBe('a.txt\nb.txt\nextra.txt\n');
  });
});

describe('portable cache: what a hit restores', () => {
  it('restored outputs keep their permission bits; a path A found absent that exists in B is a miss', () => {
    const cache = workspace();
    const a = workspace({
      'pipeline.yml': `steps:
  exe:
    run: mkdir -p build && printf '#!/bin/sh\\necho hi\\n' > build/tool.sh && chmod 755 build/tool.sh
  opt:
    run: mkdir -p build && (cat src/opt.txt 2>/dev/null || echo none) > build/opt.out
`,
      'src/keep.txt': 'k\n',
    });
    expect(statuses(runJson(a, ['--cache-dir', cache]))).toEqual({ exe: 'ran', opt: 'ran' });
    const b = cloneSources(a, ['build']);
    write(b, 'src/opt.txt', 'present in b\n');
    const r = runJson(b, ['--cache-dir', cache]);
    expect(statuses(r)).toEqual({ exe: 'restored', opt: 'ran' });
    expect(statSync(join(b, 'build/tool.sh')).mode & 0o777).toBe(0o755);
    expect(readFileSync(join(b, 'build/opt.out'), 'utf8')).toBe('present in b\n');
  });

  it('a step whose outputs include a symlink and an empty folder: a hit re-creates them too (or the step runs)', () => {
    const cache = workspace();
    const a = workspace({
      'pipeline.yml': `steps:
  links:
    run: mkdir -p build/empty && cat src/a.txt > build/real.txt && ln -sf real.txt build/link.txt
`,
      'src/a.txt': 'a\n',
    });
    expect(statuses(runJson(a, ['--cache-dir', cache]))).toEqual({ links: 'ran' });
    expect(readFileSync(join(a, 'build/link.txt'), 'utf8')).toBe('a\n');

    const b = cloneSources(a, ['build']);
    const r = runJson(b, ['--cache-dir', cache]);
    expect(r.code, r.stderr).toBe(0);
    // Whether restored or run, B must end up with what A has.
    expect(files(join(b, 'build'))).toEqual(files(join(a, 'build')));
    expect(existsSync(join(b, 'build/link.txt')), 'build/link.txt (a symlink the step made) is missing in B').toBe(true);
    expect(readFileSync(join(b, 'build/link.txt'), 'utf8')).toBe('a\n');
    expect(existsSync(join(b, 'build/empty')), 'build/empty (a folder the step made) is missing in B').toBe(true);
  });

  it('status in a fresh clone says which steps would restore from the cache (it does not claim they would run)', () => {
    const cache = workspace();
    const a = workspace(SHELL_SOURCES);
    runJson(a, ['--cache-dir', cache]);
    const b = cloneSources(a, ['build']);
    write(b, 'src/b.txt', 'changed\n');
    const plan = runJson(b, ['--cache-dir', cache], 'status');
    expect(plan.code, plan.stderr).toBe(0);
    expect(existsSync(join(b, 'build'))).toBe(false); // nothing ran, nothing restored
    expect(statuses(plan)).toEqual({ upper: 'would-restore', listing: 'would-restore', count: 'would-restore', other: 'would-run' });
  });
});

describe('PROV_MAKE_CACHE_DIR and `prov-make cache`', () => {
  it('PROV_MAKE_CACHE_DIR works like --cache-dir, and cache stats reports that folder', () => {
    const cache = workspace();
    const env = { PROV_MAKE_CACHE_DIR: cache };
    const a = workspace(SHELL_SOURCES);
    expect(statuses(runJson(a, [], 'run', env))).toEqual({ upper: 'ran', listing: 'ran', count: 'ran', other: 'ran' });
    expect(existsSync(join(cache, 'small-objects.lmdb'))).toBe(true);
    expect(existsSync(join(cache, 'ac'))).toBe(true);
    expect(existsSync(join(a, '.prov-make/cache/small-objects.lmdb'))).toBe(false);

    // One entry and one path-set index per step.
    const docs = acDocuments(join(cache, 'ac'));
    expect(docs.filter((d) => d.doc.step).map((d) => d.doc.step).sort()).toEqual(['count', 'listing', 'other', 'upper']);
    expect(docs.length).toBe(8);
    for (const d of docs) expect(d.rel).toMatch(/^([0-9a-f]{2})\/\1[0-9a-f]{62}$/);

    const stats = cli(a, ['cache', 'stats', '--json'], env);
    expect(stats.code, stats.stderr).toBe(0);
    const s = JSON.parse(stats.stdout);
    expect(s.dir).toBe(cache);
    expect(s.entries).toBe(8);
    expect(s.objects).toBeGreaterThanOrEqual(4);
    expect(s.bytes).toBeGreaterThan(0);
    const text = cli(a, ['cache', 'stats'], env);
    expect(text.stdout).toContain(cache);
    expect(text.stdout).toMatch(/\d+ objects/);
    expect(text.stdout).toMatch(/8 cache entries/);

    const b = cloneSources(a, ['build']);
    expectAllRestored(runJson(b, [], 'run', env), Object.keys(SHELL_OUTPUTS));
    // The flag wins over the variable.
    const other = workspace();
    const c = cloneSources(a, ['build']);
    expect(statuses(runJson(c, ['--cache-dir', other], 'run', env))).toEqual({ upper: 'ran', listing: 'ran', count: 'ran', other: 'ran' });
  });

  it('cache verify removes a corrupt object and names it; a fresh copy then runs that step instead of restoring garbage', () => {
    const cache = workspace();
    const a = workspace(SHELL_SOURCES);
    runJson(a, ['--cache-dir', cache]);
    const entry = acDocuments(join(cache, 'ac')).find((d) => d.doc.step === 'other')!;
    const hash = entry.doc.outputs!.filter((o) => o.kind === 'file')[0].sha256;
    rotCachedObject(cache, hash, readFileSync(join(a, 'build/other.txt')));

    const clean = cli(a, ['cache', 'verify', '--cache-dir', cache]);
    expect(clean.code, clean.stderr).toBe(0);
    expect(clean.stdout).toMatch(/removed 1 corrupt object/);
    expect(clean.stdout).toContain(hash);
    const again = cli(a, ['cache', 'verify', '--json', '--cache-dir', cache]);
    expect(JSON.parse(again.stdout)).toEqual({ removed: [] });
    expect(cli(a, ['cache', 'verify', '--cache-dir', cache]).stdout).toMatch(/every object matches its hash/);

    const b = cloneSources(a, ['build']);
    const r = runJson(b, ['--cache-dir', cache]);
    expect(r.code, r.stderr).toBe(0);
    expect(statuses(r)).toEqual({ upper: 'restored', listing: 'restored', count: 'restored', other: 'ran' });
    expect(readFileSync(join(b, 'build/other.txt'), 'utf8')).toBe('an unrelated input\nan unrelated input\n');
  });

  it('cache verify --json names objects corrupted behind its back (several at once)', () => {
    const cache = workspace();
    const a = workspace(SHELL_SOURCES);
    runJson(a, ['--cache-dir', cache]);
    const outputs = acDocuments(join(cache, 'ac')).filter((d) => d.doc.step === 'upper' || d.doc.step === 'listing').map((d) => d.doc.outputs!.filter((o) => o.kind === 'file')[0]);
    expect(outputs).toHaveLength(2);
    for (const o of outputs) rotCachedObject(cache, o.sha256, readFileSync(join(a, o.path)));
    const hashes = outputs.map((o) => o.sha256).sort();
    const r = cli(a, ['cache', 'verify', '--json'], { PROV_MAKE_CACHE_DIR: cache });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ removed: hashes });
  });

  it('cache gc --max-size shrinks the cache below the limit and keeps the last outputs, which still restore', () => {
    const cache = workspace();
    // ~100 KiB per version of the output.
    const a = workspace({
      'pipeline.yml': `steps:
  big:
    run: mkdir -p build && yes "$(cat src/line.txt)" | head -n 2048 > build/big.txt
  small:
    run: mkdir -p build && cp src/small.txt build/small.txt
`,
      'src/line.txt': 'version 0 of a line that is fifty bytes long ...\n',
      'src/small.txt': 'small\n',
    });
    for (let v = 0; v < 4; v++) {
      write(a, 'src/line.txt', `version ${v} of a line that is fifty bytes long ...\n`);
      const r = runJson(a, ['--cache-dir', cache]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.steps.find((s) => s.name === 'big')!.status).toBe('ran');
    }
    const before = JSON.parse(cli(a, ['cache', 'stats', '--json', '--cache-dir', cache]).stdout);
    expect(before.bytes).toBeGreaterThan(4 * 100_000);
    const lastBig = readFileSync(join(a, 'build/big.txt'));

    const limit = 250 * 1024;
    const gc = cli(a, ['cache', 'gc', '--max-size', '250K', '--json', '--cache-dir', cache]);
    expect(gc.code, gc.stderr).toBe(0);
    const result = JSON.parse(gc.stdout);
    expect(result.removed.length).toBeGreaterThanOrEqual(2);
    expect(result.bytes).toBeLessThanOrEqual(limit);
    const after = JSON.parse(cli(a, ['cache', 'stats', '--json', '--cache-dir', cache]).stdout);
    expect(after.bytes).toBeLessThanOrEqual(limit);
    expect(after.bytes).toBe(result.bytes);
    expect(after.objects).toBe(before.objects - result.removed.length);
    const text = cli(a, ['cache', 'gc', '--max-size', '250K', '--cache-dir', cache]);
    expect(text.stdout).toMatch(/removed 0 object\(s\)/);

    // The last outputs were kept: deleted from the workspace, they come back from the cache.
    rmSync(join(a, 'build'), { recursive: true });
    const r = runJson(a, ['--cache-dir', cache]);
    expect(r.code, r.stderr).toBe(0);
    expect(statuses(r)).toEqual({ big: 'restored', small: 'restored' });
    expect(readFileSync(join(a, 'build/big.txt'))).toEqual(lastBig);

    // An old version's entry survives gc but its content does not: that step runs (with a warning), it does not fail.
    write(a, 'src/line.txt', 'version 0 of a line that is fifty bytes long ...\n');
    const old = runJson(a, ['--cache-dir', cache]);
    expect(old.code, old.stderr).toBe(0);
    expect(statuses(old)).toEqual({ big: 'ran', small: 'skipped' });
    expect(readFileSync(join(a, 'build/big.txt'), 'utf8')).toBe('version 0 of a line that is fifty bytes long ...\n'.repeat(2048));
  });

  it('cache gc with a limit below what the last outputs need keeps them anyway', () => {
    const cache = workspace();
    const a = workspace(SHELL_SOURCES);
    runJson(a, ['--cache-dir', cache]);
    const r = cli(a, ['cache', 'gc', '--max-size', '0', '--json', '--cache-dir', cache]);
    expect(r.code, r.stderr).toBe(0);
    expectAllRestored(runJson(cloneSources(a, ['build']), ['--cache-dir', cache]), Object.keys(SHELL_OUTPUTS));
    expect(cli(a, ['cache', 'gc', '--max-size', 'lots', '--cache-dir', cache]).code).toBe(2);
  });
});
