#!/usr/bin/env node
// processes.mjs - cost of tracing process creation: a shell loop that runs /bin/true 1,000 times,
// traced (traceCommand) and untraced (plain spawn), timed from Node, interleaved.
// Target: traced/untraced <= 1.3.
//
//   node bench/processes.mjs [--count N] [--rounds N] [--warmup N] [--json] [--no-preload] [--untraced-only]
import { rmSync } from 'node:fs';
import {
  COMMON_USAGE, assertSuccess, fmtMs, fmtRatio, formatTable, interleavedRounds, isMainModule, loadTracer,
  makeTempDir, progress, ratio, runMain, runPreloadOnly, runTraced, runUntraced, summarize, verdict,
} from './lib.mjs';

export const TARGETS = { wall: { op: '<=', value: 1.3 } };

export async function run(opts = {}) {
  const count = opts.count ?? 1000;
  const { rounds = 5, warmup = 1, quiet = false } = opts;
  const tracer = opts.untracedOnly ? null : await loadTracer(opts);
  const script = `i=0; while [ $i -lt ${count} ]; do /bin/true; i=$((i+1)); done`;
  const cmd = ['sh', '-c', script];
  const work = makeTempDir('provmake-bench-processes-');
  const env = { ...process.env, LC_ALL: 'C' };
  let observed = null;
  try {
    const variants = {
      untraced: async () => {
        const r = await runUntraced(cmd, { cwd: work, env });
        assertSuccess('untraced', r, 'the /bin/true loop');
        return { wallMs: r.ms };
      },
    };
    if (tracer) {
      variants.traced = async () => {
        const r = await runTraced(tracer.traceCommand, cmd, { cwd: work, env });
        assertSuccess('traced', r, 'the /bin/true loop');
        const exe = r.result.deps.executed;
        observed = {
          trueExecuted: exe.some((p) => /\/true$/.test(p)),
          executed: exe.length,
          fullyObserved: r.result.fullyObserved,
          problems: r.result.problems.length,
        };
        return { wallMs: r.ms };
      };
      if (opts.preload !== false) {
        variants.preload = async () => {
          const r = await runPreloadOnly(tracer.soPath, cmd, { cwd: work, env });
          assertSuccess('preload-only', r, 'the /bin/true loop');
          return { wallMs: r.ms, logMB: r.logBytes / 1e6 };
        };
      }
    }
    const samples = await interleavedRounds(variants, {
      rounds,
      warmup,
      onSample: (name, round) => progress(quiet, `processes: ${name} ${round < 0 ? 'warm-up' : `round ${round + 1}/${rounds}`}\n`),
    });
    const result = {
      name: 'processes',
      description: `sh -c '${script}'`,
      count,
      rounds,
      warmup,
      variants: Object.fromEntries(Object.keys(variants).map((v) => [v, {
        wallMs: summarize(samples[v].wallMs ?? []),
        ...(samples[v].logMB ? { logMB: summarize(samples[v].logMB) } : {}),
      }])),
      observed,
    };
    const u = result.variants.untraced.wallMs.median;
    result.ratios = { wall: result.variants.traced ? ratio(result.variants.traced.wallMs.median, u) : NaN };
    if (result.variants.preload) result.ratios.preload = ratio(result.variants.preload.wallMs.median, u);
    result.summary = [
      { benchmark: 'processes', metric: `${count} x /bin/true from sh (wall, from Node)`, base: u,
        measured: result.variants.traced?.wallMs.median, ratio: result.ratios.wall, label: 'traced/untraced',
        target: TARGETS.wall },
    ];
    return result;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

export function printResult(result) {
  const rows = Object.entries(result.variants).map(([name, v]) => [
    name, fmtMs(v.wallMs.median), `${fmtMs(v.wallMs.min)} .. ${fmtMs(v.wallMs.max)}`,
    fmtMs(v.wallMs.median / result.count * 1000).replace(' ms', ' us') + ' per process',
    v.logMB ? `${v.logMB.median.toFixed(1)} MB` : '',
  ]);
  console.log(`processes: ${result.description}; medians of ${result.rounds} interleaved rounds\n`);
  console.log(formatTable(['variant', 'wall', 'range', 'per process', 'logs'], rows));
  console.log();
  console.log(`traced/untraced: ${fmtRatio(result.ratios.wall)}  (target <= ${TARGETS.wall.value}: ${verdict(result.ratios.wall, TARGETS.wall)})`);
  if (result.ratios.preload !== undefined) {
    console.log(`preload-only/untraced: ${fmtRatio(result.ratios.preload)}  (LD_PRELOAD and logging, no log reduction)`);
  }
  if (result.observed) {
    const o = result.observed;
    console.log(`trace check: /bin/true among executed=${o.trueExecuted}, ${o.executed} executed files, fullyObserved=${o.fullyObserved}, problems=${o.problems}${o.trueExecuted ? '' : '  WARNING: /bin/true not seen'}`);
  }
}

if (isMainModule(import.meta.url)) {
  await runMain(async () => {
    const { parseCommonArgs } = await import('./lib.mjs');
    const opts = parseCommonArgs(process.argv.slice(2), { count: 1000, flags: { '--count': 'count' } });
    if (opts.help) {
      console.log(`usage: node bench/processes.mjs [--count N] [options]\n${COMMON_USAGE}`);
      return;
    }
    const result = await run({ ...opts, quiet: opts.json });
    if (opts.json) console.log(JSON.stringify(result));
    else printResult(result);
  });
}
