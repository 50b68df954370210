// loop-bench.mjs - a benchmark of a loop timed by the program itself, traced and untraced
// (and, as a diagnostic, preload only), interleaved. The program writes `loop_ns=N` to the
// result file it is given, and loop_cpu_ns=N, its CPU time in the loop. Three measurements per
// variant:
//   loop      the program's own clock around the loop (start-up and exit excluded)
//   loop CPU  the CPU time the program spent in the loop: other programs on a loaded machine
//             disturb it far less than the wall clock
//   process   the whole run as seen from Node: spawn -> exit, plus, when traced, reading and
//             reducing the log (what a user pays)
// Used by open-close.mjs and node-stat.mjs.
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import {
  COMMON_USAGE, assertSuccess, fmtMs, fmtRatio, formatTable, interleavedRounds, isMainModule, loadBaseline, loadTracer, makeTempDir,
  parseCommonArgs, progress, ratio, runMain, runPreloadOnly, runTraced, runUntraced, summarize, verdict,
} from './lib.mjs';

/** The loop's wall and CPU times (ms) the program wrote. */
function readLoop(resultFile) {
  const m = /loop_ns=(\d+) loop_cpu_ns=(\d+)/.exec(readFileSync(resultFile, 'utf8'));
  if (!m) throw new Error(`no loop_ns=N loop_cpu_ns=N in ${resultFile}`);
  rmSync(resultFile, { force: true });
  return { loopMs: Number(m[1]) / 1e6, loopCpuMs: Number(m[2]) / 1e6 };
}

/**
 * A loop benchmark in a fresh work folder: `prepare(work, resultFile)` makes what the loop needs and
 * returns { cmd, readsIn, expectedReads }: `cmd` writes loop_ns=N to resultFile; `readsIn` is the
 * folder whose files the loop reads, and the traced run is checked to report `expectedReads` of
 * them. Returns medians, ratios and summary rows.
 */
export async function loopBenchmark({ name, description, metric, target, prepare }, opts) {
  const tracer = opts.untracedOnly ? null : await loadTracer(opts);
  const baseline = await loadBaseline(opts);
  const work = makeTempDir(`provmake-bench-${name}-`);
  try {
    const resultFile = join(work, 'result.txt');
    const loop = await prepare(work, resultFile);
    return await measureLoop({ name, description, metric, target, tracer, baseline, opts, work, resultFile, ...loop });
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

async function measureLoop({ name, description, metric, cmd, work, resultFile, readsIn, expectedReads, target, tracer, baseline, opts }) {
  const { rounds = 5, warmup = 1, quiet = false } = opts;
  const env = { ...process.env, LC_ALL: 'C' };
  let observed = null;
  const variants = {
    untraced: async () => {
      const r = await runUntraced(cmd, { cwd: work, env });
      assertSuccess('untraced', r, name);
      return { processMs: r.ms, ...readLoop(resultFile) };
    },
  };
  if (tracer) {
    variants.traced = async () => {
      const r = await runTraced(tracer.traceCommand, cmd, { cwd: work, env });
      assertSuccess('traced', r, name);
      const inDir = r.result.deps.reads.filter((p) => p.startsWith(readsIn + '/')).length;
      observed = { readsInDir: inDir, expected: expectedReads, fullyObserved: r.result.fullyObserved, problems: r.result.problems.length };
      return { processMs: r.ms, ...readLoop(resultFile) };
    };
    if (opts.preload !== false) {
      variants.preload = async () => {
        const r = await runPreloadOnly(tracer, cmd, { cwd: work, env });
        assertSuccess('preload-only', r, name);
        return { processMs: r.ms, ...readLoop(resultFile), logMB: r.logBytes / 1e6 };
      };
    }
  }
  if (baseline) {
    variants.baseline = async () => {
      const r = await runTraced(baseline.traceCommand, cmd, { cwd: work, env });
      assertSuccess('baseline', r, name);
      return { processMs: r.ms, ...readLoop(resultFile) };
    };
  }
  const samples = await interleavedRounds(variants, {
    rounds,
    warmup,
    onSample: (v, round) => progress(quiet, `${name}: ${v} ${round < 0 ? 'warm-up' : `round ${round + 1}/${rounds}`}\n`),
  });
  const stat = (v, m) => summarize(samples[v]?.[m] ?? []);
  const result = {
    name,
    description,
    rounds,
    warmup,
    target,
    variants: Object.fromEntries(Object.keys(variants).map((v) => [v, {
      loopMs: stat(v, 'loopMs'),
      loopCpuMs: stat(v, 'loopCpuMs'),
      processMs: stat(v, 'processMs'),
      ...(samples[v].logMB ? { logMB: stat(v, 'logMB') } : {}),
    }])),
    observed,
  };
  const u = result.variants.untraced;
  const t = result.variants.traced;
  const p = result.variants.preload;
  const b = result.variants.baseline;
  result.ratios = {
    loop: t ? ratio(t.loopMs.median, u.loopMs.median) : NaN,
    loopCpu: t ? ratio(t.loopCpuMs.median, u.loopCpuMs.median) : NaN,
    process: t ? ratio(t.processMs.median, u.processMs.median) : NaN,
    ...(p ? { preloadLoop: ratio(p.loopMs.median, u.loopMs.median), preloadProcess: ratio(p.processMs.median, u.processMs.median) } : {}),
    ...(b ? { baselineLoop: ratio(b.loopMs.median, u.loopMs.median), baselineProcess: ratio(b.processMs.median, u.processMs.median) } : {}),
  };
  result.summary = [
    { benchmark: name, metric, base: u.loopMs.median, measured: t?.loopMs.median, ratio: result.ratios.loop, label: 'traced/untraced', target },
    { benchmark: name, metric: 'the same loop, CPU time', base: u.loopCpuMs.median, measured: t?.loopCpuMs.median,
      ratio: result.ratios.loopCpu, label: 'traced/untraced', target },
    { benchmark: name, metric: 'whole process (spawn to exit, + log reduction)', base: u.processMs.median,
      measured: t?.processMs.median, ratio: result.ratios.process, label: 'traced/untraced', target: null },
  ];
  return result;
}

export function printLoopResult(result) {
  const rows = Object.entries(result.variants).map(([name, v]) => [
    name, fmtMs(v.loopMs.median), `${fmtMs(v.loopMs.min)} .. ${fmtMs(v.loopMs.max)}`, fmtMs(v.loopCpuMs.median),
    fmtMs(v.processMs.median), `${fmtMs(v.processMs.min)} .. ${fmtMs(v.processMs.max)}`,
    v.logMB ? `${v.logMB.median.toFixed(1)} MB` : '',
  ]);
  console.log(`${result.name}: ${result.description}; medians of ${result.rounds} interleaved rounds\n`);
  console.log(formatTable(['variant', 'loop', 'loop range', 'loop CPU', 'process', 'process range', 'log'], rows));
  console.log();
  const t = result.target;
  console.log(`traced/untraced, loop:    ${fmtRatio(result.ratios.loop)}  (target <= ${t.value}: ${verdict(result.ratios.loop, t)})`);
  console.log(`traced/untraced, loop CPU: ${fmtRatio(result.ratios.loopCpu)}`);
  console.log(`traced/untraced, process: ${fmtRatio(result.ratios.process)}`);
  if (result.ratios.preloadLoop !== undefined) {
    console.log(`preload-only/untraced:    loop ${fmtRatio(result.ratios.preloadLoop)}, process ${fmtRatio(result.ratios.preloadProcess)}  (LD_PRELOAD and logging, no log reduction)`);
  }
  if (result.ratios.baselineLoop !== undefined) {
    console.log(`baseline/untraced:        loop ${fmtRatio(result.ratios.baselineLoop)}, process ${fmtRatio(result.ratios.baselineProcess)}  (--baseline build, traced)`);
  }
  if (result.observed) {
    const o = result.observed;
    const warn = o.readsInDir < o.expected ? `  WARNING: expected ${o.expected}` : '';
    console.log(`trace check: ${o.readsInDir} of the files reported as reads, fullyObserved=${o.fullyObserved}, problems=${o.problems}${warn}`);
  }
}

/** The command line of a loop benchmark: `node bench/NAME.mjs [--files N] [options]`. */
export async function loopMain(importMetaUrl, name, run, defaultFiles) {
  if (!isMainModule(importMetaUrl)) return;
  await runMain(async () => {
    const opts = parseCommonArgs(process.argv.slice(2), { files: defaultFiles, flags: { '--files': 'files' } });
    if (opts.help) {
      console.log(`usage: node bench/${name}.mjs [--files N] [options]\n${COMMON_USAGE}`);
      return;
    }
    const result = await run({ ...opts, quiet: opts.json });
    if (opts.json) console.log(JSON.stringify(result));
    else printLoopResult(result);
  });
}
