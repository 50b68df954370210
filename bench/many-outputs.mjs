#!/usr/bin/env node
// many-outputs.mjs - issue 12 (1): one step writing 100,000 small files (a Python loop, 1,000
// files a folder), through the real CLI. Per round, untimed set-up aside:
//   plain     the same command with sh -c, no prov-make
//   tracer    the same command under traceCommand alone (bench/trace-child.mjs): the tracer's share
//   baseline  (--baseline DIST) the same through another build of the interposer
//   traced    `prov-make run --json` in a fresh workspace (the step runs, its outputs are cached)
//   no-op     `prov-make run --json` right after (confirms racily clean files), then once more
//   verify    `prov-make cache verify`
//   restore   every output deleted, `prov-make run --json` (all restored from the cache)
//   cp -r     a plain `cp -r` of the same tree
// plain/traced and restore/cp -r swap order from round to round; the first round is discarded;
// medians. Peak RSS of each prov-make command (/usr/bin/time). The first restore is compared
// with the plain tree (diff -r). Targets: traced <= 1.5x plain, restore <= 2x cp -r, no-op <= 0.5 s.
//
//   node bench/many-outputs.mjs [--quick] [--files N] [--rounds N] [--warmup N] [--timeout S] [--json] [--baseline DIST] [--tracer-only]
//     --tracer-only plain, tracer and baseline only (no prov-make command)
//     --files N     files the step writes (100000; --quick: 5000)
//     --rounds N    measured rounds (2; --quick: 1), after --warmup N discarded ones (1)
//     --timeout S   stop any one command after S seconds and report it as timed out (none)
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import {
  benchMain, fmtMiB, fmtMs, fmtRatio, formatTable, makeTempDir, measure, failureOf, progress, ratio, repoRoot, summarize,
  verdict,
} from './lib.mjs';
import { checkCli, expectAll, provMake } from './prov-cli.mjs';

export const TARGETS = {
  traced: { op: '<=', value: 1.5 },
  restore: { op: '<=', value: 2 },
  noop: { op: '<=', value: 500 },
};

const WRITER = `import os, sys
out, n = sys.argv[1], int(sys.argv[2])
for i in range(n):
    folder = os.path.join(out, 'd%03d' % (i // 1000))
    if i % 1000 == 0:
        os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, 'f%06d.txt' % i), 'w') as f:
        f.write('record %d\\n' % i * 4)
`;

/** A folder with write.py and a one-step pipeline.yml running it. */
function workspace(root, files) {
  mkdirSync(root, { recursive: true });
  writeFileSync(join(root, 'write.py'), WRITER);
  writeFileSync(join(root, 'pipeline.yml'), `steps:\n  write:\n    run: python3 write.py out ${files}\n`);
  return root;
}

/** Runs the round's measurements in order; each returns { ms, peakKiB? } or throws. */
function roundSteps({ plainDir, provDir, traceDir, copyDir, files, timeoutMs, checkTree, baseline }) {
  const sh = async (cmd, cwd) => {
    const r = await measure('/bin/sh', ['-c', cmd], { cwd, timeoutMs });
    const failure = failureOf(r);
    if (failure) throw new Error(`${cmd}: ${failure}`);
    return r;
  };
  const prov = async (args, status, what) => expectAll(await provMake(args, { cwd: provDir, timeoutMs }), status, what);
  return {
    plain: () => {
      rmSync(join(plainDir, 'out'), { recursive: true, force: true });
      return sh(`python3 write.py out ${files}`, plainDir);
    },
    traced: () => {
      rmSync(join(provDir, 'out'), { recursive: true, force: true });
      rmSync(join(provDir, '.prov-make'), { recursive: true, force: true });
      return prov(['run', '--json'], 'ran', 'traced run');
    },
    tracer: () => traceChild(traceDir, [], files, timeoutMs),
    baseline: () => traceChild(traceDir, ['--dist', baseline], files, timeoutMs),
    noopFirst: () => prov(['run', '--json'], 'skipped', 'no-op right after the run'),
    noop: () => prov(['run', '--json'], 'skipped', 'no-op'),
    verify: async () => {
      const r = await provMake(['cache', 'verify'], { cwd: provDir, timeoutMs });
      if (r.failure) throw new Error(`cache verify: ${r.failure}`);
      return r;
    },
    restore: async () => {
      rmSync(join(provDir, 'out'), { recursive: true, force: true });
      const r = await prov(['run', '--json'], 'restored', 'restore');
      checkTree();
      return r;
    },
    cp: () => {
      rmSync(copyDir, { recursive: true, force: true });
      return sh(`cp -r out ${copyDir}`, plainDir);
    },
  };
}

/** The step's command under traceCommand in a process of its own: spawn to result. */
async function traceChild(dir, dist, files, timeoutMs) {
  rmSync(join(dir, 'out'), { recursive: true, force: true });
  const r = await measure(process.execPath, [join(repoRoot, 'bench/trace-child.mjs'), ...dist, '--', 'python3', 'write.py', 'out', String(files)], { cwd: dir, timeoutMs, rss: false });
  const failure = failureOf(r);
  if (failure) throw new Error(`traceCommand: ${failure}`);
  const child = JSON.parse(r.stdout);
  if (child.exitCode !== 0 || child.writes < files) throw new Error(`traced writer exited ${child.exitCode} with ${child.writes} outputs`);
  return { ms: child.ms, peakKiB: child.maxRssKiB };
}

export async function run(opts = {}) {
  checkCli();
  const quick = !!opts.quick;
  const files = opts.files ?? (quick ? 5000 : 100_000);
  const rounds = opts.rounds ?? (quick ? 1 : 2);
  const warmup = opts.warmup ?? 1;
  const quiet = !!opts.quiet;
  const work = makeTempDir('provmake-bench-many-outputs-');
  const plainDir = workspace(join(work, 'plain'), files);
  const provDir = workspace(join(work, 'prov'), files);
  let treeChecked = null;
  const checkTree = () => {
    if (treeChecked !== null) return;
    const d = spawnSync('diff', ['-rq', join(plainDir, 'out'), join(provDir, 'out')], { encoding: 'utf8', maxBuffer: 1 << 26 });
    treeChecked = d.status === 0 ? 'identical' : `DIFFERENT: ${d.stdout.split('\n').slice(0, 3).join('; ')}`;
  };
  const traceDir = workspace(join(work, 'trace'), files);
  const steps = roundSteps({ plainDir, provDir, traceDir, copyDir: join(work, 'copy'), files, timeoutMs: opts.timeoutMs, checkTree, baseline: opts.baseline });
  const samples = {};
  const failures = {};
  const load = [loadavg()[0]];
  try {
    for (let round = 0; round < warmup + rounds; round++) {
      const swap = round % 2 === 1;
      const tracers = ['tracer', ...(opts.baseline ? ['baseline'] : [])];
      const order = opts.tracerOnly ? (swap ? [...tracers, 'plain'] : ['plain', ...tracers]) : [...(swap ? ['traced', 'plain'] : ['plain', 'traced']), ...tracers, 'noopFirst', 'noop', 'verify',
        ...(swap ? ['cp', 'restore'] : ['restore', 'cp'])];
      for (const name of order) {
        if (failures.traced && name !== 'plain' && name !== 'cp') continue;
        let r;
        try {
          r = await steps[name]();
        } catch (err) {
          failures[name] ??= err.message;
          progress(quiet, `many-outputs: ${name} FAILED: ${err.message}\n`);
          continue;
        }
        progress(quiet, `many-outputs: ${round < warmup ? 'warm-up' : `round ${round - warmup + 1}/${rounds}`}: ${name} ${fmtMs(r.ms)}${r.peakKiB ? `, peak RSS ${fmtMiB(r.peakKiB)}` : ''}\n`);
        if (round < warmup) continue;
        const s = (samples[name] ??= { ms: [], peakKiB: [] });
        s.ms.push(r.ms);
        if (r.peakKiB != null) s.peakKiB.push(r.peakKiB);
      }
      load.push(loadavg()[0]);
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return summarizeRun({ files, rounds, warmup, samples, failures, treeChecked, load });
}

function summarizeRun({ files, rounds, warmup, samples, failures, treeChecked, load }) {
  const variants = Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, { ms: summarize(v.ms), peakKiB: summarize(v.peakKiB) }]));
  const med = (v) => variants[v]?.ms.median ?? NaN;
  const ratios = { traced: ratio(med('traced'), med('plain')), restore: ratio(med('restore'), med('cp')), tracer: ratio(med('tracer'), med('plain')), baseline: ratio(med('baseline'), med('plain')) };
  const rss = (v) => variants[v]?.peakKiB.median ?? NaN;
  const summary = [
    { benchmark: 'many-outputs', metric: `one step writing ${files} files: run (traced) vs plain`, base: med('plain'), measured: med('traced'), ratio: ratios.traced, label: 'traced/plain', target: TARGETS.traced },
    { benchmark: 'many-outputs', metric: 'the same step under traceCommand alone vs plain (the tracer\'s share)', base: med('plain'), measured: med('tracer'), ratio: ratios.tracer, label: 'tracer/plain' },
    { benchmark: 'many-outputs', metric: 'all outputs deleted: run (restore) vs cp -r', base: med('cp'), measured: med('restore'), ratio: ratios.restore, label: 'restore/cp -r', target: TARGETS.restore },
    { benchmark: 'many-outputs', metric: 'no-op right after the run', measured: med('noopFirst'), ratio: med('noopFirst'), unit: 'ms', label: 'time', target: TARGETS.noop },
    { benchmark: 'many-outputs', metric: 'no-op', measured: med('noop'), ratio: med('noop'), unit: 'ms', label: 'time', target: TARGETS.noop },
    { benchmark: 'many-outputs', metric: 'cache verify', measured: med('verify'), ratio: med('verify'), unit: 'ms', label: 'time' },
    { benchmark: 'many-outputs', metric: 'peak RSS of the run (and of the restore, the no-op)', measured: rss('traced'), ratio: rss('traced'), unit: 'KiB', label: `restore ${fmtMiB(rss('restore'))}, no-op ${fmtMiB(rss('noop'))}` },
  ];
  return { name: 'many-outputs', files, rounds, warmup, variants, ratios, failures, treeChecked, load, summary };
}

const LABELS = {
  plain: 'plain (sh -c)', traced: 'prov-make run (runs)', tracer: 'traceCommand alone', baseline: 'traceCommand, --baseline build', noopFirst: 'no-op right after', noop: 'no-op',
  verify: 'cache verify', restore: 'prov-make run (restores)', cp: 'cp -r',
};

export function printResult(result) {
  console.log(`many-outputs: one step writing ${result.files} small files; medians of ${result.rounds} round(s) after ${result.warmup} discarded\n`);
  const rows = Object.keys(LABELS).filter((k) => result.variants[k]).map((k) => {
    const v = result.variants[k];
    return [LABELS[k], fmtMs(v.ms.median), `${fmtMs(v.ms.min)} .. ${fmtMs(v.ms.max)}`, fmtMiB(v.peakKiB.median)];
  });
  console.log(formatTable(['variant', 'wall', 'range', 'peak RSS'], rows));
  console.log();
  console.log(`traced/plain:  ${fmtRatio(result.ratios.traced)}  (target <= ${TARGETS.traced.value}: ${verdict(result.ratios.traced, TARGETS.traced)})`);
  console.log(`tracer/plain:  ${fmtRatio(result.ratios.tracer)}${result.variants.baseline ? `  (baseline/plain: ${fmtRatio(result.ratios.baseline)})` : ''}`);
  console.log(`restore/cp -r: ${fmtRatio(result.ratios.restore)}  (target <= ${TARGETS.restore.value}: ${verdict(result.ratios.restore, TARGETS.restore)})`);
  for (const k of ['noopFirst', 'noop']) {
    const ms = result.variants[k]?.ms.median;
    console.log(`${LABELS[k]}: ${fmtMs(ms)}  (target <= ${TARGETS.noop.value} ms: ${verdict(ms, TARGETS.noop)})`);
  }
  console.log(`restored tree vs plain tree: ${result.treeChecked ?? 'not compared'}`);
  console.log(`load average (1 min) over the rounds: ${result.load.map((l) => l.toFixed(2)).join(' ')}`);
  for (const [k, msg] of Object.entries(result.failures)) console.log(`FAILED ${LABELS[k]}: ${msg}`);
}

await benchMain(import.meta.url, { run, printResult }, { files: { type: 'string', int: true }, baseline: { type: 'string' }, 'tracer-only': { type: 'boolean' } }, (o) => ({
  ...o, tracerOnly: o['tracer-only'], ...(o.baseline ? { baseline: resolve(o.baseline) } : {}),
}));
