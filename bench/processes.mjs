#!/usr/bin/env node
// processes.mjs - cost of tracing process creation, traced (traceCommand) and untraced (plain spawn),
// timed from Node, interleaved. Two steps made of tiny processes:
//   loop   a shell loop that runs /bin/true 1,000 times (--count)
//   find   `find -exec /bin/true {} ;` over 10,000 files: 10,000 fork+exec from one process (--many)
// Target: traced/untraced <= 1.3 for both.
//
//   node bench/processes.mjs [--count N] [--many N] [--rounds N] [--warmup N] [--json] [--no-preload] [--untraced-only]
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  COMMON_USAGE, assertSuccess, fmtMs, fmtRatio, formatTable, interleavedRounds, isMainModule, loadBaseline, loadTracer,
  makeTempDir, progress, ratio, runMain, runPreloadOnly, runTraced, runUntraced, summarize, verdict,
} from './lib.mjs';

export const TARGETS = { wall: { op: '<=', value: 1.3 } };

/** One step of `count` processes: untraced, traced and (optionally) preload-only, interleaved. */
async function measure(name, cmd, count, { tracer, baseline, work, env, rounds, warmup, quiet, preload }) {
  let observed = null;
  const variants = {
    untraced: async () => {
      const r = await runUntraced(cmd, { cwd: work, env });
      assertSuccess('untraced', r, name);
      return { wallMs: r.ms };
    },
  };
  if (tracer) {
    variants.traced = async () => {
      const r = await runTraced(tracer.traceCommand, cmd, { cwd: work, env });
      assertSuccess('traced', r, name);
      const exe = r.result.deps.executed;
      observed = {
        trueExecuted: exe.some((p) => /\/true$/.test(p)),
        executed: exe.length,
        fullyObserved: r.result.fullyObserved,
        problems: r.result.problems.length,
      };
      return { wallMs: r.ms };
    };
    if (preload) {
      variants.preload = async () => {
        const r = await runPreloadOnly(tracer, cmd, { cwd: work, env });
        assertSuccess('preload-only', r, name);
        return { wallMs: r.ms, logMB: r.logBytes / 1e6 };
      };
    }
  }
  if (baseline) {
    variants.baseline = async () => {
      const r = await runTraced(baseline.traceCommand, cmd, { cwd: work, env });
      assertSuccess('baseline', r, name);
      return { wallMs: r.ms };
    };
  }
  const samples = await interleavedRounds(variants, {
    rounds,
    warmup,
    onSample: (v, round) => progress(quiet, `processes (${name}): ${v} ${round < 0 ? 'warm-up' : `round ${round + 1}/${rounds}`}\n`),
  });
  const result = {
    name,
    description: typeof cmd === 'string' ? cmd : cmd.join(' '),
    count,
    variants: Object.fromEntries(Object.keys(variants).map((v) => [v, {
      wallMs: summarize(samples[v].wallMs ?? []),
      ...(samples[v].logMB ? { logMB: summarize(samples[v].logMB) } : {}),
    }])),
    observed,
  };
  const u = result.variants.untraced.wallMs.median;
  result.ratios = { wall: result.variants.traced ? ratio(result.variants.traced.wallMs.median, u) : NaN };
  if (result.variants.preload) result.ratios.preload = ratio(result.variants.preload.wallMs.median, u);
  if (result.variants.baseline) result.ratios.baseline = ratio(result.variants.baseline.wallMs.median, u);
  return result;
}

export async function run(opts = {}) {
  const count = opts.count ?? 1000;
  const many = opts.many ?? 10_000;
  const { rounds = 5, warmup = 1, quiet = false } = opts;
  const tracer = opts.untracedOnly ? null : await loadTracer(opts);
  const baseline = await loadBaseline(opts);
  const work = makeTempDir('provmake-bench-processes-');
  const env = { ...process.env, LC_ALL: 'C' };
  try {
    const files = join(work, 'files');
    mkdirSync(files);
    for (let i = 0; i < many; i++) writeFileSync(join(files, String(i)), '');
    const common = { tracer, baseline, work, env, rounds, warmup, quiet };
    const loop = `i=0; while [ $i -lt ${count} ]; do /bin/true; i=$((i+1)); done`;
    const cases = [
      await measure('loop', ['sh', '-c', loop], count, { ...common, preload: opts.preload !== false }),
      // the long case without the diagnostic variant, to keep `pnpm bench` short
      await measure('find', ['find', files, '-type', 'f', '-exec', '/bin/true', '{}', ';'], many, { ...common, preload: false }),
    ];
    return {
      name: 'processes',
      rounds,
      warmup,
      cases,
      summary: cases.map((c) => ({
        benchmark: 'processes',
        metric: c.name === 'loop' ? `${c.count} x /bin/true from sh (wall, from Node)` : `find -exec /bin/true over ${c.count} files (wall)`,
        base: c.variants.untraced.wallMs.median,
        measured: c.variants.traced?.wallMs.median,
        ratio: c.ratios.wall,
        label: 'traced/untraced',
        target: TARGETS.wall,
      })),
    };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

export function printResult(result) {
  for (const c of result.cases) {
    const rows = Object.entries(c.variants).map(([name, v]) => [
      name, fmtMs(v.wallMs.median), `${fmtMs(v.wallMs.min)} .. ${fmtMs(v.wallMs.max)}`,
      fmtMs(v.wallMs.median / c.count * 1000).replace(' ms', ' us') + ' per process',
      v.logMB ? `${v.logMB.median.toFixed(1)} MB` : '',
    ]);
    console.log(`processes (${c.name}): ${c.description}; medians of ${result.rounds} interleaved rounds\n`);
    console.log(formatTable(['variant', 'wall', 'range', 'per process', 'log'], rows));
    console.log();
    console.log(`traced/untraced: ${fmtRatio(c.ratios.wall)}  (target <= ${TARGETS.wall.value}: ${verdict(c.ratios.wall, TARGETS.wall)})`);
    if (c.ratios.preload !== undefined) {
      console.log(`preload-only/untraced: ${fmtRatio(c.ratios.preload)}  (LD_PRELOAD and logging, no log reduction)`);
    }
    if (c.ratios.baseline !== undefined) console.log(`baseline/untraced: ${fmtRatio(c.ratios.baseline)}  (--baseline build, traced)`);
    if (c.observed) {
      const o = c.observed;
      console.log(`trace check: /bin/true among executed=${o.trueExecuted}, ${o.executed} executed files, fullyObserved=${o.fullyObserved}, problems=${o.problems}${o.trueExecuted ? '' : '  WARNING: /bin/true not seen'}`);
    }
    console.log();
  }
}

if (isMainModule(import.meta.url)) {
  await runMain(async () => {
    const { parseCommonArgs } = await import('./lib.mjs');
    const opts = parseCommonArgs(process.argv.slice(2), { count: 1000, many: 10_000, flags: { '--count': 'count', '--many': 'many' } });
    if (opts.help) {
      console.log(`usage: node bench/processes.mjs [--count N] [--many N] [options]\n${COMMON_USAGE}`);
      return;
    }
    const result = await run({ ...opts, quiet: opts.json });
    if (opts.json) console.log(JSON.stringify(result));
    else printResult(result);
  });
}
