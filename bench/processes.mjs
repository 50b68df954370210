#!/usr/bin/env node
// processes.mjs - cost of tracing process creation: a shell loop that runs /bin/true 1,000 times,
// and one that runs it 10,000 times (a step of many tiny programs, issue 12), traced
// (traceCommand) and untraced (plain spawn), timed from Node, interleaved. The diagnostic
// preload-only variant is measured on the first count only.
// Target: traced/untraced <= 1.3 for each count.
//
//   node bench/processes.mjs [--counts 1000,10000] [--quick] [--rounds N] [--warmup N] [--json] [--no-preload] [--untraced-only]
//     --counts LIST   process counts, one case each (default 1000,10000; --quick: 1000)
//     --count N       one count only
import { rmSync } from 'node:fs';
import {
  BenchSetupError, COMMON_USAGE, assertSuccess, fmtMs, fmtRatio, formatTable, interleavedRounds, isMainModule, loadTracer,
  makeTempDir, progress, ratio, runMain, runPreloadOnly, runTraced, runUntraced, summarize, verdict,
} from './lib.mjs';

export const TARGETS = { wall: { op: '<=', value: 1.3 } };

export async function run(opts = {}) {
  const counts = opts.counts ?? (opts.count ? [opts.count] : opts.quick ? [1000] : [1000, 10_000]);
  const tracer = opts.untracedOnly ? null : await loadTracer(opts);
  const cases = [];
  for (const [i, count] of counts.entries()) cases.push(await runCount(count, { ...opts, preload: opts.preload !== false && i === 0 }, tracer));
  return { name: 'processes', cases, summary: cases.flatMap((c) => c.summary) };
}

async function runCount(count, opts, tracer) {
  const { rounds = 5, warmup = 1, quiet = false } = opts;
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
  for (const [i, c] of result.cases.entries()) {
    if (i > 0) console.log();
    printCase(c);
  }
}

function printCase(result) {
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
    const argv = process.argv.slice(2);
    const at = argv.indexOf('--counts');
    const counts = at >= 0 ? argv.splice(at, 2)[1]?.split(',').map(Number) : undefined;
    if (counts?.some((n) => !Number.isInteger(n) || n < 1)) throw new BenchSetupError('--counts needs whole numbers, e.g. 1000,10000');
    const quick = argv.includes('--quick');
    const opts = parseCommonArgs(argv.filter((a) => a !== '--quick'), { count: 0, flags: { '--count': 'count' } });
    if (opts.help) {
      console.log(`usage: node bench/processes.mjs [--counts N,N | --count N] [--quick] [options]\n${COMMON_USAGE}`);
      return;
    }
    const result = await run({ ...opts, counts, quick, quiet: opts.json });
    if (opts.json) console.log(JSON.stringify(result));
    else printResult(result);
  });
}
