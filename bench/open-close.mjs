#!/usr/bin/env node
// open-close.mjs - cost of tracing open()+close(): bench/src/openloop.c opens and closes 100,000
// distinct existing files, traced (traceCommand) and untraced (plain spawn), interleaved.
//
// Two measurements per run:
//   loop      the program's own clock around the open/close loop (start-up and exit excluded)
//   process   the whole run as seen from Node: spawn -> exit, plus, when traced, reading and
//             reducing the logs (what a user pays)
// Target: traced/untraced <= 1.15 (loop).
//
//   node bench/open-close.mjs [--files N] [--rounds N] [--warmup N] [--json] [--no-preload] [--untraced-only]
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import {
  BenchSetupError, COMMON_USAGE, assertSuccess, fmtMs, fmtRatio, formatTable, interleavedRounds, isMainModule,
  loadTracer, makeTempDir, progress, ratio, repoRoot, runMain, runPreloadOnly, runTraced, runUntraced, summarize,
  verdict, which,
} from './lib.mjs';

export const TARGETS = { loop: { op: '<=', value: 1.15 } };

/** Builds bench/src/openloop.c into workDir; returns the binary's path. */
export function compileOpenloop(workDir) {
  const cc = process.env.CC || (which('gcc') ? 'gcc' : 'cc');
  const bin = join(workDir, 'openloop');
  const src = join(repoRoot, 'bench/src/openloop.c');
  const r = spawnSync(cc, ['-O2', '-Wall', '-o', bin, src], { encoding: 'utf8' });
  if (r.error || r.status !== 0) {
    throw new BenchSetupError(`cannot compile ${src} with ${cc}: ${r.error?.message ?? r.stderr.trim()}`);
  }
  return bin;
}

function parseResult(file) {
  const text = readFileSync(file, 'utf8');
  const m = /loop_ns=(\d+)/.exec(text);
  if (!m) throw new Error(`unexpected openloop output in ${file}: ${text}`);
  return Number(m[1]);
}

export async function run(opts = {}) {
  const files = opts.files ?? 100_000;
  const { rounds = 5, warmup = 1, quiet = false } = opts;
  const tracer = opts.untracedOnly ? null : await loadTracer(opts);
  const work = makeTempDir('provmake-bench-openclose-');
  try {
    const bin = compileOpenloop(work);
    const dataDir = join(work, 'files');
    const mk = spawnSync('mkdir', ['-p', dataDir]);
    if (mk.status !== 0) throw new Error(`cannot create ${dataDir}`);
    progress(quiet, `open-close: creating ${files} files in ${dataDir}\n`);
    const created = spawnSync(bin, ['create', dataDir, String(files)], { stdio: 'inherit' });
    if (created.status !== 0) throw new Error('openloop create failed');

    const resultFile = join(work, 'result.txt');
    const cmd = [bin, 'loop', dataDir, String(files), resultFile];
    const env = { ...process.env, LC_ALL: 'C' };
    const readLoop = () => {
      const ns = parseResult(resultFile);
      rmSync(resultFile, { force: true });
      return ns / 1e6;
    };
    let observed = null;
    const variants = {
      untraced: async () => {
        const r = await runUntraced(cmd, { cwd: work, env });
        assertSuccess('untraced', r, 'openloop');
        return { processMs: r.ms, loopMs: readLoop() };
      },
    };
    if (tracer) {
      variants.traced = async () => {
        const r = await runTraced(tracer.traceCommand, cmd, { cwd: work, env });
        assertSuccess('traced', r, 'openloop');
        const inDir = r.result.deps.reads.filter((p) => p.startsWith(dataDir + '/')).length;
        observed = { readsInDir: inDir, fullyObserved: r.result.fullyObserved, problems: r.result.problems.length };
        return { processMs: r.ms, loopMs: readLoop() };
      };
      if (opts.preload !== false) {
        variants.preload = async () => {
          const r = await runPreloadOnly(tracer.soPath, cmd, { cwd: work, env });
          assertSuccess('preload-only', r, 'openloop');
          return { processMs: r.ms, loopMs: readLoop(), logMB: r.logBytes / 1e6 };
        };
      }
    }
    const samples = await interleavedRounds(variants, {
      rounds,
      warmup,
      onSample: (name, round) => progress(quiet, `open-close: ${name} ${round < 0 ? 'warm-up' : `round ${round + 1}/${rounds}`}\n`),
    });
    const stat = (v, m) => summarize(samples[v]?.[m] ?? []);
    const result = {
      name: 'open-close',
      description: `open()+close() of ${files} distinct existing files`,
      files,
      rounds,
      warmup,
      variants: Object.fromEntries(Object.keys(variants).map((v) => [v, {
        loopMs: stat(v, 'loopMs'),
        processMs: stat(v, 'processMs'),
        ...(samples[v].logMB ? { logMB: stat(v, 'logMB') } : {}),
      }])),
      observed,
    };
    const u = result.variants.untraced;
    const t = result.variants.traced;
    result.ratios = {
      loop: t ? ratio(t.loopMs.median, u.loopMs.median) : NaN,
      process: t ? ratio(t.processMs.median, u.processMs.median) : NaN,
    };
    if (result.variants.preload) {
      result.ratios.preloadLoop = ratio(result.variants.preload.loopMs.median, u.loopMs.median);
      result.ratios.preloadProcess = ratio(result.variants.preload.processMs.median, u.processMs.median);
    }
    result.summary = [
      { benchmark: 'open-close', metric: `loop (${files} open+close, in-program clock)`, base: u.loopMs.median,
        measured: t?.loopMs.median, ratio: result.ratios.loop, label: 'traced/untraced', target: TARGETS.loop },
      { benchmark: 'open-close', metric: 'whole process (spawn to exit, + log reduction)', base: u.processMs.median,
        measured: t?.processMs.median, ratio: result.ratios.process, label: 'traced/untraced', target: null },
    ];
    return result;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

export function printResult(result) {
  const rows = [];
  for (const [name, v] of Object.entries(result.variants)) {
    rows.push([name, fmtMs(v.loopMs.median), `${fmtMs(v.loopMs.min)} .. ${fmtMs(v.loopMs.max)}`,
      fmtMs(v.processMs.median), `${fmtMs(v.processMs.min)} .. ${fmtMs(v.processMs.max)}`,
      v.logMB ? `${v.logMB.median.toFixed(1)} MB` : '']);
  }
  console.log(`open-close: ${result.description}; medians of ${result.rounds} interleaved rounds\n`);
  console.log(formatTable(['variant', 'loop', 'loop range', 'process', 'process range', 'logs'], rows));
  console.log();
  console.log(`traced/untraced, loop:    ${fmtRatio(result.ratios.loop)}  (target <= ${TARGETS.loop.value}: ${verdict(result.ratios.loop, TARGETS.loop)})`);
  console.log(`traced/untraced, process: ${fmtRatio(result.ratios.process)}`);
  if (result.ratios.preloadLoop !== undefined) {
    console.log(`preload-only/untraced:    loop ${fmtRatio(result.ratios.preloadLoop)}, process ${fmtRatio(result.ratios.preloadProcess)}  (LD_PRELOAD and logging, no log reduction)`);
  }
  if (result.observed) {
    const o = result.observed;
    const warn = o.readsInDir < result.files ? `  WARNING: expected ${result.files}` : '';
    console.log(`trace check: ${o.readsInDir} of the files reported as reads, fullyObserved=${o.fullyObserved}, problems=${o.problems}${warn}`);
  }
}

if (isMainModule(import.meta.url)) {
  await runMain(async () => {
    const { parseCommonArgs } = await import('./lib.mjs');
    const opts = parseCommonArgs(process.argv.slice(2), { files: 100_000, flags: { '--files': 'files' } });
    if (opts.help) {
      console.log(`usage: node bench/open-close.mjs [--files N] [options]\n${COMMON_USAGE}`);
      return;
    }
    const result = await run({ ...opts, quiet: opts.json });
    if (opts.json) console.log(JSON.stringify(result));
    else printResult(result);
  });
}
