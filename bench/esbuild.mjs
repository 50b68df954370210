#!/usr/bin/env node
// esbuild.mjs - esbuild 0.28 (the static Go program npm installs) bundling a generated TypeScript
// project of ~200 modules: untraced vs traced (traceCommand: the ptrace + seccomp supervisor, since
// LD_PRELOAD cannot enter a static Go program) vs `strace -f -o /dev/null`, interleaved, timed from
// Node. Also counts the supervisor's ptrace stops (seccomp stops, call exits, signals, events) against
// the system calls esbuild makes (`strace -f -c`), to show what the seccomp filter saves, and, with
// `perf stat` (task-clock of the command and every process it starts, the tracer too), the CPU time
// each variant takes: far steadier than wall time on a loaded machine. --baseline DIST traces with
// another build side by side (a `baseline` variant).
// Targets: traced/untraced <= 1.10.
//
//   node bench/esbuild.mjs [--modules N] [--rounds N] [--warmup N] [--json] [--no-strace] [--no-cpu] [--untraced-only] [--baseline DIST]
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  BenchSetupError, COMMON_USAGE, assertSuccess, ensureDir, fmtMs, fmtRatio, formatTable, interleavedRounds, isMainModule,
  loadBaseline, loadTracer, makeTempDir, parseCommonArgs, progress, ratio, repoRoot, runMain, runTraced, runUntraced, summarize, verdict,
} from './lib.mjs';

export const TARGETS = { traced: { op: '<=', value: 1.1 } };

const ESBUILD_LINK = join(repoRoot, 'node_modules/esbuild/bin/esbuild');
const STRACE = '/usr/bin/strace';
const PERF = '/usr/bin/perf';
/** The calls esbuild makes among those the supervisor's filter stops (native/supervisor-calls.c). */
const FILE_CALLS = ['openat', 'newfstatat', 'statx', 'getdents64', 'readlinkat', 'faccessat2', 'mkdirat', 'renameat', 'unlinkat', 'execve'];

/** A project of `modules` TypeScript modules in folders of 10, each importing two earlier ones
 * (some through a folder's index.ts), all reached from src/main.ts. */
export function generateProject(modules) {
  const dir = makeTempDir('provmake-bench-esbuild-');
  const write = (rel, text) => {
    ensureDir(join(dir, rel, '..'));
    writeFileSync(join(dir, rel), text);
  };
  const folder = (i) => `src/part${Math.floor(i / 10)}`;
  for (let i = 0; i < modules; i++) {
    const deps = [i - 1, Math.floor(i / 2) - 1].filter((d) => d >= 0 && d !== i);
    const imports = [...new Set(deps)].map((d) => `import { value${d} } from '../${folder(d).slice(4)}/m${d}';`).join('\n');
    const sum = deps.map((d) => `value${d}`).join(' + ') || '0';
    write(`${folder(i)}/m${i}.ts`, `${imports}
export interface Shape${i} { id: number; name: string; tags: readonly string[] }
export const value${i}: number = ${sum} + ${i};
export function describe${i}(s: Shape${i}): string {
  return \`\${s.id}:\${s.name}:\${s.tags.join(',')}:\${value${i}}\`;
}
`);
  }
  for (let p = 0; p * 10 < modules; p++) {
    const members = Array.from({ length: Math.min(10, modules - p * 10) }, (_, k) => p * 10 + k);
    write(`src/part${p}/index.ts`, members.map((i) => `export { describe${i} } from './m${i}';`).join('\n') + '\n');
  }
  const parts = Math.ceil(modules / 10);
  write('src/main.ts', Array.from({ length: parts }, (_, p) => `import * as part${p} from './part${p}';`).join('\n') +
    `\nconsole.log(${Array.from({ length: parts }, (_, p) => `Object.keys(part${p}).length`).join(' + ')});\n`);
  write('tsconfig.json', '{ "compilerOptions": { "strict": true, "target": "es2022" } }\n');
  write('package.json', '{ "name": "bench-esbuild", "private": true }\n');
  return dir;
}

/** esbuild's system calls by name, from `strace -f -c` (null without strace). */
function syscallCounts(command, cwd) {
  const dir = makeTempDir('provmake-bench-strace-');
  const out = join(dir, 'counts.txt');
  const r = spawnSync(STRACE, ['-f', '-c', '-o', out, ...command], { cwd, encoding: 'utf8' });
  const text = r.status === 0 ? readFileSync(out, 'utf8') : null;
  rmSync(dir, { recursive: true, force: true });
  if (text === null) return null;
  const counts = {};
  for (const line of text.split('\n')) {
    const m = /^\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)\s+(?:\d+\s+)?(\w+)\s*$/.exec(line);
    if (m && m[2] !== 'total') counts[m[2]] = Number(m[1]);
  }
  return counts;
}

/** The supervisor's stop counts for one traced run. */
async function stopsOf(tracer, command, cwd) {
  const stats = join(makeTempDir('provmake-bench-stops-'), 'stops.txt');
  const r = await runTraced(tracer.traceCommand, command, { cwd, env: { ...process.env, PROV_MAKE_SUPERVISOR_STATS: stats } });
  assertSuccess('traced (stop count)', r, command.join(' '));
  // the supervisor writes them as it ends, just after the program
  for (let i = 0; i < 100 && !existsSync(stats); i++) await new Promise((r) => setTimeout(r, 20));
  const line = existsSync(stats) ? readFileSync(stats, 'utf8').trim() : '';
  rmSync(join(stats, '..'), { recursive: true, force: true });
  const f = line.split(' ');
  return Object.fromEntries(Array.from({ length: f.length / 2 }, (_, i) => [f[2 * i], Number(f[2 * i + 1])]));
}

/** The CPU time (ms) of one run of `command` as `run` runs it, from `perf stat`: the command and
 * everything it starts (counters follow forks: the supervisor's tracer too). */
async function cpuOf(run, command) {
  const dir = makeTempDir('provmake-bench-cpu-');
  const out = join(dir, 'stat.csv');
  try {
    await run([PERF, 'stat', '-x,', '-e', 'task-clock', '-o', out, '--', ...command]);
    const m = /^([\d.]+),msec,task-clock/m.exec(existsSync(out) ? readFileSync(out, 'utf8') : '');
    return m ? Number(m[1]) : NaN;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Interleaved rounds of CPU time per variant (run: how the variant runs a command), or null without perf. */
async function cpuRounds(runs, command, { rounds, warmup, quiet }) {
  if (!existsSync(PERF) || spawnSync(PERF, ['stat', '-x,', '-e', 'task-clock', '--', 'true']).status !== 0) return null;
  const variants = Object.fromEntries(Object.entries(runs).map(([name, run]) => [name, async () => ({ cpuMs: await cpuOf(run, command) })]));
  const samples = await interleavedRounds(variants, {
    rounds,
    warmup,
    onSample: (name, round, m) => progress(quiet, `esbuild: ${name} CPU ${round < 0 ? 'warm-up' : `round ${round + 1}/${rounds}`}: ${fmtMs(m.cpuMs)}\n`),
  });
  return Object.fromEntries(Object.keys(runs).map((name) => [name, summarize(samples[name].cpuMs ?? [])]));
}

export async function run(opts = {}) {
  const modules = opts.modules ?? 200;
  const { rounds = 5, warmup = 1, quiet = false } = opts;
  if (!existsSync(ESBUILD_LINK)) throw new BenchSetupError(`${ESBUILD_LINK} is missing: run \`pnpm install\` at the repository root`);
  const esbuild = realpathSync(ESBUILD_LINK);
  const tracer = opts.untracedOnly ? null : await loadTracer(opts);
  const baseline = await loadBaseline(opts);
  const useStrace = opts.strace !== false && existsSync(STRACE);
  const project = generateProject(modules);
  const command = [esbuild, 'src/main.ts', '--bundle', '--platform=node', '--outfile=dist/out.js', '--log-level=warning'];
  let observed = null;
  try {
    const variants = {
      untraced: async () => {
        const r = await runUntraced(command, { cwd: project });
        assertSuccess('untraced', r, 'esbuild');
        return { wallMs: r.ms };
      },
    };
    if (tracer) {
      variants.traced = async () => {
        const r = await runTraced(tracer.traceCommand, command, { cwd: project });
        assertSuccess('traced', r, 'esbuild');
        const deps = r.result.deps;
        observed = {
          reads: deps.reads.filter((p) => p.startsWith(project)).length,
          writes: deps.writes.length,
          listed: deps.listed.length,
          absent: deps.absent.length,
          fullyObserved: r.result.fullyObserved,
          untraced: deps.untraced.map((u) => `${u.path} (${u.reason})`),
        };
        return { wallMs: r.ms };
      };
    }
    if (baseline) {
      variants.baseline = async () => {
        const r = await runTraced(baseline.traceCommand, command, { cwd: project });
        assertSuccess('baseline', r, 'esbuild');
        return { wallMs: r.ms };
      };
    }
    if (useStrace) {
      variants.strace = async () => {
        const r = await runUntraced([STRACE, '-f', '-o', '/dev/null', ...command], { cwd: project });
        assertSuccess('strace', r, 'strace -f esbuild');
        return { wallMs: r.ms };
      };
    }
    const samples = await interleavedRounds(variants, {
      rounds,
      warmup,
      onSample: (name, round, m) => progress(quiet, `esbuild: ${name} ${round < 0 ? 'warm-up' : `round ${round + 1}/${rounds}`}: ${fmtMs(m.wallMs)}\n`),
    });
    const result = {
      name: 'esbuild',
      description: `esbuild ${modules} TypeScript modules --bundle (static Go program: the ptrace + seccomp supervisor)`,
      modules,
      rounds,
      warmup,
      strace: useStrace ? STRACE : null,
      variants: Object.fromEntries(Object.keys(variants).map((v) => [v, { wallMs: summarize(samples[v].wallMs ?? []) }])),
      observed,
    };
    if (tracer) result.stops = await stopsOf(tracer, command, project);
    if (baseline) result.baselineStops = await stopsOf(baseline, command, project);
    if (opts.cpu !== false) {
      const traced = (t) => async (cmd) => assertSuccess('traced (CPU)', await runTraced(t.traceCommand, cmd, { cwd: project }), 'perf stat esbuild');
      const runs = { untraced: async (cmd) => assertSuccess('untraced (CPU)', await runUntraced(cmd, { cwd: project }), 'perf stat esbuild') };
      if (tracer) runs.traced = traced(tracer);
      if (baseline) runs.baseline = traced(baseline);
      result.cpuMs = await cpuRounds(runs, command, { rounds, warmup, quiet });
    }
    if (useStrace) {
      const counts = syscallCounts(command, project);
      if (counts) {
        result.syscalls = Object.values(counts).reduce((a, b) => a + b, 0);
        result.fileCalls = Object.fromEntries(FILE_CALLS.filter((c) => counts[c]).map((c) => [c, counts[c]]));
      }
    }
    const med = (v) => result.variants[v]?.wallMs.median ?? NaN;
    result.ratios = {
      traced: ratio(med('traced'), med('untraced')),
      ...(baseline ? { baseline: ratio(med('baseline'), med('untraced')) } : {}),
      straceOverUntraced: ratio(med('strace'), med('untraced')),
      straceOverTraced: ratio(med('strace'), med('traced')),
    };
    result.summary = [
      { benchmark: 'esbuild', metric: `esbuild ${modules} modules --bundle (wall)`, base: med('untraced'), measured: med('traced'),
        ratio: result.ratios.traced, label: 'traced/untraced', target: TARGETS.traced },
      { benchmark: 'esbuild', metric: 'strace -f vs traced (wall)', base: med('traced'), measured: med('strace'),
        ratio: result.ratios.straceOverTraced, label: 'strace/traced' },
    ];
    return result;
  } finally {
    rmSync(project, { recursive: true, force: true });
  }
}

/** A run's ptrace stops, and the tracer's CPU time. */
function describeStops(s) {
  const total = s.seccomp + s.exits + s.signals + s.events;
  const cpu = s.cpu_us >= 0 ? `; the tracer's CPU: ${fmtMs(s.cpu_us / 1000)} (${(s.cpu_us / Math.max(1, total)).toFixed(1)} us a stop)` : '';
  return `${total} stops = ${s.seccomp} seccomp (${s.recorded} in programs it records) + ${s.exits} call exits + ${s.signals} signals + ` +
    `${s.events} fork/clone/exec/exit events${cpu}`;
}

export function printResult(result) {
  const rows = Object.entries(result.variants).map(([name, v]) => [name, fmtMs(v.wallMs.median), `${fmtMs(v.wallMs.min)} .. ${fmtMs(v.wallMs.max)}`]);
  console.log(`esbuild: ${result.description}; medians of ${result.rounds} interleaved rounds\n`);
  console.log(formatTable(['variant', 'wall', 'range'], rows));
  console.log();
  console.log(`traced/untraced: ${fmtRatio(result.ratios.traced)}  (target <= ${TARGETS.traced.value}: ${verdict(result.ratios.traced, TARGETS.traced)})`);
  if (result.strace) {
    console.log(`strace/untraced: ${fmtRatio(result.ratios.straceOverUntraced)}`);
    console.log(`strace/traced:   ${fmtRatio(result.ratios.straceOverTraced)}`);
  }
  if (result.ratios.baseline !== undefined) console.log(`baseline/untraced: ${fmtRatio(result.ratios.baseline)}  (--baseline build, traced)`);
  const s = result.stops;
  if (s) {
    console.log(`\nsupervisor in one run: ${describeStops(s)}`);
    if (result.baselineStops) console.log(`the baseline's:       ${describeStops(result.baselineStops)}`);
    console.log(`stops per file operation: ${fmtRatio((s.seccomp + s.exits) / Math.max(1, s.seccomp))} (a lookup stops once, an open or a change twice)`);
    if (result.syscalls) {
      console.log(`system calls esbuild made (strace -f -c): ${result.syscalls}; stopped: ${s.seccomp} (${((100 * s.seccomp) / result.syscalls).toFixed(1)}%), the rest ran without a stop`);
      console.log(`the file calls among them: ${Object.entries(result.fileCalls).map(([c, n]) => `${c} ${n}`).join(', ')}`);
    }
  }
  const cpu = result.cpuMs;
  if (cpu) {
    const u = cpu.untraced.median;
    const line = (name) => `${name} ${fmtMs(cpu[name].median)} (${fmtRatio(cpu[name].median / u)}, +${fmtMs(cpu[name].median - u)})`;
    console.log(`\nCPU time, perf stat task-clock, medians of ${result.rounds} interleaved rounds: untraced ${fmtMs(u)}; ` +
      Object.keys(cpu).filter((n) => n !== 'untraced').map(line).join('; '));
    if (s && cpu.traced) console.log(`tracing's CPU per stop: ${((1000 * (cpu.traced.median - u)) / Math.max(1, s.seccomp + s.exits + s.signals + s.events)).toFixed(1)} us (the program's and the tracer's)`);
  }
  if (result.observed) {
    const o = result.observed;
    console.log(`observed: ${o.reads} project reads, ${o.writes} writes, ${o.listed} folders listed, ${o.absent} absent; fully observed: ${o.fullyObserved}`);
  }
}

if (isMainModule(import.meta.url)) {
  await runMain(async () => {
    const argv = process.argv.slice(2);
    const opts = parseCommonArgs(argv.filter((a) => a !== '--no-strace' && a !== '--no-cpu'), { flags: { '--modules': 'modules' } });
    if (argv.includes('--no-strace')) opts.strace = false;
    if (argv.includes('--no-cpu')) opts.cpu = false;
    if (opts.help) {
      console.log(`usage: node bench/esbuild.mjs [--modules N] [--no-strace] [--no-cpu] [options]\n${COMMON_USAGE}`);
      return;
    }
    const result = await run(opts);
    if (opts.json) console.log(JSON.stringify(result));
    else printResult(result);
  });
}
