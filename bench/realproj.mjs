#!/usr/bin/env node
// realproj.mjs - issue 12 (7): a real project's own build (default: a copy of
// /work/shared/realproj/lua, Lua's development tree; never built in place), in three parts:
//   (a) build  `make -jN` from clean in a fresh copy per measurement: untraced, traced
//              (traceCommand), `strace -f -o /dev/null`, interleaved. Target: traced <= 1.03x.
//   (b) edits  the same tree as a pipeline generated from `make -n -B --trace` (one step per
//              target: each object, the library, the program; stamps like `touch all` left out) and a
//              test step running the built program on a few of its quick standalone tests. Then a
//              series of one-file edits (a .c file, a header included by a few objects, one included
//              by all; chosen from the compiler's -MM), each applied to the pipeline's tree and to
//              a make-built tree: the steps `prov-make run` reruns must be the targets `make`
//              rebuilds (--trace), and every output must equal a from-scratch build of the edited
//              sources, byte for byte.
//   (c) no-op  the pipeline's no-op run vs `make` with nothing to do, on the same tree, interleaved.
//
//   node bench/realproj.mjs [--project DIR] [--quick] [--only a,b,c] [--jobs N] [--rounds N]
//                           [--warmup N] [--no-strace] [--tests a.lua,b.lua] [--timeout S] [--json]
//     --project DIR  a folder whose `make` builds it from clean (default /work/shared/realproj/lua)
//     --rounds N     measured rounds of (a) and (c) (3 and 5; --quick: 1 and 3) after --warmup N (1; --quick: 0)
//     --tests LIST   the test files for the test step (default: up to 5 files of testes/ or tests/,
//                    named *.<program>, that exit 0 within 0.5 s when run from there)
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { measureBuild } from './cbuild.mjs';
import {
  BenchSetupError, benchMain, fmtMs, fmtRatio, formatTable, makeTempDir, measure, progress, ratio, summarize,
  verdict, which,
} from './lib.mjs';
import { checkCli, countsText, expectAll, provMake } from './prov-cli.mjs';
import { applyEdit, chooseEdits } from './realproj/edits.mjs';
import { MAKE_ENV, compilerIncludes, makeRebuilt, pipelineFromPlan, planFromClean } from './realproj/make-plan.mjs';

export const TARGETS = { traced: { op: '<=', value: 1.03 } };
const DEFAULT_PROJECT = '/work/shared/realproj/lua';
const TEST_STEP = 'test';

function copyTree(from, to) {
  cpSync(from, to, { recursive: true });
  spawnSync('chmod', ['-R', 'u+w', to]);
  return to;
}

/** A writable copy of the project, with whatever make would build from clean removed. */
function cleanMaster(project, work) {
  const master = copyTree(project, join(work, 'master'));
  const plan = planFromClean(master);
  for (const t of [...plan.steps.map((s) => s.target)]) rmSync(join(master, t), { force: true });
  return { master, plan };
}

/** The program the build ends with (the last target that is an executable file) and its tests. */
function chooseTests(builtDir, plan, given) {
  const program = [...plan.steps].reverse().map((s) => s.target)
    .find((t) => existsSync(join(builtDir, t)) && (statSync(join(builtDir, t)).mode & 0o111) !== 0);
  const testDir = ['testes', 'tests', 'test'].find((d) => existsSync(join(builtDir, d)));
  if (!program || !testDir) return null;
  let files = given;
  if (!files) {
    files = [];
    for (const f of readdirSync(join(builtDir, testDir)).filter((n) => n.endsWith(`.${program}`)).sort()) {
      const t0 = Date.now();
      const r = spawnSync(`../${program}`, [f], { cwd: join(builtDir, testDir), stdio: 'ignore', timeout: 2000 });
      if (r.status === 0 && Date.now() - t0 < 500) files.push(f);
      if (files.length === 5) break;
    }
  }
  if (files.length === 0) return null;
  return { program, testDir, files, run: `cd ${testDir} && ${files.map((f) => `../${program} ${f}`).join(' && ')}` };
}

function sameBytes(a, b) {
  try {
    return readFileSync(a).equals(readFileSync(b));
  } catch {
    return false;
  }
}

/** (b): the edit series; returns one row per edit. */
async function editSeries({ master, plan, work, jobs, tests, timeoutMs, quiet }) {
  const pipe = copyTree(master, join(work, 'pipeline'));
  const mk = join(work, 'make');
  const includes = compilerIncludes(plan, master);
  const edits = chooseEdits(includes);
  writeFileSync(join(pipe, 'pipeline.yml'), pipelineFromPlan(plan, tests ? [{ name: TEST_STEP, run: tests.run }] : []));
  const first = expectAll(await provMake(['run', '--json', '-j', String(jobs)], { cwd: pipe, timeoutMs }), 'ran', 'first run of the pipeline');
  progress(quiet, `realproj: pipeline of ${first.report.steps.length} steps recorded in ${fmtMs(first.ms)}\n`);
  const second = expectAll(await provMake(['run', '--json'], { cwd: pipe, timeoutMs }), 'skipped', 'the run after the first');
  progress(quiet, `realproj: the run after it: ${fmtMs(second.ms)}, ${countsText(second.counts)}\n`);
  const rows = [];
  for (const [i, edit] of edits.entries()) {
    const n = i + 1;
    applyEdit(mk, edit.file, n);
    applyEdit(pipe, edit.file, n);
    const made = makeRebuilt(mk, jobs);
    const program = tests && join(pipe, tests.program);
    const programBefore = program && readFileSync(program);
    const r = await provMake(['run', '--json', '-j', String(jobs)], { cwd: pipe, timeoutMs });
    if (r.failure) throw new Error(`run after editing ${edit.file}: ${r.failure}`);
    const ran = r.report.steps.filter((s) => s.status === 'ran').map((s) => s.name);
    const makeSet = new Set(made.targets.filter((t) => !plan.stamps.includes(t)));
    const ranSet = new Set(ran.filter((s) => s !== TEST_STEP));
    const scratch = copyTree(master, join(work, `scratch-${n}`));
    for (let k = 0; k <= i; k++) applyEdit(scratch, edits[k].file, k + 1);
    makeRebuilt(scratch, jobs);
    const differing = plan.steps.map((s) => s.target).filter((t) => !sameBytes(join(scratch, t), join(pipe, t)));
    rmSync(scratch, { recursive: true, force: true });
    rows.push({
      ...edit,
      includedBy: edit.includedBy.length,
      make: [...makeSet].sort(),
      prov: [...ranSet].sort(),
      onlyMake: [...makeSet].filter((t) => !ranSet.has(t)).sort(),
      onlyProv: [...ranSet].filter((t) => !makeSet.has(t)).sort(),
      testRan: ran.includes(TEST_STEP),
      programChanged: program ? !readFileSync(program).equals(programBefore) : null,
      differing,
      makeMs: made.ms,
      provMs: r.ms,
      counts: r.counts,
    });
    progress(quiet, `realproj: edit ${n} (${edit.kind}: ${edit.file}): make rebuilt ${makeSet.size}, prov-make ran ${ranSet.size}${ran.includes(TEST_STEP) ? ' + test' : ''}; ${differing.length ? `DIFFERENT from scratch: ${differing.join(' ')}` : 'outputs equal a from-scratch build'}\n`);
  }
  return { pipe, mk, edits: rows };
}

/** (c): no-op of the pipeline vs make with nothing to do, interleaved. */
async function noopRounds({ pipe, mk, rounds, warmup, timeoutMs, quiet }) {
  await sleep(1100);
  expectAll(await provMake(['run', '--json'], { cwd: pipe, timeoutMs }), 'skipped', 'settling run');
  if (spawnSync('make', ['-q'], { cwd: mk, env: MAKE_ENV }).status !== 0) throw new Error(`make -q in ${mk}: the make tree is not up to date`);
  const samples = { prov: [], make: [] };
  for (let round = 0; round < warmup + rounds; round++) {
    const order = round % 2 ? ['make', 'prov'] : ['prov', 'make'];
    for (const v of order) {
      const r = v === 'prov'
        ? expectAll(await provMake(['run', '--json'], { cwd: pipe, timeoutMs }), 'skipped', 'no-op')
        : await measure('make', [], { cwd: mk, env: MAKE_ENV, rss: false });
      if (v === 'make' && r.exitCode !== 0) throw new Error(`make (no-op) failed: ${r.stderr}`);
      if (round >= warmup) samples[v].push(r.ms);
    }
  }
  progress(quiet, `realproj: no-op rounds done\n`);
  return { prov: summarize(samples.prov), make: summarize(samples.make) };
}

export async function run(opts = {}) {
  checkCli();
  if (!which('make')) throw new BenchSetupError('make is not installed');
  const quick = !!opts.quick;
  const project = resolve(opts.project ?? DEFAULT_PROJECT);
  if (!existsSync(project)) throw new BenchSetupError(`--project ${project} does not exist`);
  const parts = new Set((opts.only ?? 'a,b,c').split(','));
  const jobs = opts.jobs ?? 2;
  const quiet = !!opts.quiet;
  const timeoutMs = opts.timeoutMs;
  const work = makeTempDir('provmake-bench-realproj-');
  const load = [loadavg()[0]];
  try {
    const { master, plan } = cleanMaster(project, work);
    progress(quiet, `realproj: ${project}: make would build ${plan.steps.length} targets (stamps left out: ${plan.stamps.join(', ') || 'none'})\n`);
    const result = { name: 'realproj', project, jobs, targets: plan.steps.length, stamps: plan.stamps, load };
    if (parts.has('a')) {
      result.build = await measureBuild({
        ...opts, name: 'realproj', label: basename(project), project: master, expect: plan.steps.map((s) => s.target),
        jobs, preload: false, rounds: opts.rounds ?? (quick ? 1 : 3), warmup: opts.warmup ?? (quick ? 0 : 1),
      });
      load.push(loadavg()[0]);
    }
    if (parts.has('b') || parts.has('c')) {
      const mk = copyTree(master, join(work, 'make'));
      makeRebuilt(mk, jobs);
      result.tests = chooseTests(mk, plan, opts.tests?.split(','));
      const series = await editSeries({ master, plan, work, jobs, tests: result.tests, timeoutMs, quiet });
      result.edits = series.edits;
      load.push(loadavg()[0]);
      if (parts.has('c')) {
        result.noop = await noopRounds({ ...series, rounds: opts.rounds ?? (quick ? 3 : 5), warmup: opts.warmup ?? 1, timeoutMs, quiet });
        load.push(loadavg()[0]);
      }
    }
    result.summary = summaryOf(result);
    return result;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

function summaryOf(result) {
  const out = [];
  const b = result.build;
  if (b) {
    const med = (v) => b.variants[v]?.wallMs.median ?? NaN;
    out.push({ benchmark: 'realproj', metric: `${basename(result.project)}: make -j${result.jobs} from clean`, base: med('untraced'), measured: med('traced'), ratio: b.ratios.traced, label: 'traced/untraced', target: TARGETS.traced });
    out.push({ benchmark: 'realproj', metric: 'strace -f vs untraced', base: med('untraced'), measured: med('strace'), ratio: b.ratios.straceOverUntraced, label: 'strace/untraced' });
  }
  if (result.edits) {
    const same = result.edits.filter((e) => e.onlyMake.length === 0 && e.onlyProv.length === 0 && e.differing.length === 0).length;
    out.push({ benchmark: 'realproj', metric: 'one-file edits: reruns = make\'s rebuilds, outputs = from scratch', measured: same, ratio: same, unit: 'count', label: `of ${result.edits.length} edits`, target: { op: '>=', value: result.edits.length } });
  }
  if (result.noop) {
    out.push({ benchmark: 'realproj', metric: 'no-op: prov-make run vs make (nothing to do)', base: result.noop.make.median, measured: result.noop.prov.median, ratio: ratio(result.noop.prov.median, result.noop.make.median), label: 'prov-make/make' });
  }
  return out;
}

export function printResult(result) {
  console.log(`realproj: ${result.project} (${result.targets} make targets; stamps left out: ${result.stamps.join(', ') || 'none'})`);
  if (result.build) {
    const b = result.build;
    console.log(`\n(a) ${b.description}; medians of ${b.rounds} interleaved round(s) after ${b.warmup} discarded\n`);
    console.log(formatTable(['variant', 'wall', 'range'], Object.entries(b.variants).map(([k, v]) => [k, fmtMs(v.wallMs.median), `${fmtMs(v.wallMs.min)} .. ${fmtMs(v.wallMs.max)}`])));
    console.log(`traced/untraced: ${fmtRatio(b.ratios.traced)} (target <= ${TARGETS.traced.value}: ${verdict(b.ratios.traced, TARGETS.traced)}); strace/untraced: ${fmtRatio(b.ratios.straceOverUntraced)}; strace/traced: ${fmtRatio(b.ratios.straceOverTraced)}`);
    if (b.observed?.problems.length || b.observed?.untraced.length) console.log(`  trace problems: ${[...b.observed.problems, ...b.observed.untraced].join('; ')}`);
  }
  if (result.edits) {
    console.log(`\n(b) one-file edits; test step: ${result.tests ? `${result.tests.run}` : 'none (no program or test folder found)'}\n`);
    const list = (xs) => (xs.length > 6 ? `${xs.length}: ${xs.slice(0, 6).join(' ')} ...` : xs.join(' ') || '-');
    console.log(formatTable(['edit', 'file', 'make rebuilt', 'prov-make ran', 'only make', 'only prov-make', 'test ran', 'vs scratch', 'make', 'prov-make'],
      result.edits.map((e) => [e.kind, `${e.file} (in ${e.includedBy})`, list(e.make), list(e.prov), list(e.onlyMake), list(e.onlyProv),
        `${e.testRan}${e.programChanged === null ? '' : ` (program ${e.programChanged ? 'changed' : 'same'})`}`,
        e.differing.length ? `DIFFERENT: ${list(e.differing)}` : 'equal', fmtMs(e.makeMs), fmtMs(e.provMs)])));
  }
  if (result.noop) {
    const { prov, make } = result.noop;
    console.log(`\n(c) no-op: prov-make run ${fmtMs(prov.median)} (${fmtMs(prov.min)} .. ${fmtMs(prov.max)}) vs make ${fmtMs(make.median)} (${fmtMs(make.min)} .. ${fmtMs(make.max)}): ${fmtRatio(ratio(prov.median, make.median))}x`);
  }
  console.log(`\nload average (1 min) before / between parts: ${result.load.map((l) => l.toFixed(2)).join(' ')}`);
}

await benchMain(import.meta.url, { run, printResult }, {
  project: { type: 'string' },
  only: { type: 'string' },
  jobs: { type: 'string', int: true },
  tests: { type: 'string' },
  'no-strace': { type: 'boolean' },
}, (o) => ({ ...o, strace: !o['no-strace'] }));
