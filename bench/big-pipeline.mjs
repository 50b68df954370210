#!/usr/bin/env node
// big-pipeline.mjs - issue 12 (2): time and peak RSS of `prov-make status --json` on a never-run
// pipeline, and of `status --json` and a no-op `run --json` once recorded, at 5,000, 10,000 and
// 20,000 steps, each step `cat`ing DEPS of FILES inputs (bench/noop/gen.mjs), so the growth
// (linear or not) is visible. Target: < 500 MB at 20,000 steps x 200 dependencies.
//
// Never-run status: rounds interleaved over the sizes. Recorded: the sizes are recorded in order
// in one workspace, each extending the pipeline of the previous one (so only the new steps run),
// then a settling run, then rounds of status and no-op interleaved, and of a run after a comment
// is added to pipeline.yml (nothing to do, but the no-op snapshot is keyed by the file's bytes,
// so the engine decides step by step). A command that fails (out of
// heap, a timeout) is reported as the figure for its size and not repeated; when a recording
// fails, larger sizes are not recorded.
//
//   node bench/big-pipeline.mjs [--quick] [--steps 5000,10000,20000] [--deps N] [--files N]
//                               [--rounds N] [--warmup N] [--timeout S] [--record-timeout S] [--dir DIR]
//                               [--no-record] [--json]
//     --steps LIST   pipeline sizes (5000,10000,20000; --quick: 500,1000,2000)
//     --deps N       inputs per step (200; --quick: 20); --files N: input files (50000; --quick: 5000)
//     --rounds N     measured rounds (3; --quick: 1) after --warmup N discarded (1)
//     --timeout S    stop any one timed command after S seconds (none)
//     --record-timeout S  stop a recording run after S seconds (none): larger sizes are then not measured
//     --dir DIR      keep the workspace (inputs and recorded state) in DIR and reuse it next time
//     --no-record    measure only the never-run status
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import {
  BenchSetupError, benchMain, fmtMiB, fmtMs, formatTable, makeTempDir, progress, summarize,
} from './lib.mjs';
import { pipelineYaml, writeInputs } from './noop/gen.mjs';
import { checkCli, countsText, expectAll, provMake } from './prov-cli.mjs';

export const TARGETS = { peakMiB: { op: '<=', value: 500 } };

/** Rounds of `fn(size)` over the sizes, interleaved; a size whose command fails is not run again. */
async function roundsOver(sizes, { rounds, warmup, label, quiet }, fn) {
  const out = Object.fromEntries(sizes.map((n) => [n, { ms: [], peakKiB: [], failure: null }]));
  for (let round = 0; round < warmup + rounds; round++) {
    const order = round % 2 ? [...sizes].reverse() : sizes;
    for (const n of order) {
      if (out[n].failure) continue;
      const r = await fn(n);
      progress(quiet, `big-pipeline: ${label} ${n} steps, ${round < warmup ? 'warm-up' : `round ${round - warmup + 1}/${rounds}`}: ${r.failure ?? `${fmtMs(r.ms)}, ${fmtMiB(r.peakKiB)}`}\n`);
      if (r.failure) {
        Object.assign(out[n], { failure: r.failure, ms: [r.ms], peakKiB: r.peakKiB == null ? [] : [r.peakKiB] });
      } else if (round >= warmup) {
        out[n].ms.push(r.ms);
        if (r.peakKiB != null) out[n].peakKiB.push(r.peakKiB);
      }
    }
  }
  return Object.fromEntries(Object.entries(out).map(([n, v]) => [n, { ms: summarize(v.ms), peakKiB: summarize(v.peakKiB), failure: v.failure }]));
}

function neverRunFolder(base, n, params) {
  const dir = join(base, `never-run-${n}`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'pipeline.yml'), pipelineYaml({ ...params, steps: n }));
  return dir;
}

/** Inputs generated once per (files); the marker says which sizes are recorded in .prov-make/. */
function recordingWorkspace(base, params, quiet) {
  const ws = join(base, 'recorded');
  const markerFile = join(ws, 'bench-big-pipeline.json');
  let marker = null;
  try {
    marker = JSON.parse(readFileSync(markerFile, 'utf8'));
  } catch {
    // none yet
  }
  if (!marker || marker.files !== params.files || marker.deps !== params.deps) {
    rmSync(ws, { recursive: true, force: true });
    progress(quiet, `big-pipeline: generating ${params.files} input files in ${ws}\n`);
    writeInputs(ws, params.files);
    marker = { files: params.files, deps: params.deps, recorded: [] };
    writeFileSync(markerFile, JSON.stringify(marker) + '\n');
  }
  return {
    ws,
    isRecorded: (n) => marker.recorded.includes(n),
    markRecorded: (n) => {
      marker.recorded.push(n);
      writeFileSync(markerFile, JSON.stringify(marker) + '\n');
    },
  };
}

/** Records the sizes in order (each run executes only the steps the previous size lacked). */
async function recordSizes(base, sizes, params, { quiet, recordTimeoutMs }) {
  const { ws, isRecorded, markRecorded } = recordingWorkspace(base, params, quiet);
  const record = {};
  for (const n of sizes) {
    writeFileSync(join(ws, 'pipeline.yml'), pipelineYaml({ ...params, steps: n }));
    if (!isRecorded(n)) {
      progress(quiet, `big-pipeline: recording ${n} steps (prov-make run; untimed set-up)...\n`);
      const r = await provMake(['run', '--json'], { cwd: ws, timeoutMs: recordTimeoutMs });
      // a hazard (e.g. a library's ctime changed while a step ran) fails the run, yet records it
      const failure = r.failure && !(r.report?.steps.length === n && !r.counts.failed && !r.counts.blocked) ? r.failure : null;
      record[n] = { ms: r.ms, peakKiB: r.peakKiB, failure, hazard: failure ? null : r.failure, counts: r.counts };
      progress(quiet, `big-pipeline: recording ${n} steps: ${failure ?? `${fmtMs(r.ms)}, ${fmtMiB(r.peakKiB)}, ${countsText(r.counts)}${r.failure ? ` (${r.failure})` : ''}`}\n`);
      if (failure) break;
      markRecorded(n);
    }
    const settle = await provMake(['run', '--json'], { cwd: ws });
    record[n] = { ...record[n], settleMs: settle.ms, settleFailure: settle.failure, settleCounts: settle.counts };
    if (settle.failure) break;
  }
  return { ws, record };
}

export async function run(opts = {}) {
  checkCli();
  const quick = !!opts.quick;
  const sizes = (opts.steps ?? (quick ? '500,1000,2000' : '5000,10000,20000')).split(',').map(Number);
  if (sizes.some((n) => !Number.isInteger(n) || n < 1)) throw new BenchSetupError(`--steps needs whole numbers, not ${opts.steps}`);
  sizes.sort((a, b) => a - b);
  const params = { deps: opts.deps ?? (quick ? 20 : 200), files: opts.files ?? (quick ? 5000 : 50_000) };
  if (params.deps > params.files) throw new BenchSetupError('--deps must not exceed --files');
  const rounds = { rounds: opts.rounds ?? (quick ? 1 : 3), warmup: opts.warmup ?? 1, quiet: !!opts.quiet };
  const base = opts.dir ? resolve(opts.dir) : makeTempDir('provmake-bench-big-pipeline-');
  mkdirSync(base, { recursive: true });
  const timeoutMs = opts.timeoutMs;
  const load = [loadavg()[0]];
  try {
    const neverRun = await roundsOver(sizes, { ...rounds, label: 'status (never run)' },
      (n) => provMake(['status', '--json'], { cwd: neverRunFolder(base, n, params), timeoutMs }));
    load.push(loadavg()[0]);
    let recorded = null;
    if (opts.record !== false) {
      const { ws, record } = await recordSizes(base, sizes, params, { ...rounds, recordTimeoutMs: opts.recordTimeoutMs });
      const ok = sizes.filter((n) => record[n] && !record[n].failure && !record[n].settleFailure);
      recorded = {
        record,
        status: await roundsOver(ok, { ...rounds, label: 'status (recorded)' }, (n) => timedInSize(ws, n, params, ['status', '--json'], 'up-to-date', timeoutMs)),
        noop: await roundsOver(ok, { ...rounds, label: 'no-op run' }, (n) => timedInSize(ws, n, params, ['run', '--json'], 'skipped', timeoutMs)),
        engine: await roundsOver(ok, { ...rounds, label: 'run after a comment edit' }, async (n) => {
          writeFileSync(join(ws, 'pipeline.yml'), `${pipelineYaml({ ...params, steps: n })}# edited ${Date.now()}\n`);
          const r = await provMake(['run', '--json'], { cwd: ws, timeoutMs });
          if (!r.failure) expectAll(r, 'skipped', `run after a comment edit at ${n} steps`);
          return r;
        }),
      };
      load.push(loadavg()[0]);
    }
    return summarizeRun({ sizes, params, rounds, neverRun, recorded, load });
  } finally {
    if (!opts.dir) rmSync(base, { recursive: true, force: true });
  }
}

/** Points the recorded workspace at the size's pipeline (untimed), then times ARGS there. */
async function timedInSize(ws, n, params, args, status, timeoutMs) {
  const file = join(ws, 'pipeline.yml');
  const text = pipelineYaml({ ...params, steps: n });
  if (!existsSync(file) || readFileSync(file, 'utf8') !== text) {
    writeFileSync(file, text);
    // the first run on a changed pipeline file goes through the full engine; time the steady state
    expectAll(await provMake(['run', '--json'], { cwd: ws }), 'skipped', `settling ${n} steps`);
  }
  const r = await provMake(args, { cwd: ws, timeoutMs });
  if (!r.failure) expectAll(r, status, `${args.join(' ')} at ${n} steps`);
  return r;
}

function summarizeRun({ sizes, params, rounds, neverRun, recorded, load }) {
  const largest = sizes[sizes.length - 1];
  const at = (table, n) => table?.[n];
  const mib = (e) => (e && !e.failure ? e.peakKiB.median / 1024 : NaN);
  const summary = [
    { benchmark: 'big-pipeline', metric: `status, never run, ${largest} steps x ${params.deps} deps: peak RSS`, measured: mib(at(neverRun, largest)), ratio: mib(at(neverRun, largest)), unit: 'MiB', label: at(neverRun, largest)?.failure ?? 'peak RSS', target: TARGETS.peakMiB },
    { benchmark: 'big-pipeline', metric: `status, never run, ${largest} steps: time`, measured: at(neverRun, largest)?.ms.median, ratio: at(neverRun, largest)?.ms.median, unit: 'ms', label: 'time' },
    { benchmark: 'big-pipeline', metric: `no-op run, ${largest} steps x ${params.deps} deps: peak RSS`, measured: mib(at(recorded?.noop, largest)), ratio: mib(at(recorded?.noop, largest)), unit: 'MiB', label: at(recorded?.noop, largest)?.failure ?? (at(recorded?.noop, largest) ? 'peak RSS' : 'not recorded'), target: TARGETS.peakMiB },
    { benchmark: 'big-pipeline', metric: `no-op run, ${largest} steps: time`, measured: at(recorded?.noop, largest)?.ms.median, ratio: at(recorded?.noop, largest)?.ms.median, unit: 'ms', label: 'time' },
    { benchmark: 'big-pipeline', metric: `run after a comment edit (engine decides), ${largest} steps: peak RSS`, measured: mib(at(recorded?.engine, largest)), ratio: mib(at(recorded?.engine, largest)), unit: 'MiB', label: at(recorded?.engine, largest)?.failure ?? 'peak RSS', target: TARGETS.peakMiB },
    { benchmark: 'big-pipeline', metric: `run after a comment edit (engine decides), ${largest} steps: time`, measured: at(recorded?.engine, largest)?.ms.median, ratio: at(recorded?.engine, largest)?.ms.median, unit: 'ms', label: 'time' },
  ];
  return { name: 'big-pipeline', sizes, ...params, rounds: rounds.rounds, warmup: rounds.warmup, neverRun, recorded, load, summary };
}

/** Growth between consecutive sizes as an exponent: 1 is linear, 2 quadratic. */
function growth(table, sizes, pick) {
  const out = [];
  for (let i = 1; i < sizes.length; i++) {
    const a = table?.[sizes[i - 1]];
    const b = table?.[sizes[i]];
    if (!a || !b || a.failure || b.failure) continue;
    const e = Math.log(pick(b) / pick(a)) / Math.log(sizes[i] / sizes[i - 1]);
    out.push(`${sizes[i - 1]}->${sizes[i]}: ${e.toFixed(2)}`);
  }
  return out.join(', ') || '-';
}

export function printResult(result) {
  const { sizes, neverRun, recorded } = result;
  console.log(`big-pipeline: steps each cat-ing ${result.deps} of ${result.files} files; medians of ${result.rounds} round(s) after ${result.warmup} discarded\n`);
  const cell = (e) => (!e ? '-' : e.failure ? `FAILED: ${e.failure}` : `${fmtMs(e.ms.median ?? e.ms)} / ${fmtMiB(e.peakKiB.median ?? e.peakKiB)}`);
  const rows = sizes.map((n) => {
    const rec = recorded?.record[n];
    return [n, (n * result.deps).toLocaleString('en'), cell(neverRun[n]),
      !rec ? '-' : rec.failure ? `FAILED: ${rec.failure}` : `${fmtMs(rec.ms ?? NaN)} / ${fmtMiB(rec.peakKiB)}`,
      cell(recorded?.status[n]), cell(recorded?.noop[n]), cell(recorded?.engine[n])];
  });
  console.log(formatTable(['steps', 'deps', 'status, never run', 'recording (new steps)', 'status, recorded', 'no-op run', 'after a comment edit'], rows));
  console.log('(time / peak RSS; "after a comment edit": a comment added to pipeline.yml, so the no-op snapshot cannot answer and the engine decides; nothing runs)\n');
  const ms = (e) => e.ms.median;
  const kib = (e) => e.peakKiB.median;
  console.log(`growth exponent (1 = linear, 2 = quadratic), time:     never-run status ${growth(neverRun, sizes, ms)}; recorded status ${growth(recorded?.status, sizes, ms)}; no-op ${growth(recorded?.noop, sizes, ms)}; after a comment edit ${growth(recorded?.engine, sizes, ms)}`);
  console.log(`growth exponent (1 = linear, 2 = quadratic), peak RSS: never-run status ${growth(neverRun, sizes, kib)}; recorded status ${growth(recorded?.status, sizes, kib)}; no-op ${growth(recorded?.noop, sizes, kib)}; after a comment edit ${growth(recorded?.engine, sizes, kib)}`);
  for (const s of result.summary.filter((x) => x.target)) {
    console.log(`${s.metric}: ${Number.isFinite(s.measured) ? `${s.measured.toFixed(0)} MiB` : s.label} (target < ${s.target.value} MiB: ${Number.isFinite(s.measured) && s.measured < s.target.value ? 'ok' : 'MISSED'})`);
  }
  console.log(`load average (1 min) before / between / after: ${result.load.map((l) => l.toFixed(2)).join(' ')}`);
}

await benchMain(import.meta.url, { run, printResult }, {
  steps: { type: 'string' },
  deps: { type: 'string', int: true },
  files: { type: 'string', int: true },
  dir: { type: 'string' },
  'no-record': { type: 'boolean' },
  'record-timeout': { type: 'string', int: true },
}, (o) => ({ ...o, record: !o['no-record'], recordTimeoutMs: o['record-timeout'] && o['record-timeout'] * 1000 }));
