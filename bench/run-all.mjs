#!/usr/bin/env node
// run-all.mjs - runs the benchmarks one after the other and prints a summary table of the ratios
// (each measured side by side, interleaved, within its own benchmark). `pnpm bench` runs this.
//
//   node bench/run-all.mjs [--only open-close,processes,node-stat,cbuild,esbuild] [--rounds N] [--warmup N] [--json]
//                          [--no-preload] [--untraced-only] [--so PATH] [--dist PATH]
//
// The full result (every sample) is also written to bench/out/results-<time>.json and
// bench/out/latest.json (bench/out/ is git-ignored).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as cbuild from './cbuild.mjs';
import * as esbuild from './esbuild.mjs';
import {
  BenchSetupError, COMMON_USAGE, fmtMs, fmtRatio, formatTable, loadTracer, machineInfo, parseCommonArgs, repoRoot,
  runMain, verdict,
} from './lib.mjs';
import * as nodeStat from './node-stat.mjs';
import * as openClose from './open-close.mjs';
import * as processes from './processes.mjs';

const BENCHMARKS = { 'open-close': openClose, processes, 'node-stat': nodeStat, cbuild, esbuild };

function targetText(t) {
  return t ? `${t.op} ${t.value}` : '';
}

export function summaryRows(results) {
  const rows = [];
  for (const r of results) {
    for (const s of r.summary) {
      rows.push([s.benchmark, s.metric, fmtMs(s.base), fmtMs(s.measured), s.label, fmtRatio(s.ratio),
        targetText(s.target), verdict(s.ratio, s.target)]);
    }
  }
  return rows;
}

await runMain(async () => {
  const argv = process.argv.slice(2);
  let only = Object.keys(BENCHMARKS);
  const rest = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--only') {
      only = (argv[++i] ?? '').split(',').filter(Boolean);
      for (const name of only) {
        if (!(name in BENCHMARKS)) throw new BenchSetupError(`unknown benchmark ${name} (known: ${Object.keys(BENCHMARKS).join(', ')})`);
      }
    } else {
      rest.push(argv[i]);
    }
  }
  const opts = parseCommonArgs(rest);
  if (opts.help) {
    console.log(`usage: node bench/run-all.mjs [--only ${Object.keys(BENCHMARKS).join(',')}] [options]\n${COMMON_USAGE}`);
    return;
  }
  // Fail early, with one clear message, before any benchmark starts.
  if (!opts.untracedOnly) await loadTracer(opts);

  const machine = machineInfo();
  const started = Date.now();
  const results = [];
  for (const name of only) {
    if (!opts.json) console.error(`\n=== ${name} ===`);
    const result = await BENCHMARKS[name].run({ ...opts, quiet: opts.json });
    results.push(result);
    if (!opts.json) {
      console.log();
      BENCHMARKS[name].printResult(result);
    }
  }
  const report = {
    machine,
    durationS: Math.round((Date.now() - started) / 1000),
    options: { rounds: opts.rounds, warmup: opts.warmup, preload: opts.preload, untracedOnly: opts.untracedOnly },
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
  console.log(`${machine.date}; ${opts.rounds} measured rounds after ${opts.warmup} warm-up round(s), variants interleaved; times are medians\n`);
  console.log(formatTable(['benchmark', 'measurement', 'baseline', 'measured', 'ratio of', 'ratio', 'target', 'verdict'],
    summaryRows(results)));
  console.log(`\nfull results: bench/out/results-${stamp}.json (${report.durationS} s)`);
});
