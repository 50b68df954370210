#!/usr/bin/env node
// slurm-dispatch.mjs - what running a step as a Slurm job costs, on the one-node test cluster of
// packages/cli/test/slurm.ts (a real slurmctld + slurmd on this machine):
//  1. submit-to-start latency of one job (sbatch through the Slurm client until the job's first
//     command runs) and submit-to-end-seen (until the client reports it ended), one job at a time,
//     with the test cluster's SchedulerParameters (batch_sched_delay=0) and with Slurm's defaults;
//     `srun true` for reference;
//  2. a pipeline of 100 trivial steps through `prov-make run --force -j N`, with `--executor slurm`
//     vs `--executor local` (traced, recorded, as a user runs it), interleaved rounds, medians; and
//     each step's submit-to-start latency as prov-make records it (the execution's start is the
//     submission; the step writes the time its command started).
//
//   node bench/slurm-dispatch.mjs [--jobs 20] [--steps 100] [-j 2] [--cpus N] [--rounds 3] [--quick]
//
// Needs root (the daemons run as root), slurm-wlm and munge, and `pnpm run build`.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import ts from 'typescript';
import { BenchSetupError, fmtMs, fmtRatio, interleavedRounds, machineInfo, median, repoRoot, runMain } from './lib.mjs';

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
const quick = args.includes('--quick');
const jobs = opt('--jobs', quick ? 5 : 20);
const steps = opt('--steps', quick ? 20 : 100);
const inFlight = opt('-j', 2);
const rounds = opt('--rounds', quick ? 1 : 3);
// CPUs the test node declares (default: this machine's): a job takes one, so this bounds the jobs running at once
const cpus = opt('--cpus', undefined);

/** The test harness is TypeScript (vitest runs it as is): transpile it and what it imports into a temp folder. */
async function importHarness(tmp) {
  for (const name of ['slurm', 'nginx']) {
    const source = readFileSync(join(repoRoot, 'packages/cli/test', `${name}.ts`), 'utf8');
    const { outputText } = ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } });
    writeFileSync(join(tmp, `${name}.js`), outputText);
  }
  return import(pathToFileURL(join(tmp, 'slurm.js')).href);
}

async function importBuilt(rel) {
  try {
    return await import(pathToFileURL(join(repoRoot, rel)).href);
  } catch (err) {
    throw new BenchSetupError(`cannot load ${rel} (run \`pnpm run build\`): ${err.message}`);
  }
}

/** One job at a time: submit -> its command starts (the job prints its start time) -> end seen. */
async function latencies(client, ws, env, count) {
  const start = [];
  const end = [];
  for (let i = 0; i < count; i++) {
    const outputFile = join(ws, `latency-${i}.out`);
    const submitted = Date.now();
    const job = await client.submit({ command: 'date +%s%N', cwd: ws, env, outputFile });
    const result = await job.done;
    if (result.state !== 'COMPLETED') throw new Error(`latency job ${job.id} ended ${result.state}`);
    start.push(Number(BigInt(readFileSync(outputFile, 'utf8').trim()) / 1_000_000n) - submitted);
    end.push(Date.now() - submitted);
  }
  return { start, end };
}

function srunLatency(env, count) {
  const ms = [];
  for (let i = 0; i < count; i++) {
    const t0 = process.hrtime.bigint();
    const r = spawnSync('srun', ['true'], { env });
    if (r.status !== 0) throw new Error(`srun true failed: ${r.stderr}`);
    ms.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return ms;
}

async function measureLatency(client, cluster, label) {
  const ws = mkdtempSync(join(tmpdir(), 'pm-slurm-bench-'));
  const env = { ...process.env, ...cluster.env };
  try {
    const first = await latencies(client(env), ws, env, 1); // the controller schedules nothing in its first ~3 s
    const { start, end } = await latencies(client(env), ws, env, jobs);
    return { label, first: first.start[0], start: median(start), startMax: Math.max(...start), end: median(end), srun: median(srunLatency(env, jobs)) };
  } finally {
    rmSync(ws, { recursive: true, force: true });
  }
}

async function main() {
  if (process.getuid?.() !== 0) throw new BenchSetupError('the test cluster runs its daemons as root: run this as root');
  const tmp = mkdtempSync(join(tmpdir(), 'pm-slurm-harness-'));
  const { startSlurm } = await importHarness(tmp);
  const { SlurmClient } = await importBuilt('packages/cli/dist/executor/slurm.js');
  const client = (env) => new SlurmClient({ env });
  console.log(`machine: ${JSON.stringify(machineInfo())}`);

  // 1. latency, with the test cluster's settings and with Slurm's defaults
  const rows = [];
  for (const [label, schedulerParameters] of [['batch_sched_delay=0 (test cluster)', undefined], ['Slurm defaults (batch_sched_delay=3)', '']]) {
    const t0 = Date.now();
    const cluster = await startSlurm({ schedulerParameters });
    const startup = Date.now() - t0;
    try {
      rows.push({ ...(await measureLatency(client, cluster, label)), startup });
    } finally {
      await cluster.stop();
    }
  }
  console.log(`\nOne job at a time, ${jobs} jobs, medians (the client's default polling: 250 ms to 5 s):`);
  for (const r of rows) {
    console.log(`  ${r.label}: cluster up in ${fmtMs(r.startup)}, first job starts after ${fmtMs(r.first)}; then submit->start ${fmtMs(r.start)} (max ${fmtMs(r.startMax)}), submit->end seen ${fmtMs(r.end)}; srun true ${fmtMs(r.srun)}`);
  }

  // 2. a pipeline of 100 trivial steps through prov-make run, Slurm vs local at the same -j
  const cluster = await startSlurm({ cpus });
  const env = { ...process.env, ...cluster.env };
  const base = mkdtempSync(join(tmpdir(), 'pm-slurm-bench-'));
  try {
    await latencies(client(env), base, env, 1); // past the controller's first seconds
    const ws = pipelineWorkspace(base, steps);
    // traced once, so that -j has the steps side by side (never-traced steps wait for the earlier ones)
    provMake(ws, ['--executor', 'local'], env);
    const samples = await interleavedRounds({
      local: async () => ({ ms: provMake(ws, ['--executor', 'local', '--force', '-j', String(inFlight)], env) }),
      slurm: async () => ({ ms: provMake(ws, ['--executor', 'slurm', '--force', '-j', String(inFlight)], env) }),
    }, { rounds, warmup: 0 });
    const local = median(samples.local.ms);
    const viaSlurm = median(samples.slurm.ms);
    // the rounds alternate their order: with an even count the last run was local, so one more through Slurm
    if (rounds % 2 === 0) provMake(ws, ['--executor', 'slurm', '--force', '-j', String(inFlight)], env);
    const dispatch = submitToStart(ws, env);
    console.log(`\nprov-make run --force -j ${inFlight}, a pipeline of ${steps} trivial traced steps (node of ${cpus ?? 'this machine\'s'} CPUs), ${rounds} interleaved round(s), medians:`);
    console.log(`  local  ${fmtMs(local)}  (${fmtMs(local / steps)} per step)`);
    console.log(`  Slurm  ${fmtMs(viaSlurm)}  (${fmtMs(viaSlurm / steps)} per step)`);
    console.log(`  Slurm / local = ${fmtRatio(viaSlurm / local)}`);
    const sorted = [...dispatch].sort((x, y) => x - y);
    const slow = dispatch.filter((ms) => ms > 10_000).length;
    console.log(`  per step through prov-make (a last Slurm run): submit->start median ${fmtMs(median(dispatch))}, 90th percentile ${fmtMs(sorted[Math.floor(sorted.length * 0.9)])}, max ${fmtMs(sorted.at(-1))}; ${slow} of ${dispatch.length} waited over 10 s (a job that cannot start when submitted waits for the next scheduling pass)`);
  } finally {
    await cluster.stop();
    rmSync(base, { recursive: true, force: true });
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** Steps that each write the time their command started (ns) into a file of their own. */
function pipelineWorkspace(base, count) {
  const ws = join(base, 'pipeline');
  mkdirSync(join(ws, 'out'), { recursive: true });
  const lines = ['resources: { mem: 50M }', 'steps:'];
  for (let i = 0; i < count; i++) lines.push(`  s${i}:`, `    run: date +%s%N > out/${i}.txt`);
  writeFileSync(join(ws, 'pipeline.yml'), lines.join('\n') + '\n');
  return ws;
}

/** Runs `prov-make run` in `ws`; its wall time in ms (a failure stops the bench). */
function provMake(ws, args, env) {
  const t0 = Date.now();
  const r = spawnSync(process.execPath, [join(repoRoot, 'packages/cli/bin/prov-make.js'), 'run', ...args, '--json'], { cwd: ws, env, encoding: 'utf8' });
  const ms = Date.now() - t0;
  if (r.status !== 0) throw new Error(`prov-make run ${args.join(' ')} failed (exit ${r.status}): ${r.stderr}${r.stdout.slice(0, 2000)}`);
  return ms;
}

/** Each step's submission (its execution's start, as prov-make records it) to its command's start. */
function submitToStart(ws, env) {
  const r = spawnSync(process.execPath, [join(repoRoot, 'packages/cli/bin/prov-make.js'), 'log', '--json'], { cwd: ws, env, encoding: 'utf8', maxBuffer: 64 << 20 });
  const last = new Map(JSON.parse(r.stdout).map((e) => [e.step, e]));
  return [...last.values()].map((e) => {
    if (!e.job) throw new Error(`step ${e.step}'s last execution was not a Slurm job`);
    const started = Number(BigInt(readFileSync(join(ws, 'out', `${e.step.slice(1)}.txt`), 'utf8').trim()) / 1_000_000n);
    return started - Date.parse(e.startedAt);
  });
}

runMain(main);
