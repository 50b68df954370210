#!/usr/bin/env node
// ci-restore.mjs - issue 5's figure: a bundled 20-step pipeline (fixtures/pipelines20) run cold in
// folder A, against a "fresh clone" B (the same sources copied, so every mtime and the absolute
// path are new, no .prov-make state) run with A's cache folder restored. Both through the real
// CLI, timed from spawn to exit; B must restore every step and run none.
// Target (issue 12, 6): the fresh clone >= 5x faster than the cold run.
//
//   node bench/ci-restore.mjs [--rounds N] [--rows N] [--quick] [--json]
//     --rounds N   rounds (3; --quick: 1);  --rows N: rows of generated data (300000; --quick: 30000)
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { benchMain, median, repoRoot } from './lib.mjs';

export const TARGETS = { speedup: { op: '>=', value: 5 } };
const cli = join(repoRoot, 'packages/cli/bin/prov-make.js');

function runIn(dir, extra) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, [cli, 'run', '--json', ...extra], { cwd: dir, encoding: 'utf8', env: { ...process.env, CI: 'true' }, maxBuffer: 1 << 28 });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`prov-make run failed in ${dir}: ${r.stderr}`);
  const report = JSON.parse(r.stdout);
  const count = (s) => report.steps.filter((x) => x.status === s).length;
  return { ms, ran: count('ran'), restored: count('restored'), skipped: count('skipped'), steps: report.steps.length };
}

export async function run(opts = {}) {
  const rounds = opts.rounds ?? (opts.quick ? 1 : 3);
  const rows = opts.rows ?? (opts.quick ? 30000 : 300000);
  const base = mkdtempSync(join(tmpdir(), 'pm-ci-bench-'));
  try {
    const sources = join(base, 'sources');
    const gen = spawnSync(process.execPath, [join(repoRoot, 'fixtures/pipelines20/generate.mjs'), sources, '--rows', String(rows)], { encoding: 'utf8' });
    if (gen.status !== 0) throw new Error(`generate.mjs failed: ${gen.stderr}`);
    const cold = [];
    const restored = [];
    let last;
    for (let i = 0; i < rounds; i++) {
      const cache = join(base, `cache-${i}`);
      const a = join(base, `a-${i}`);
      const b = join(base, `b-${i}`);
      cpSync(sources, a, { recursive: true });
      const ra = runIn(a, ['--cache-dir', cache]);
      cpSync(sources, b, { recursive: true });
      const rb = runIn(b, ['--cache-dir', cache]);
      if (rb.ran !== 0 || rb.restored !== rb.steps) throw new Error(`the fresh clone ran ${rb.ran} step(s) and restored ${rb.restored} of ${rb.steps}`);
      cold.push(ra.ms);
      restored.push(rb.ms);
      last = { ra, rb };
      for (const d of [a, b, cache]) rmSync(d, { recursive: true, force: true });
    }
    const c = median(cold);
    const r = median(restored);
    return {
      name: 'ci-restore', rows, rounds, coldMs: c, restoredMs: r, last,
      summary: [{ benchmark: 'ci-restore', metric: '20-step pipeline: fresh clone with the cache vs cold', base: r, measured: c, ratio: c / r, label: 'cold/restored', target: TARGETS.speedup }],
    };
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
}

export function printResult(res) {
  console.log(`20-step pipeline (fixtures/pipelines20, --rows ${res.rows}), ${res.rounds} round(s), medians:`);
  console.log(`  cold run (empty cache)                    ${(res.coldMs / 1000).toFixed(2)} s   (${res.last.ra.ran} steps ran)`);
  console.log(`  fresh clone with the cache folder restored ${(res.restoredMs / 1000).toFixed(2)} s   (${res.last.rb.restored} restored, 0 ran)`);
  console.log(`  restored / cold = ${(res.restoredMs / res.coldMs).toFixed(3)}  (${(res.coldMs / res.restoredMs).toFixed(1)}x faster)`);
}

await benchMain(import.meta.url, { run, printResult }, { rows: { type: 'string', int: true } });
