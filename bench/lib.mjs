// lib.mjs - shared helpers for the prov-make benchmarks: locating the tracer, timing child
// processes from the Node side, interleaved rounds, medians and table printing. No dependencies.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, readdirSync } from 'node:fs';
import { tmpdir, cpus, totalmem, release } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const defaultSoPath = join(repoRoot, 'packages/interposer/native/build/libprovmake.so');
export const defaultDistPath = join(repoRoot, 'packages/interposer/dist/index.js');

/** A problem with the benchmark's setup (missing tracer, compiler...): reported without a stack. */
export class BenchSetupError extends Error {}

// ---- command line ------------------------------------------------------------------------------

export const COMMON_USAGE = `options:
  --rounds N        measured rounds per variant (default 5)
  --warmup N        unmeasured rounds per variant first (default 1)
  --json            print the result as one JSON object instead of tables
  --no-preload      skip the diagnostic "preload only" variant (LD_PRELOAD without log reduction)
  --untraced-only   measure only the untraced (and strace) variants: checks the harness without a tracer
  --so PATH         interposer library to check (default packages/interposer/native/build/libprovmake.so,
                    or $PROV_MAKE_BENCH_SO); traceCommand and the preload-only variant use the library
                    the API names (its interposerLibrary export) when it has one
  --dist PATH       interposer module exporting traceCommand (default packages/interposer/dist/index.js,
                    or $PROV_MAKE_BENCH_DIST)
  --baseline PATH   another build's dist/index.js (e.g. of an earlier commit): measured as a
                    "baseline" traced variant side by side (open-close, processes, node-stat, large-trace)`;

export function parseCommonArgs(argv, extra = {}) {
  const opts = {
    rounds: 5,
    warmup: 1,
    json: false,
    preload: true,
    untracedOnly: false,
    soPath: process.env.PROV_MAKE_BENCH_SO || defaultSoPath,
    distPath: process.env.PROV_MAKE_BENCH_DIST || defaultDistPath,
    ...extra,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => {
      if (i + 1 >= argv.length) throw new BenchSetupError(`${a} needs a value`);
      return argv[++i];
    };
    const int = () => {
      const v = next();
      if (!/^\d+$/.test(v)) throw new BenchSetupError(`${a} needs a whole number, not ${v}`);
      return Number(v);
    };
    if (a === '--rounds') opts.rounds = Math.max(1, int());
    else if (a === '--warmup') opts.warmup = int();
    else if (a === '--json') opts.json = true;
    else if (a === '--no-preload') opts.preload = false;
    else if (a === '--untraced-only') opts.untracedOnly = true;
    else if (a === '--so') opts.soPath = resolve(next());
    else if (a === '--dist') opts.distPath = resolve(next());
    else if (a === '--baseline') opts.baseline = resolve(next());
    else if (a === '-h' || a === '--help') opts.help = true;
    else if (a in (extra.flags ?? {})) opts[extra.flags[a]] = int();
    else throw new BenchSetupError(`unknown option ${a}`);
  }
  return opts;
}

/**
 * Options of the issue-12 benchmarks (node:util parseArgs): --quick, --rounds, --warmup, --json,
 * --timeout SECONDS, -h, plus the script's own. Options typed 'int' are checked whole numbers.
 * The usage text is the header comment of the script (everything before the first import).
 */
export function parseBenchArgs(argv, scriptUrl, own = {}) {
  const common = {
    quick: { type: 'boolean' },
    rounds: { type: 'string', int: true },
    warmup: { type: 'string', int: true },
    timeout: { type: 'string', int: true },
    json: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  };
  const spec = { ...common, ...own };
  let values;
  try {
    ({ values } = parseArgs({ args: argv, options: Object.fromEntries(Object.entries(spec).map(([k, v]) => [k, { type: v.type, ...(v.short ? { short: v.short } : {}) }])), strict: true }));
  } catch (err) {
    throw new BenchSetupError(err.message);
  }
  if (values.help) {
    console.log(usageOf(scriptUrl));
    process.exit(0);
  }
  for (const [k, v] of Object.entries(spec)) {
    if (!v.int || values[k] === undefined) continue;
    if (!/^\d+$/.test(values[k])) throw new BenchSetupError(`--${k} needs a whole number, not ${values[k]}`);
    values[k] = Number(values[k]);
  }
  if (values.timeout !== undefined) values.timeoutMs = values.timeout * 1000;
  return values;
}

function usageOf(scriptUrl) {
  const text = readFileSync(fileURLToPath(scriptUrl), 'utf8');
  return text.slice(0, text.indexOf('\nimport ')).replace(/^#!.*\n/, '').replace(/^\/\/ ?/gm, '');
}

/**
 * The command line of an issue-12 benchmark module, when it is the script being run: parses its
 * options (parseBenchArgs; `adapt` may rename them), runs it and prints its result (or JSON).
 */
export async function benchMain(scriptUrl, { run, printResult }, own = {}, adapt = (o) => o) {
  if (!isMainModule(scriptUrl)) return;
  await runMain(async () => {
    const opts = adapt(parseBenchArgs(process.argv.slice(2), scriptUrl, own));
    const result = await run({ ...opts, quiet: opts.json });
    if (opts.json) console.log(JSON.stringify(result));
    else printResult(result);
  });
}

/** Runs a benchmark's main(): setup problems print a clear message and exit 2. */
export async function runMain(fn) {
  try {
    await fn();
  } catch (err) {
    if (err instanceof BenchSetupError) {
      console.error(`bench: ${err.message}`);
      process.exit(2);
    }
    throw err;
  }
}

export function isMainModule(importMetaUrl) {
  return process.argv[1] !== undefined && importMetaUrl === pathToFileURL(resolve(process.argv[1])).href;
}

// ---- the tracer --------------------------------------------------------------------------------

/** Checks the interposer library (and, unless preloadOnly, the TypeScript API) and loads them. */
export async function loadTracer({ soPath = defaultSoPath, distPath = defaultDistPath } = {}) {
  if (!existsSync(soPath)) {
    throw new BenchSetupError(
      `the interposer library is missing: ${soPath}\n` +
        '  build it with `pnpm install` at the repository root (or `make -C packages/interposer/native`),\n' +
        '  or point --so / $PROV_MAKE_BENCH_SO at a build.');
  }
  const defined = definedDynamicSymbols(soPath);
  if (defined && !defined.has('open') && !defined.has('openat')) {
    throw new BenchSetupError(
      `${soPath} exists but defines neither open() nor openat(): it is not a working interposer (a stub build?)`);
  }
  if (!existsSync(distPath)) {
    throw new BenchSetupError(
      `the interposer's TypeScript API is missing: ${distPath}\n` +
        '  build it with `pnpm install` (or `pnpm -r run build`), or point --dist / $PROV_MAKE_BENCH_DIST at it.');
  }
  let mod;
  try {
    mod = await import(pathToFileURL(distPath).href);
  } catch (err) {
    throw new BenchSetupError(`cannot load ${distPath}: ${err.message}`);
  }
  if (typeof mod.traceCommand !== 'function') {
    throw new BenchSetupError(
      `${distPath} does not export traceCommand(cmd, { cwd, env, stdio }): the interposer API is not built yet`);
  }
  if (mod.interposerLibrary && resolve(mod.interposerLibrary) !== resolve(soPath)) {
    // traceCommand preloads its own library; the "preload only" variant must use the same one.
    soPath = mod.interposerLibrary;
  }
  return { traceCommand: mod.traceCommand, prepareLogDir: mod.prepareLogDir, soPath };
}

/** The tracer of --baseline (another build of the interposer, beside its dist/), or null. */
export async function loadBaseline(opts) {
  if (!opts.baseline || opts.untracedOnly) return null;
  return loadTracer({ distPath: opts.baseline, soPath: join(dirname(opts.baseline), '..', 'native', 'build', 'libprovmake.so') });
}

/** Names of the dynamic symbols a shared library defines, or null when nm is unavailable. */
function definedDynamicSymbols(soPath) {
  const r = spawnSync('nm', ['-D', '--defined-only', soPath], { encoding: 'utf8' });
  if (r.status !== 0 || r.error) return null;
  const names = new Set();
  for (const line of r.stdout.split('\n')) {
    const parts = line.trim().split(/\s+/);
    if (parts.length >= 3) names.add(parts[2].replace(/@.*/, ''));
  }
  return names;
}

// ---- running commands --------------------------------------------------------------------------

export function nowNs() {
  return process.hrtime.bigint();
}

export function msSince(startNs) {
  return Number(process.hrtime.bigint() - startNs) / 1e6;
}

function argvOf(cmd) {
  return typeof cmd === 'string' ? ['/bin/sh', ['-c', cmd]] : [cmd[0], cmd.slice(1)];
}

/** Plain child_process spawn, timed from just before spawn to the child's close. */
export function runUntraced(cmd, { cwd, env = process.env, stdio = 'ignore' } = {}) {
  const [file, args] = argvOf(cmd);
  return new Promise((resolvePromise, reject) => {
    const start = nowNs();
    const child = spawn(file, args, { cwd, env, stdio });
    child.once('error', reject);
    child.once('close', (exitCode, signal) => resolvePromise({ exitCode, signal, ms: msSince(start) }));
  });
}

/** traceCommand (spawn under the interposer, read and reduce the logs), timed the same way. */
export async function runTraced(traceCommand, cmd, { cwd, env = process.env, stdio = 'ignore' } = {}) {
  const start = nowNs();
  const result = await traceCommand(cmd, { cwd, env, stdio });
  const ms = msSince(start);
  return { exitCode: result.exitCode, signal: result.signal, ms, result };
}

/**
 * Diagnostic variant: the same spawn with LD_PRELOAD and a fresh trace log, but no log reading
 * or reduction. The log folder is prepared before and removed after the timed part.
 */
export async function runPreloadOnly(tracer, cmd, { cwd, env = process.env, stdio = 'ignore' } = {}) {
  const logDir = tracer.prepareLogDir(join(makeTempDir('provmake-bench-logs-'), 'logs'));
  try {
    const r = await runUntraced(cmd, {
      cwd,
      stdio,
      env: { ...env, LD_PRELOAD: tracer.soPath, PROV_MAKE_LOG_DIR: logDir, PROV_MAKE_STEP_ROOT: '1' },
    });
    return { ...r, logBytes: statSync(join(logDir, 'trace.log')).size };
  } finally {
    rmSync(dirname(logDir), { recursive: true, force: true });
  }
}

/**
 * Runs one command to its end, as a user would wait for it: wall time from just before spawn to
 * 'close', exit code, captured stdout and stderr, and the peak RSS of the command and the
 * children it waited for (KiB, from `/usr/bin/time -f %M` when installed, else null). With
 * timeoutMs, the process group gets SIGINT (as a Ctrl-C) at the limit and SIGKILL 10 s later, and
 * the result says timedOut. Never rejects on a failing command: callers decide what a failure means.
 */
export function measure(file, args, { cwd, env = process.env, timeoutMs = 0, rss = true } = {}) {
  const rssFile = rss && HAVE_TIME ? join(tmpdir(), `provmake-bench-rss-${process.pid}-${++measureCount}`) : null;
  const [cmd, argv] = rssFile ? [TIME, ['-f', '%M', '-o', rssFile, file, ...args]] : [file, args];
  return new Promise((resolvePromise, reject) => {
    const out = [];
    const err = [];
    let timedOut = false;
    const start = nowNs();
    const child = spawn(cmd, argv, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    const timers = [];
    if (timeoutMs > 0) {
      const signalGroup = (sig) => {
        try {
          process.kill(-child.pid, sig);
        } catch {
          // already gone
        }
      };
      timers.push(setTimeout(() => {
        timedOut = true;
        signalGroup('SIGINT');
        timers.push(setTimeout(() => signalGroup('SIGKILL'), 10_000));
      }, timeoutMs));
    }
    child.stdout.on('data', (b) => out.push(b));
    child.stderr.on('data', (b) => err.push(b));
    child.once('error', reject);
    child.once('close', (exitCode, signal) => {
      const ms = msSince(start);
      for (const t of timers) clearTimeout(t);
      let peakKiB = null;
      if (rssFile) {
        try {
          const last = readFileSync(rssFile, 'utf8').trim().split('\n').pop();
          peakKiB = /^\d+$/.test(last) ? Number(last) : null;
        } catch {
          // time could not write it (killed)
        }
        rmSync(rssFile, { force: true });
      }
      resolvePromise({
        ms, exitCode, signal, timedOut, peakKiB,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
      });
    });
  });
}

const TIME = '/usr/bin/time';
const HAVE_TIME = existsSync(TIME);
let measureCount = 0;

/** One line saying how a measured command failed (null when it succeeded). */
export function failureOf(r) {
  if (r.timedOut) return `timed out after ${fmtMs(r.ms)}`;
  if (r.exitCode === 0 && !r.signal) return null;
  if (/heap out of memory|Reached heap limit/.test(r.stderr)) return `out of heap after ${fmtMs(r.ms)} (exit ${r.exitCode ?? r.signal})`;
  const how = r.signal ? `signal ${r.signal}` : `exit code ${r.exitCode}`;
  const last = r.stderr.trim().split('\n').filter((l) => !/^Command (exited|terminated)/.test(l)).slice(-3).join(' | ');
  return `${how}${last ? `: ${last.slice(0, 300)}` : ''}`;
}

export function fmtMiB(kib) {
  return kib == null || !Number.isFinite(kib) ? '-' : `${(kib / 1024).toFixed(0)} MiB`;
}

export function assertSuccess(variant, r, what) {
  if (r.exitCode !== 0) {
    const how = r.signal ? `signal ${r.signal}` : `exit code ${r.exitCode}`;
    throw new Error(`${variant} run of ${what} failed with ${how}`);
  }
}

export function which(program) {
  for (const dir of (process.env.PATH ?? '/usr/bin:/bin').split(':')) {
    const p = join(dir || '.', program);
    try {
      if (statSync(p).isFile()) return p;
    } catch {
      // not here
    }
  }
  return null;
}

export function makeTempDir(prefix) {
  return mkdtempSync(join(tmpdir(), prefix));
}

export function ensureDir(dir) {
  mkdirSync(dir, { recursive: true });
  return dir;
}

// ---- statistics and rounds ---------------------------------------------------------------------

export function median(values) {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

export function summarize(values) {
  return {
    median: median(values),
    min: values.length ? Math.min(...values) : NaN,
    max: values.length ? Math.max(...values) : NaN,
    samples: values,
  };
}

export function ratio(a, b) {
  return Number.isFinite(a) && Number.isFinite(b) && b > 0 ? a / b : NaN;
}

/**
 * Runs every variant `rounds` times after `warmup` unmeasured rounds, interleaved: each round runs
 * each variant once, and the order rotates from round to round so that no variant always goes first
 * (or always right after the slowest one). `prepare(name)` runs before each measurement, untimed.
 * Each variant returns an object of numbers (metrics); returns { name: { metric: [samples] } }.
 */
export async function interleavedRounds(variants, { rounds = 5, warmup = 1, prepare, onSample } = {}) {
  const names = Object.keys(variants);
  const samples = Object.fromEntries(names.map((n) => [n, {}]));
  const total = warmup + rounds;
  for (let round = 0; round < total; round++) {
    const order = names.map((_, i) => names[(i + round) % names.length]);
    for (const name of order) {
      const ctx = prepare ? await prepare(name, round) : undefined;
      const metrics = await variants[name](ctx, round);
      if (round >= warmup) {
        for (const [metric, value] of Object.entries(metrics)) {
          if (typeof value !== 'number') continue;
          (samples[name][metric] ??= []).push(value);
        }
      }
      onSample?.(name, round - warmup, metrics);
    }
  }
  return samples;
}

// ---- output ------------------------------------------------------------------------------------

export function fmtMs(ms) {
  if (!Number.isFinite(ms)) return '-';
  if (ms >= 10_000) return `${(ms / 1000).toFixed(1)} s`;
  return ms >= 100 ? `${ms.toFixed(0)} ms` : `${ms.toFixed(1)} ms`;
}

export function fmtRatio(r) {
  return Number.isFinite(r) ? r.toFixed(3) : '-';
}

export function verdict(value, target) {
  if (!Number.isFinite(value) || !target) return '-';
  const ok = target.op === '<=' ? value <= target.value : value >= target.value;
  return ok ? 'ok' : 'MISSED';
}

/** Left-aligned text table with a separator line under the header. */
export function formatTable(headers, rows) {
  const cells = [headers, ...rows].map((r) => r.map((c) => String(c ?? '')));
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => r[i].length)));
  const line = (r) => r.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd();
  return [line(cells[0]), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.slice(1).map(line)].join('\n');
}

export function machineInfo() {
  const cpu = cpus();
  return {
    cpu: cpu[0]?.model?.trim() ?? 'unknown',
    cores: cpu.length,
    memGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    kernel: release(),
    node: process.version,
    date: new Date().toISOString(),
  };
}

export function progress(quiet, msg) {
  if (!quiet) process.stderr.write(msg);
}
