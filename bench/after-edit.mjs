#!/usr/bin/env node
// after-edit.mjs - issue 12 (5): the run right after one input edit, which the no-op snapshot
// cannot answer, on bench/noop's workspace (5,000 steps, each `cat`ing 200 of 50,000 files; one
// file is read by 20 steps). Per round, in this order:
//   no-op        `prov-make run --json`, nothing changed (the snapshot answers)
//   (edit)       one line appended to in/d00/f0
//   plan         `prov-make status --json`: the decision alone (the 20 readers would run)
//   run          `prov-make run --json`: the decision and the 20 steps (their durations are reported
//                apart: "deciding and recording" is the run's time minus the steps' own)
//   (settle)     one untimed run a second later, so the next no-op is the snapshot's again
// Target: the decision after one edit <= 0.4 s (plan), vs ~0.3 s for the no-op.
//
//   node bench/after-edit.mjs [--quick] [--dir DIR] [--rounds N] [--warmup N] [--timeout S]
//                             [--profile DIR] [--json]
//     --quick        500 steps, 5,000 files (the workspace of `bench/noop.mjs --quick`)
//     --dir DIR      the workspace (shared with `node bench/noop.mjs --dir DIR`): kept, and reused
//                    when it matches; recording 5,000 steps takes minutes. Default: a temp folder
//     --rounds N     measured rounds (5; --quick: 2) after --warmup N discarded (1)
//     --profile DIR  then profile one plan (status after an edit) with node --cpu-prof into DIR
import { appendFileSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  benchMain, fmtMiB, fmtMs, formatTable, makeTempDir, progress, summarize, verdict,
} from './lib.mjs';
import { inputPath, stepInputs } from './noop/gen.mjs';
import { summarise } from './noop/profile-summary.mjs';
import { recordedWorkspace } from './noop/workspace.mjs';
import { checkCli, countsText, expectAll, provMake } from './prov-cli.mjs';

export const TARGETS = { plan: { op: '<=', value: 400 } };
const EDITED = 0;

/** The steps that read file `file`: they, and only they, must run after its edit. */
function readersOf(file, params) {
  const names = [];
  for (let i = 0; i < params.steps; i++) if (stepInputs(i, params).includes(file)) names.push(`s${i}`);
  return names;
}

function expectOnly(r, status, names, what) {
  if (r.failure) throw new Error(`${what}: prov-make failed: ${r.failure}`);
  const want = new Set(names);
  const got = r.report.steps.filter((s) => s.status === status).map((s) => s.name);
  if (got.length !== want.size || got.some((n) => !want.has(n))) {
    throw new Error(`${what}: expected exactly ${names.length} steps ${status} (${names.slice(0, 5).join(', ')}...), got ${countsText(r.counts)}: ${got.slice(0, 5).join(', ')}`);
  }
  return r;
}

export async function run(opts = {}) {
  checkCli();
  const quick = !!opts.quick;
  const params = quick ? { steps: 500, files: 5000, deps: 200 } : { steps: 5000, files: 50_000, deps: 200 };
  const rounds = opts.rounds ?? (quick ? 2 : 5);
  const warmup = opts.warmup ?? 1;
  const quiet = !!opts.quiet;
  const log = (s) => progress(quiet, `${s}\n`);
  const dir = opts.dir ? resolve(opts.dir) : makeTempDir('provmake-bench-after-edit-');
  mkdirSync(dir, { recursive: true });
  const timeoutMs = opts.timeoutMs;
  try {
    const { provDir, setup } = await recordedWorkspace(dir, params, { log, fail: (m) => { throw new Error(m); } });
    const readers = readersOf(EDITED, params);
    const edit = (round) => appendFileSync(join(provDir, inputPath(EDITED)), `edit ${round} ${Date.now()}\n`);
    const prov = (args) => provMake(args, { cwd: provDir, timeoutMs });
    const samples = { noop: [], plan: [], run: [], steps: [], decide: [], noopKiB: [], planKiB: [], runKiB: [] };
    const load = [loadavg()[0]];
    for (let round = 0; round < warmup + rounds; round++) {
      const noop = expectAll(await prov(['run', '--json']), 'skipped', 'no-op');
      edit(round);
      const plan = expectOnly(await prov(['status', '--json']), 'would-run', readers, 'status after the edit');
      const ran = expectOnly(await prov(['run', '--json']), 'ran', readers, 'run after the edit');
      const stepsMs = ran.report.steps.filter((s) => s.status === 'ran').reduce((t, s) => t + s.durationMs, 0);
      log(`after-edit: ${round < warmup ? 'warm-up' : `round ${round - warmup + 1}/${rounds}`}: no-op ${fmtMs(noop.ms)}, plan ${fmtMs(plan.ms)}, run ${fmtMs(ran.ms)} (${readers.length} steps ${fmtMs(stepsMs)})`);
      if (round >= warmup) {
        samples.noop.push(noop.ms);
        samples.plan.push(plan.ms);
        samples.run.push(ran.ms);
        samples.steps.push(stepsMs);
        samples.decide.push(ran.ms - stepsMs);
        for (const [k, r] of [['noopKiB', noop], ['planKiB', plan], ['runKiB', ran]]) if (r.peakKiB != null) samples[k].push(r.peakKiB);
      }
      await sleep(1100);
      expectAll(await prov(['run', '--json']), 'skipped', 'settling run');
      load.push(loadavg()[0]);
    }
    const profile = opts.profile ? await profilePlan(provDir, resolve(opts.profile), () => edit('profile'), readers) : null;
    if (profile) expectOnly(await prov(['run', '--json']), 'ran', readers, 'run after the profiled edit');
    const stats = Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, summarize(v)]));
    return {
      name: 'after-edit', ...params, rounds, warmup, readers: readers.length, setup, load, stats, profile,
      summary: [
        { benchmark: 'after-edit', metric: `${params.steps} steps: plan after one edit (status --json)`, base: stats.noop.median, measured: stats.plan.median, ratio: stats.plan.median, unit: 'ms', label: 'time', target: TARGETS.plan },
        { benchmark: 'after-edit', metric: `run after one edit (${readers.length} steps run), minus their own time`, base: stats.noop.median, measured: stats.decide.median, ratio: stats.decide.median, unit: 'ms', label: 'time', target: TARGETS.plan },
      ],
    };
  } finally {
    if (!opts.dir) rmSync(dir, { recursive: true, force: true });
  }
}

/** One status after an edit under node --cpu-prof; returns the summary of the profile. */
async function profilePlan(provDir, profDir, edit, readers) {
  mkdirSync(profDir, { recursive: true });
  const before = new Set(readdirSync(profDir));
  edit();
  const r = expectOnly(await provMake(['status', '--json'], { cwd: provDir, nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${profDir}`] }), 'would-run', readers, 'profiled status');
  const file = readdirSync(profDir).find((f) => f.endsWith('.cpuprofile') && !before.has(f));
  return { file: join(profDir, file), ms: r.ms, text: summarise(JSON.parse(readFileSync(join(profDir, file), 'utf8')), 20) };
}

export function printResult(result) {
  const s = result.stats;
  console.log(`after-edit: ${result.steps} steps x ${result.deps} deps over ${result.files} files; one input edited (read by ${result.readers} steps); medians of ${result.rounds} round(s) after ${result.warmup} discarded\n`);
  const row = (label, st, kib) => [label, fmtMs(st.median), `${fmtMs(st.min)} .. ${fmtMs(st.max)}`, kib ? fmtMiB(kib.median) : ''];
  console.log(formatTable(['measurement', 'wall', 'range', 'peak RSS'], [
    row('no-op run', s.noop, s.noopKiB),
    row('plan after the edit (status --json)', s.plan, s.planKiB),
    row(`run after the edit (${result.readers} steps run)`, s.run, s.runKiB),
    row('  of which the steps themselves', s.steps),
    row('  deciding and recording (the rest)', s.decide),
  ]));
  console.log();
  console.log(`plan after one edit: ${fmtMs(s.plan.median)} (target <= ${TARGETS.plan.value} ms: ${verdict(s.plan.median, TARGETS.plan)}); plan/no-op ${(s.plan.median / s.noop.median).toFixed(2)}x`);
  console.log(`load average (1 min) over the rounds: ${result.load.map((l) => l.toFixed(2)).join(' ')}`);
  if (result.profile) console.log(`\nprofile of one plan after an edit (${fmtMs(result.profile.ms)} with --cpu-prof): ${result.profile.file}\n${result.profile.text}`);
}

await benchMain(import.meta.url, { run, printResult }, { dir: { type: 'string' }, profile: { type: 'string' } });
