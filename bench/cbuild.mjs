#!/usr/bin/env node
// cbuild.mjs - a real build under the tracer: fixtures/cproject `make -j2` from clean, in a fresh
// copy of the project for every measurement, untraced vs traced (traceCommand) vs
// `strace -f -o /dev/null`, interleaved, timed from Node.
// Targets: traced/untraced <= 1.03; strace/traced >= 5 (reported either way).
//
//   node bench/cbuild.mjs [--jobs N] [--rounds N] [--warmup N] [--json] [--no-preload] [--no-strace] [--untraced-only]
import { cpSync, existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import {
  BenchSetupError, COMMON_USAGE, assertSuccess, fmtMs, fmtRatio, formatTable, interleavedRounds, isMainModule,
  loadTracer, makeTempDir, progress, ratio, repoRoot, runMain, runPreloadOnly, runTraced, runUntraced, summarize,
  verdict, which,
} from './lib.mjs';

export const TARGETS = {
  traced: { op: '<=', value: 1.03 },
  strace: { op: '>=', value: 5 },
};

const PROJECT = join(repoRoot, 'fixtures/cproject');
const STRACE = '/usr/bin/strace';

function freshCopy(project, skip) {
  const dir = makeTempDir('provmake-bench-cbuild-');
  cpSync(project, dir, { recursive: true, filter: (src) => !skip || (src !== skip && !src.startsWith(skip + '/')) });
  return dir;
}

export async function run(opts = {}) {
  if (!existsSync(join(PROJECT, 'Makefile'))) throw new BenchSetupError(`${PROJECT}/Makefile is missing`);
  const result = await measureBuild({ ...opts, project: PROJECT, skip: join(PROJECT, 'build'), expect: ['build/bin/ktool'] });
  const jobs = result.jobs;
  result.straceTarget = TARGETS.strace;
  const med = (v) => result.variants[v]?.wallMs.median ?? NaN;
  result.summary = [
    { benchmark: 'cbuild', metric: `make -j${jobs} from clean (wall)`, base: med('untraced'), measured: med('traced'),
      ratio: result.ratios.traced, label: 'traced/untraced', target: TARGETS.traced },
    { benchmark: 'cbuild', metric: 'strace -f vs traced (wall)', base: med('traced'), measured: med('strace'),
      ratio: result.ratios.straceOverTraced, label: 'strace/traced', target: TARGETS.strace },
  ];
  return result;
}

/**
 * `make -jN` from clean in a fresh copy of `project` (less `skip`) for every measurement: untraced,
 * traced (traceCommand), `strace -f -o /dev/null` and preload-only, interleaved. Each build must
 * leave the `expect` files. Returns { variants, ratios, observed, ... }.
 */
export async function measureBuild(opts) {
  const { project, skip, expect } = opts;
  const jobs = opts.jobs ?? 2;
  const { rounds = 5, warmup = 1, quiet = false } = opts;
  if (!which('make')) throw new BenchSetupError('make is not installed');
  const tracer = opts.untracedOnly ? null : await loadTracer(opts);
  const useStrace = opts.strace !== false && existsSync(STRACE);
  const make = ['make', `-j${jobs}`];
  const env = { ...process.env, LC_ALL: 'C' };
  delete env.MAKEFLAGS;
  delete env.MFLAGS;
  let observed = null;

  const timed = async (name, dir, fn) => {
    try {
      const r = await fn(dir);
      assertSuccess(name, r, `make -j${jobs} in ${dir}`);
      const missing = expect.filter((f) => !existsSync(join(dir, f)));
      if (missing.length) throw new Error(`${name}: make succeeded but ${missing.join(', ')} is missing`);
      return r;
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
  const variants = {
    untraced: async (dir) => ({ wallMs: (await timed('untraced', dir, (d) => runUntraced(make, { cwd: d, env }))).ms }),
  };
  if (tracer) {
    variants.traced = async (dir) => {
      const r = await timed('traced', dir, (d) => runTraced(tracer.traceCommand, make, { cwd: d, env }));
      const deps = r.result.deps;
      observed = {
        reads: deps.reads.length,
        writes: deps.writes.length,
        executed: deps.executed.length,
        expectWritten: expect.every((f) => deps.writes.some((p) => p.endsWith(`/${f}`))),
        fullyObserved: r.result.fullyObserved,
        untraced: deps.untraced.map((u) => `${u.path} (${u.reason})`),
        problems: r.result.problems.map((p) => p.message),
      };
      return { wallMs: r.ms };
    };
  }
  if (useStrace) {
    variants.strace = async (dir) => ({
      wallMs: (await timed('strace', dir, (d) => runUntraced([STRACE, '-f', '-o', '/dev/null', ...make], { cwd: d, env }))).ms,
    });
  }
  if (tracer && opts.preload !== false) {
    variants.preload = async (dir) => {
      let logMB = 0;
      const r = await timed('preload-only', dir, async (d) => {
        const x = await runPreloadOnly(tracer, make, { cwd: d, env });
        logMB = x.logBytes / 1e6;
        return x;
      });
      return { wallMs: r.ms, logMB };
    };
  }

  const samples = await interleavedRounds(variants, {
    rounds,
    warmup,
    prepare: () => freshCopy(project, skip),
    onSample: (name, round, m) => progress(quiet, `${opts.name ?? 'cbuild'}: ${name} ${round < 0 ? 'warm-up' : `round ${round + 1}/${rounds}`}: ${fmtMs(m.wallMs)}\n`),
  });
  const result = {
    name: opts.name ?? 'cbuild',
    description: `${opts.label ?? 'fixtures/cproject'}: make -j${jobs} from clean (fresh copy per run)`,
    expect,
    jobs,
    rounds,
    warmup,
    strace: useStrace ? STRACE : null,
    variants: Object.fromEntries(Object.keys(variants).map((v) => [v, {
      wallMs: summarize(samples[v].wallMs ?? []),
      ...(samples[v].logMB ? { logMB: summarize(samples[v].logMB) } : {}),
    }])),
    observed,
  };
  const med = (v) => result.variants[v]?.wallMs.median ?? NaN;
  result.ratios = {
    traced: ratio(med('traced'), med('untraced')),
    straceOverTraced: ratio(med('strace'), med('traced')),
    straceOverUntraced: ratio(med('strace'), med('untraced')),
  };
  if (result.variants.preload) result.ratios.preload = ratio(med('preload'), med('untraced'));
  return result;
}

export function printResult(result) {
  const rows = Object.entries(result.variants).map(([name, v]) => [
    name, fmtMs(v.wallMs.median), `${fmtMs(v.wallMs.min)} .. ${fmtMs(v.wallMs.max)}`,
    v.logMB ? `${v.logMB.median.toFixed(1)} MB` : '',
  ]);
  console.log(`${result.name}: ${result.description}; medians of ${result.rounds} interleaved rounds\n`);
  console.log(formatTable(['variant', 'wall', 'range', 'logs'], rows));
  console.log();
  console.log(`traced/untraced: ${fmtRatio(result.ratios.traced)}  (target <= ${TARGETS.traced.value}: ${verdict(result.ratios.traced, TARGETS.traced)})`);
  if (result.strace) {
    const t = result.straceTarget;
    console.log(`strace/traced:   ${fmtRatio(result.ratios.straceOverTraced)}${t ? `  (target >= ${t.value}: ${verdict(result.ratios.straceOverTraced, t)})` : ''}`);
    console.log(`strace/untraced: ${fmtRatio(result.ratios.straceOverUntraced)}`);
  } else {
    console.log(`strace: not measured (${STRACE} missing or --no-strace)`);
  }
  if (result.ratios.preload !== undefined) {
    console.log(`preload-only/untraced: ${fmtRatio(result.ratios.preload)}  (LD_PRELOAD and logging, no log reduction)`);
  }
  if (result.observed) {
    const o = result.observed;
    console.log(`trace check: ${o.reads} reads, ${o.writes} writes, ${o.executed} executed; ${result.expect.join(', ')} among writes=${o.expectWritten}; fullyObserved=${o.fullyObserved}`);
    if (o.untraced.length) console.log(`  untraced programs: ${o.untraced.join(', ')}`);
    if (o.problems.length) console.log(`  problems: ${o.problems.join('; ')}`);
  }
}

if (isMainModule(import.meta.url)) {
  await runMain(async () => {
    const { parseCommonArgs } = await import('./lib.mjs');
    const argv = process.argv.slice(2);
    const noStrace = argv.includes('--no-strace');
    const opts = parseCommonArgs(argv.filter((a) => a !== '--no-strace'), { jobs: 2, flags: { '--jobs': 'jobs' } });
    if (opts.help) {
      console.log(`usage: node bench/cbuild.mjs [--jobs N] [--no-strace] [options]\n${COMMON_USAGE}`);
      return;
    }
    const result = await run({ ...opts, strace: !noStrace, quiet: opts.json });
    if (opts.json) console.log(JSON.stringify(result));
    else printResult(result);
  });
}
