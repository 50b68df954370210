#!/usr/bin/env node
// large-trace.mjs - issue 12 (4): a step of 100,000 opens of distinct files (bench/src/openloop.c),
// what the user waits in total, interleaved round by round:
//   untraced    plain spawn, spawn to exit
//   traced      traceCommand in a process of its own (bench/trace-child.mjs): spawn to result,
//               the logs read and reduced; and that launcher's peak RSS
//   baseline    (--baseline DIST) the same through another build of the interposer
//   prov-make   `prov-make run --json` of a one-step pipeline running the same command, fresh state
//               each round (the step runs: trace, versions of 100,000 inputs, stores); peak RSS
// Target: traced <= 1.3x untraced (what it was: 2.95x).
//
//   node bench/large-trace.mjs [--quick] [--files N] [--rounds N] [--warmup N] [--timeout S] [--json] [--baseline DIST]
//     --files N    distinct files opened (100000; --quick: 10000)
//     --rounds N   measured rounds (5; --quick: 1) after --warmup N discarded (1)
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { compileOpenloop } from './open-close.mjs';
import {
  benchMain, failureOf, fmtMiB, fmtMs, fmtRatio, formatTable, interleavedRounds, loadTracer, makeTempDir, measure,
  progress, ratio, repoRoot, summarize, verdict,
} from './lib.mjs';
import { checkCli, expectAll, provMake } from './prov-cli.mjs';

export const TARGETS = { traced: { op: '<=', value: 1.3 } };

const TRACE_CHILD = join(repoRoot, 'bench/trace-child.mjs');

function setup(work, files) {
  const bin = compileOpenloop(work);
  const ws = join(work, 'ws');
  mkdirSync(join(ws, 'files'), { recursive: true });
  const created = spawnSync(bin, ['create', join(ws, 'files'), String(files)], { stdio: 'inherit' });
  if (created.status !== 0) throw new Error('openloop create failed');
  writeFileSync(join(ws, 'pipeline.yml'), `steps:\n  opens:\n    run: ${bin} loop files ${files} result.txt\n`);
  return { ws, cmd: [bin, 'loop', 'files', String(files), 'result.txt'] };
}

export async function run(opts = {}) {
  checkCli();
  await loadTracer(opts);
  const quick = !!opts.quick;
  const files = opts.files ?? (quick ? 10_000 : 100_000);
  const rounds = opts.rounds ?? (quick ? 1 : 5);
  const warmup = opts.warmup ?? 1;
  const quiet = !!opts.quiet;
  const timeoutMs = opts.timeoutMs;
  const work = makeTempDir('provmake-bench-large-trace-');
  const load = [loadavg()[0]];
  let observed = null;
  try {
    progress(quiet, `large-trace: creating ${files} files\n`);
    const { ws, cmd } = setup(work, files);
    const check = (r, what) => {
      const failure = r.failure ?? failureOf(r);
      if (failure) throw new Error(`${what}: ${failure}`);
      return r;
    };
    const traceChild = async (dist) => {
      const r = check(await measure(process.execPath, [TRACE_CHILD, ...dist, '--', ...cmd], { cwd: ws, timeoutMs, rss: false }), 'traceCommand');
      const child = JSON.parse(r.stdout);
      if (child.exitCode !== 0) throw new Error(`traced openloop exited ${child.exitCode}`);
      return child;
    };
    const variants = {
      untraced: async () => ({ ms: check(await measure(cmd[0], cmd.slice(1), { cwd: ws, timeoutMs, rss: false }), 'untraced').ms }),
      traced: async () => {
        const child = await traceChild([]);
        observed = { reads: child.reads, fullyObserved: child.fullyObserved, launcherBeforeKiB: child.rssBeforeKiB };
        return { ms: child.ms, peakKiB: child.maxRssKiB };
      },
      ...(opts.baseline ? { baseline: async () => traceChild(['--dist', opts.baseline]).then((c) => ({ ms: c.ms, peakKiB: c.maxRssKiB })) } : {}),
      provMake: async () => {
        rmSync(join(ws, '.prov-make'), { recursive: true, force: true });
        const r = expectAll(await provMake(['run', '--json'], { cwd: ws, timeoutMs }), 'ran', 'prov-make run');
        return { ms: r.ms, peakKiB: r.peakKiB };
      },
    };
    const samples = await interleavedRounds(variants, {
      rounds,
      warmup,
      onSample: (name, round, m) => progress(quiet, `large-trace: ${name} ${round < 0 ? 'warm-up' : `round ${round + 1}/${rounds}`}: ${fmtMs(m.ms)}${m.peakKiB ? `, peak RSS ${fmtMiB(m.peakKiB)}` : ''}\n`),
    });
    load.push(loadavg()[0]);
    const stat = (v, m) => summarize(samples[v]?.[m] ?? []);
    const result = {
      name: 'large-trace', files, rounds, warmup, observed, load,
      variants: Object.fromEntries(Object.keys(variants).map((v) => [v, { ms: stat(v, 'ms'), peakKiB: stat(v, 'peakKiB') }])),
    };
    const med = (v) => result.variants[v].ms.median;
    result.ratios = { traced: ratio(med('traced'), med('untraced')), provMake: ratio(med('provMake'), med('untraced')), ...(opts.baseline ? { baseline: ratio(med('baseline'), med('untraced')) } : {}) };
    result.summary = [
      { benchmark: 'large-trace', metric: `${files} distinct opens: spawn to result incl. log reduction`, base: med('untraced'), measured: med('traced'), ratio: result.ratios.traced, label: 'traced/untraced', target: TARGETS.traced },
      { benchmark: 'large-trace', metric: 'same step through prov-make run (fresh state)', base: med('untraced'), measured: med('provMake'), ratio: result.ratios.provMake, label: 'prov-make/untraced' },
      { benchmark: 'large-trace', metric: 'peak RSS of the launcher (traceCommand), and of prov-make run', measured: result.variants.traced.peakKiB.median, ratio: result.variants.traced.peakKiB.median, unit: 'KiB', label: `prov-make run ${fmtMiB(result.variants.provMake.peakKiB.median)}` },
    ];
    return result;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

export function printResult(result) {
  console.log(`large-trace: one step opening ${result.files} distinct files; medians of ${result.rounds} interleaved round(s) after ${result.warmup} discarded\n`);
  const labels = { untraced: 'untraced', traced: 'traceCommand (launcher)', baseline: 'traceCommand, --baseline build', provMake: 'prov-make run' };
  const rows = Object.entries(result.variants).map(([k, v]) => [labels[k], fmtMs(v.ms.median), `${fmtMs(v.ms.min)} .. ${fmtMs(v.ms.max)}`, fmtMiB(v.peakKiB.median)]);
  console.log(formatTable(['variant', 'wall', 'range', 'peak RSS'], rows));
  console.log();
  console.log(`traced/untraced:    ${fmtRatio(result.ratios.traced)}  (target <= ${TARGETS.traced.value}: ${verdict(result.ratios.traced, TARGETS.traced)})`);
  if (result.ratios.baseline !== undefined) console.log(`baseline/untraced:  ${fmtRatio(result.ratios.baseline)}  (--baseline build, traced)`);
  console.log(`prov-make/untraced: ${fmtRatio(result.ratios.provMake)}`);
  const o = result.observed;
  if (o) console.log(`trace check: ${o.reads} reads, fullyObserved=${o.fullyObserved}; launcher RSS before tracing ${fmtMiB(o.launcherBeforeKiB)}`);
  console.log(`load average (1 min) before / after: ${result.load.map((l) => l.toFixed(2)).join(' ')}`);
}

await benchMain(import.meta.url, { run, printResult }, { files: { type: 'string', int: true }, baseline: { type: 'string' } }, (o) => ({ ...o, ...(o.baseline ? { baseline: resolve(o.baseline) } : {}) }));
