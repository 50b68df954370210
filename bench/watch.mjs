#!/usr/bin/env node
// watch.mjs - issue 13: `prov-make watch`.
//
// Latency: a 20-step workspace (step sK copies in/fK.txt), twice: one watched by `prov-make watch`,
// one run by hand. Per round, side by side: edit a traced input of the watched copy and time the
// edit to the affected step's start (its "[sK] running:" line); edit the other copy and time the edit
// plus a fresh `prov-make run` to the same line. Then edit an untraced file beside the inputs and
// check that nothing runs. Target: median <= 100 ms over 20 edits; no run for an untraced file.
//
// Set-up: the no-op benchmark's workspace (bench/noop: 5,000 steps, 1,000,000 recorded dependencies
// over 50,000 files; --quick: 500 steps over 5,000 files), recorded once per --dir. Timed: spawn
// `prov-make watch` -> its "watching" line (a no-op run, the watch set derived, the folders watched),
// and its peak RSS then; side by side with a no-op `prov-make run`. Target: < 2 s and < 300 MiB. And
// one edit there per round: the first reader's start (reported; no target).
//
//   node bench/watch.mjs [--quick] [--rounds N (latency edits, 20)] [--setup-rounds N (3)]
//                        [--dir DIR (the no-op workspace: kept, reused; shared with bench/noop.mjs)] [--json]
import { spawn } from 'node:child_process';
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { benchMain, fmtMs, fmtRatio, formatTable, median, ratio, BenchSetupError, repoRoot } from './lib.mjs';
import { recordedWorkspace } from './noop/workspace.mjs';
import { inputPath, stepInputs } from './noop/gen.mjs';
import { timed } from './noop/proc.mjs';

const CLI = join(repoRoot, 'packages/cli/bin/prov-make.js');
const ENV = { ...process.env, CI: 'true' };
export const TARGETS = { latencyMs: { op: '<=', value: 100 }, setupMs: { op: '<=', value: 2000 }, setupMiB: { op: '<=', value: 300 } };
const STEPS = 20;

/** A `prov-make watch` child: its stdout as lines, waiting for the next line that matches. */
function startWatch(cwd) {
  const child = spawn(process.execPath, [CLI, 'watch'], { cwd, env: ENV, stdio: ['ignore', 'pipe', 'pipe'] });
  const waiters = [];
  const lines = [];
  let partial = '';
  let stderr = '';
  child.stderr.on('data', (b) => (stderr += b));
  child.stdout.on('data', (b) => {
    const now = performance.now();
    const parts = (partial + b.toString('utf8')).split('\n');
    partial = parts.pop();
    for (const line of parts) {
      lines.push({ line, at: now });
      for (const w of [...waiters]) if (w.re.test(line)) { waiters.splice(waiters.indexOf(w), 1); w.resolve(now); }
    }
  });
  const exited = new Promise((r) => child.on('close', (code) => r(code)));
  return {
    child, lines, exited,
    stderr: () => stderr,
    /** Resolves with the time the next line matching `re` arrived (or rejects after `ms`). */
    next(re, ms = 60_000) {
      return new Promise((resolve, reject) => {
        const w = { re, resolve };
        waiters.push(w);
        setTimeout(() => {
          if (!waiters.includes(w)) return;
          waiters.splice(waiters.indexOf(w), 1);
          reject(new BenchSetupError(`prov-make watch printed no line matching ${re} within ${ms} ms\n${lines.slice(-20).map((l) => l.line).join('\n')}\n${stderr}`));
        }, ms).unref();
      });
    },
    async stop() {
      child.kill('SIGINT');
      return exited;
    },
  };
}

function makeLatencyWorkspace(dir) {
  mkdirSync(join(dir, 'in'), { recursive: true });
  mkdirSync(join(dir, 'out'), { recursive: true });
  const yml = ['steps:'];
  for (let k = 0; k < STEPS; k++) {
    writeFileSync(join(dir, `in/f${k}.txt`), `input ${k}\n`);
    yml.push(`  s${k}:`, `    run: cat in/f${k}.txt > out/f${k}.txt`);
  }
  writeFileSync(join(dir, 'pipeline.yml'), yml.join('\n') + '\n');
}

async function runStarts(cwd, step) {
  let at = null;
  const t = await timed(process.execPath, [CLI, 'run'], { cwd, env: ENV, onStdoutLine: (l) => { if (at === null && l.startsWith(`[${step}] running:`)) at = performance.now(); } });
  if (t.code !== 0 || at === null) throw new BenchSetupError(`prov-make run did not run ${step}: exit ${t.code}\n${t.stdout}${t.stderr}`);
  return at;
}

async function latency(work, rounds, log) {
  const watched = join(work, 'watched');
  const byHand = join(work, 'by-hand');
  makeLatencyWorkspace(watched);
  makeLatencyWorkspace(byHand);
  const first = await timed(process.execPath, [CLI, 'run'], { cwd: byHand, env: ENV });
  if (first.code !== 0) throw new BenchSetupError(`prov-make run failed in ${byHand}\n${first.stdout}${first.stderr}`);
  const w = startWatch(watched);
  try {
    await w.next(/^prov-make: watching /);
    const watchMs = [];
    const runMs = [];
    let untracedRuns = 0;
    await new Promise((r) => setTimeout(r, 2100)); // past the racy-clean window of the first run's outputs
    for (let i = 0; i < rounds + 1; i++) {
      const k = (i * 7) % STEPS;
      const started = w.next(new RegExp(`^\\[s${k}\\] running:`));
      const t0 = performance.now();
      appendFileSync(join(watched, `in/f${k}.txt`), `edit ${i}\n`);
      const t1 = await started;
      await w.next(/^prov-make: watching /);
      const r0 = performance.now();
      appendFileSync(join(byHand, `in/f${k}.txt`), `edit ${i}\n`);
      const r1 = await runStarts(byHand, `s${k}`);
      if (i > 0) { watchMs.push(t1 - t0); runMs.push(r1 - r0); } // round 0 warms up
      // an untraced file beside the inputs: nothing may run
      const before = w.lines.length;
      writeFileSync(join(watched, `in/untraced-${i}.txt`), 'not read by any step\n');
      await new Promise((r) => setTimeout(r, 300));
      if (w.lines.slice(before).some((l) => / running:/.test(l.line))) untracedRuns++;
      log(`watch: latency round ${i === 0 ? 'warm-up' : `${i}/${rounds}`}: watch ${fmtMs(t1 - t0)}, run ${fmtMs(r1 - r0)}\n`);
    }
    return { watchMs, runMs, untracedRuns };
  } finally {
    await w.stop();
  }
}

/** /proc/PID/status VmHWM (peak RSS) in KiB. */
function peakKiB(pid) {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : NaN;
}

async function setup(dir, params, rounds, log) {
  const { provDir } = await recordedWorkspace(dir, params, { log: (s) => log(s + '\n'), fail: (m) => { throw new BenchSetupError(m); } });
  const setupMs = [];
  const noopMs = [];
  const peakMiB = [];
  const editMs = [];
  for (let i = 0; i < rounds; i++) {
    const noop = await timed(process.execPath, [CLI, 'run', '--json'], { cwd: provDir, env: ENV });
    if (noop.code !== 0 || !JSON.parse(noop.stdout).steps.every((s) => s.status === 'skipped')) throw new BenchSetupError(`the no-op run was not a no-op\n${noop.stdout.slice(0, 500)}`);
    noopMs.push(noop.ms);
    const t0 = performance.now();
    const w = startWatch(provDir);
    try {
      const t1 = await w.next(/^prov-make: watching /, 120_000);
      setupMs.push(t1 - t0);
      peakMiB.push(peakKiB(w.child.pid) / 1024);
      // one edit of an input of a step in the middle of the file: the first step that uses it starts
      const step = Math.floor(params.steps / 2) + i;
      const started = w.next(/^\[s\d+\] running:/, 120_000);
      const e0 = performance.now();
      appendFileSync(join(provDir, inputPath(stepInputs(step, params)[0])), `edit ${i}\n`);
      editMs.push((await started) - e0);
      await w.next(/^prov-make: watching /, 120_000);
    } finally {
      await w.stop();
    }
    // out of the racy-clean window of the edit, so the next run writes the no-op snapshot again
    await new Promise((r) => setTimeout(r, 2100));
    await timed(process.execPath, [CLI, 'run', '--json'], { cwd: provDir, env: ENV });
    log(`watch: set-up round ${i + 1}/${rounds}: ${fmtMs(setupMs.at(-1))}, peak ${peakMiB.at(-1).toFixed(0)} MiB; no-op run ${fmtMs(noopMs.at(-1))}; an edit there ${fmtMs(editMs.at(-1))}\n`);
  }
  return { setupMs, noopMs, peakMiB, editMs };
}

export async function run(opts = {}) {
  const quick = opts.quick ?? false;
  const rounds = opts.latencyRounds ?? opts.rounds ?? 20;
  const setupRounds = opts.setupRounds ?? 3;
  const log = opts.quiet ? () => {} : (s) => process.stderr.write(s);
  const params = quick ? { steps: 500, files: 5000, deps: 200 } : { steps: 5000, files: 50000, deps: 200 };
  const work = mkdtempSync(join(tmpdir(), 'prov-make-watch-'));
  const noopDir = opts.dir ? resolve(opts.dir) : join(work, 'noop');
  try {
    const loadBefore = loadavg().map((x) => x.toFixed(2)).join(' ');
    const lat = await latency(work, rounds, log);
    const set = await setup(noopDir, params, setupRounds, log);
    const result = {
      name: 'watch', params, rounds, setupRounds, loadBefore, loadAfter: loadavg().map((x) => x.toFixed(2)).join(' '),
      latency: { watchMs: lat.watchMs, runMs: lat.runMs, untracedRuns: lat.untracedRuns, watchMedian: median(lat.watchMs), runMedian: median(lat.runMs) },
      setup: { ...set, setupMedian: median(set.setupMs), noopMedian: median(set.noopMs), peakMiB: Math.max(...set.peakMiB), editMedian: median(set.editMs) },
    };
    const l = result.latency;
    const st = result.setup;
    result.summary = [
      { benchmark: 'watch', metric: `edit -> step start, ${STEPS} steps (median of ${rounds})`, base: l.runMedian, measured: l.watchMedian, ratio: l.watchMedian, unit: 'ms', label: 'time', target: TARGETS.latencyMs },
      { benchmark: 'watch', metric: 'the same vs edit + a fresh `prov-make run`', base: l.runMedian, measured: l.watchMedian, ratio: ratio(l.watchMedian, l.runMedian), label: 'watch/run' },
      { benchmark: 'watch', metric: `edits of an untraced file that started a run (of ${rounds + 1})`, ratio: l.untracedRuns, unit: 'count', label: 'runs', target: { op: '<=', value: 0 } },
      { benchmark: 'watch', metric: `set-up, ${params.files.toLocaleString('en')} files: spawn -> watching`, base: st.noopMedian, measured: st.setupMedian, ratio: st.setupMedian, unit: 'ms', label: 'time', target: TARGETS.setupMs },
      { benchmark: 'watch', metric: 'the same vs a no-op `prov-make run`', base: st.noopMedian, measured: st.setupMedian, ratio: ratio(st.setupMedian, st.noopMedian), label: 'setup/no-op' },
      { benchmark: 'watch', metric: `set-up, ${params.files.toLocaleString('en')} files: peak RSS`, ratio: st.peakMiB, unit: 'MiB', label: 'RSS', target: TARGETS.setupMiB },
    ];
    return result;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

const met = (v, t) => (t.op === '<=' ? v <= t.value : v >= t.value) ? 'MET' : 'NOT MET';

export function printResult(r) {
  const l = r.latency;
  const s = r.setup;
  console.log(`watch: edit of a traced input -> the affected step's start, ${STEPS}-step workspace, ${r.rounds} edits, interleaved with a fresh \`prov-make run\` of a twin workspace:`);
  console.log(formatTable(['variant', 'median', 'min', 'max'], [
    ['prov-make watch', fmtMs(l.watchMedian), fmtMs(Math.min(...l.watchMs)), fmtMs(Math.max(...l.watchMs))],
    ['edit + prov-make run', fmtMs(l.runMedian), fmtMs(Math.min(...l.runMs)), fmtMs(Math.max(...l.runMs))],
  ]));
  console.log(`  watch/run ${fmtRatio(ratio(l.watchMedian, l.runMedian))}; target <= ${TARGETS.latencyMs.value} ms: ${met(l.watchMedian, TARGETS.latencyMs)}`);
  console.log(`  edits of an untraced file beside the inputs that started a run: ${l.untracedRuns} of ${r.rounds + 1}${l.untracedRuns ? '  (NOT MET)' : ' (MET: none)'}`);
  console.log(`\nwatch set-up on the no-op workspace: ${r.params.steps} steps, ${(r.params.steps * r.params.deps).toLocaleString('en')} deps, ${r.params.files.toLocaleString('en')} files, ${r.setupRounds} rounds:`);
  console.log(`  spawn -> watching: median ${fmtMs(s.setupMedian)} (min ${fmtMs(Math.min(...s.setupMs))}); no-op \`prov-make run\` median ${fmtMs(s.noopMedian)}; ratio ${fmtRatio(ratio(s.setupMedian, s.noopMedian))}`);
  console.log(`  peak RSS of the watch process: ${s.peakMiB.toFixed(0)} MiB`);
  console.log(`  target < ${TARGETS.setupMs.value / 1000} s: ${met(s.setupMedian, TARGETS.setupMs)}   target < ${TARGETS.setupMiB.value} MiB: ${met(s.peakMiB, TARGETS.setupMiB)}`);
  console.log(`  an edit at that size -> the first step using the file starts: median ${fmtMs(s.editMedian)} (the engine checks every step before it; no target)`);
  console.log(`  load average before: ${r.loadBefore}; after: ${r.loadAfter}`);
}

await benchMain(import.meta.url, { run, printResult }, { 'setup-rounds': { type: 'string', int: true }, dir: { type: 'string' } }, (o) => ({ ...o, setupRounds: o['setup-rounds'] }));
