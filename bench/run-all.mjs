#!/usr/bin/env node
// run-all.mjs - runs the benchmarks one after the other and prints a summary table (each ratio
// measured side by side, interleaved, within its own benchmark). `pnpm bench` runs this.
//
//   node bench/run-all.mjs [--only NAME,NAME] [--quick | --full] [--rounds N] [--warmup N] [--timeout S]
//                          [--work DIR] [--json] [--no-preload] [--untraced-only] [--so PATH] [--dist PATH]
//
//   --quick       every benchmark in its smoke-test size
//   --full        the sizes issue 12 names (100,000 outputs, 100,000 opens, 20,000 recorded steps):
//                 about 25 minutes; the default run measures a fifth of them (under 10 minutes)
//   --rounds N    measured rounds for every benchmark (default: each one's run-all setting below)
//   --timeout S   a timed command running longer is stopped and reported as timed out (default 180;
//                 0: none), so that today's slow paths cannot hold the whole run up
//   --work DIR    where the big recorded workspaces are kept between runs (default bench/out/work):
//                 big-pipeline's and after-edit's (bench/noop's layout); the first run records them
//
// The full result (every sample) is also written to bench/out/results-<time>.json and
// bench/out/latest.json (bench/out/ is git-ignored).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import * as afterEdit from './after-edit.mjs';
import * as bigPipeline from './big-pipeline.mjs';
import * as cbuild from './cbuild.mjs';
import * as ciRestore from './ci-restore.mjs';
import * as largeTrace from './large-trace.mjs';
import * as esbuild from './esbuild.mjs';
import {
  BenchSetupError, COMMON_USAGE, fmtMiB, fmtMs, fmtRatio, formatTable, loadTracer, machineInfo, parseCommonArgs,
  repoRoot, runMain, verdict,
} from './lib.mjs';
import * as manyOutputs from './many-outputs.mjs';
import * as nodeStat from './node-stat.mjs';
import * as openClose from './open-close.mjs';
import * as processes from './processes.mjs';
import * as realproj from './realproj.mjs';
import * as watch from './watch.mjs';

/**
 * Each benchmark and its settings: `opts` for the default run (under 10 minutes on 2 busy cores:
 * many-outputs, large-trace and big-pipeline at a fifth of the issue's sizes or without their
 * recording, processes' `find -exec` at 2,000 processes instead of 10,000: it took 265 s of a run),
 * `full` (`--full`) for the sizes issue 12 names, `quick` (`--quick`) for a smoke test.
 */
const BENCHMARKS = {
  'open-close': { mod: openClose, quick: { files: 10_000, rounds: 1, warmup: 0 } },
  processes: { mod: processes, opts: { rounds: 2, many: 2000 }, full: { rounds: 3 }, quick: { rounds: 1, warmup: 0, many: 1000 } },
  'node-stat': { mod: nodeStat, opts: { rounds: 3 }, quick: { rounds: 1, warmup: 0 } },
  esbuild: { mod: esbuild, opts: { rounds: 5 }, quick: { rounds: 1, warmup: 0 } },
  cbuild: { mod: cbuild, opts: { rounds: 2, preload: false }, full: { rounds: 3, preload: false }, quick: { rounds: 1, warmup: 0 } },
  'many-outputs': { mod: manyOutputs, opts: { rounds: 1, files: 20_000 }, full: { rounds: 1 } },
  'large-trace': { mod: largeTrace, opts: { rounds: 3, files: 20_000 }, full: { rounds: 3 } },
  'big-pipeline': {
    mod: bigPipeline, opts: { rounds: 1, record: false }, full: { rounds: 2, recordTimeoutMs: 240_000 },
    work: (size) => `big-pipeline${size === 'quick' ? '-quick' : ''}`,
  },
  'after-edit': { mod: afterEdit, opts: { rounds: 3 }, full: {}, work: (size) => `noop-${size === 'quick' ? 500 : 5000}` },
  realproj: { mod: realproj, opts: { rounds: 1 }, full: { rounds: 2 } },
  'ci-restore': { mod: ciRestore },
  watch: { mod: watch, opts: { setupRounds: 3 }, quick: { latencyRounds: 5, setupRounds: 1 }, work: (size) => `noop-${size === 'quick' ? 500 : 5000}` },
};

/** The settings of benchmark b at a size ('quick', 'full' or 'default'). */
function settingsOf(b, size) {
  if (size === 'quick') return { quick: true, ...b.quick };
  return (size === 'full' ? b.full : undefined) ?? b.opts;
}

function targetText(t) {
  return t ? `${t.op} ${t.value}` : '';
}

/** The figure a summary row is judged by: a ratio, or (unit set) an absolute value. */
function valueText(s) {
  if (s.unit === 'ms') return fmtMs(s.ratio);
  if (s.unit === 'KiB') return fmtMiB(s.ratio);
  if (s.unit === 'MiB') return Number.isFinite(s.ratio) ? `${s.ratio.toFixed(0)} MiB` : '-';
  if (s.unit === 'count') return String(s.ratio);
  return fmtRatio(s.ratio);
}

export function summaryRows(results) {
  const rows = [];
  for (const r of results) {
    if (r.error) {
      rows.push([r.name, `FAILED: ${r.error}`, '', '', '', '', '', 'FAILED']);
      continue;
    }
    for (const s of r.summary) {
      rows.push([s.benchmark, s.metric, s.unit ? '' : fmtMs(s.base), s.unit ? '' : fmtMs(s.measured), s.label, valueText(s),
        targetText(s.target), verdict(s.ratio, s.target)]);
    }
  }
  return rows;
}

await runMain(async () => {
  const argv = process.argv.slice(2);
  let only = Object.keys(BENCHMARKS);
  let size = 'default';
  let work = join(repoRoot, 'bench/out/work');
  const rest = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--quick' || argv[i] === '--full') size = argv[i].slice(2);
    else if (argv[i] === '--work') work = resolve(argv[++i] ?? '');
    else if (argv[i] === '--only') {
      only = (argv[++i] ?? '').split(',').filter(Boolean);
      for (const name of only) {
        if (!(name in BENCHMARKS)) throw new BenchSetupError(`unknown benchmark ${name} (known: ${Object.keys(BENCHMARKS).join(', ')})`);
      }
    } else {
      rest.push(argv[i]);
    }
  }
  const opts = parseCommonArgs(rest, { rounds: undefined, warmup: undefined, timeout: 180, flags: { '--timeout': 'timeout' } });
  if (opts.help) {
    console.log(`usage: node bench/run-all.mjs [--only ${Object.keys(BENCHMARKS).join(',')}] [--quick | --full] [--timeout S] [--work DIR] [options]\n${COMMON_USAGE}`);
    return;
  }
  // Fail early, with one clear message, before any benchmark starts.
  if (!opts.untracedOnly) await loadTracer(opts);

  const machine = machineInfo();
  const started = Date.now();
  const results = [];
  for (const name of only) {
    if (!opts.json) console.error(`\n=== ${name} ===`);
    const b = BENCHMARKS[name];
    const given = Object.fromEntries(Object.entries({ rounds: opts.rounds, warmup: opts.warmup }).filter(([, v]) => v !== undefined));
    const benchOpts = {
      ...opts, ...settingsOf(b, size), ...given, quiet: opts.json,
      timeoutMs: opts.timeout > 0 ? opts.timeout * 1000 : undefined,
      ...(b.work ? { dir: join(work, b.work(size)) } : {}),
    };
    const started = Date.now();
    let result;
    try {
      result = await b.mod.run(benchOpts);
    } catch (err) {
      if (err instanceof BenchSetupError) throw err;
      result = { name, error: err.message.split('\n')[0], summary: [] };
      console.error(`${name}: FAILED: ${err.message}`);
    }
    result.durationS = Math.round((Date.now() - started) / 1000);
    results.push(result);
    if (!opts.json && !result.error) {
      console.log();
      b.mod.printResult(result);
      console.log(`(${name}: ${result.durationS} s)`);
    }
  }
  const report = {
    machine,
    durationS: Math.round((Date.now() - started) / 1000),
    options: { size, rounds: opts.rounds, warmup: opts.warmup, timeout: opts.timeout, preload: opts.preload, untracedOnly: opts.untracedOnly },
    results,
  };
  const outDir = join(repoRoot, 'bench/out');
  mkdirSync(outDir, { recursive: true });
  const stamp = machine.date.replace(/[:.]/g, '-');
  const text = JSON.stringify(report, null, 2) + '\n';
  writeFileSync(join(outDir, `results-${stamp}.json`), text);
  writeFileSync(join(outDir, 'latest.json'), text);

  if (opts.json) {
    console.log(JSON.stringify(report));
    return;
  }
  console.log('\n=== summary ===\n');
  console.log(`${machine.cpu}, ${machine.cores} cores, ${machine.memGiB} GiB, Linux ${machine.kernel}, Node ${machine.node}`);
  console.log(`${machine.date}; ${size} sizes; variants interleaved round by round, first round(s) discarded; times are medians\n`);
  console.log(formatTable(['benchmark', 'measurement', 'baseline', 'measured', 'ratio of', 'ratio', 'target', 'verdict'],
    summaryRows(results)));
  console.log(`\ntime per benchmark: ${results.map((r) => `${r.name} ${r.durationS} s`).join(', ')}`);
  console.log(`full results: bench/out/results-${stamp}.json (${report.durationS} s)`);
});
