#!/usr/bin/env node
// ci-restore.mjs - issue 5's figure: a bundled 20-step pipeline (fixtures/pipelines20) run cold in
// folder A, against a "fresh clone" B (the same sources copied, so every mtime and the absolute
// path are new, no .prov-make state) run with A's cache folder restored. Both through the real
// CLI, timed from spawn to exit; B must restore every step and run none.
//
//   node bench/ci-restore.mjs [--rounds N] [--rows N]
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from './lib.mjs';

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
const rounds = opt('--rounds', 3);
const rows = opt('--rows', 300000);
const cli = join(repoRoot, 'packages/cli/bin/prov-make.js');

function run(dir, extra) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, [cli, 'run', '--json', ...extra], { cwd: dir, encoding: 'utf8', env: { ...process.env, CI: 'true' }, maxBuffer: 1 << 28 });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`prov-make run failed in ${dir}: ${r.stderr}`);
  const report = JSON.parse(r.stdout);
  const count = (s) => report.steps.filter((x) => x.status === s).length;
  return { ms, ran: count('ran'), restored: count('restored'), skipped: count('skipped'), steps: report.steps.length };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const base = mkdtempSync(join(tmpdir(), 'pm-ci-bench-'));
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
  const ra = run(a, ['--cache-dir', cache]);
  cpSync(sources, b, { recursive: true });
  const rb = run(b, ['--cache-dir', cache]);
  if (rb.ran !== 0 || rb.restored !== rb.steps) throw new Error(`the fresh clone ran ${rb.ran} step(s) and restored ${rb.restored} of ${rb.steps}`);
  cold.push(ra.ms);
  restored.push(rb.ms);
  last = { ra, rb };
  rmSync(a, { recursive: true, force: true });
  rmSync(b, { recursive: true, force: true });
  rmSync(cache, { recursive: true, force: true });
}
const c = median(cold);
const r = median(restored);
console.log(`20-step pipeline (fixtures/pipelines20, --rows ${rows}), ${rounds} round(s), medians:`);
console.log(`  cold run (empty cache)                    ${(c / 1000).toFixed(2)} s   (${last.ra.ran} steps ran)`);
console.log(`  fresh clone with the cache folder restored ${(r / 1000).toFixed(2)} s   (${last.rb.restored} restored, 0 ran)`);
console.log(`  restored / cold = ${(r / c).toFixed(3)}  (${(c / r).toFixed(1)}x faster)`);
rmSync(base, { recursive: true, force: true });
