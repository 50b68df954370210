#!/usr/bin/env node
// slurm-dispatch.mjs - what running a step as a Slurm job costs, on the one-node test cluster of
// packages/cli/test/slurm.ts (a real slurmctld + slurmd on this machine):
//  1. submit-to-start latency of one job (sbatch through the Slurm client until the job's first
//     command runs) and submit-to-end-seen (until the client reports it ended), one job at a time,
//     with the test cluster's SchedulerParameters (batch_sched_delay=0) and with Slurm's defaults;
//     `srun true` for reference;
//  2. 100 trivial traced steps with 2 in flight (-j 2): through Slurm (SlurmClient + jobTracing +
//     collectTrace) vs locally (startTrace), interleaved rounds, medians.
//
//   node bench/slurm-dispatch.mjs [--jobs 20] [--steps 100] [-j 2] [--rounds 3] [--quick]
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

/** Runs `count` tasks with at most `width` at a time. */
async function pool(count, width, task) {
  let next = 0;
  await Promise.all(Array.from({ length: width }, async () => {
    while (next < count) await task(next++);
  }));
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
  const { SlurmClient, jobTracing } = await importBuilt('packages/cli/dist/executor/slurm.js');
  const { startTrace, collectTrace, prepareLogDir } = await importBuilt('packages/interposer/dist/index.js');
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

  // 2. 100 trivial traced steps, -j 2: Slurm vs local
  const cluster = await startSlurm();
  const env = { ...process.env, ...cluster.env };
  const slurm = client(env);
  const base = mkdtempSync(join(tmpdir(), 'pm-slurm-bench-'));
  try {
    await latencies(slurm, base, env, 1); // past the controller's first seconds
    const workspace = (name, round) => {
      const ws = join(base, `${name}-${round}`);
      mkdirSync(join(ws, '.prov-make', 'trace'), { recursive: true });
      mkdirSync(join(ws, 'out'));
      return ws;
    };
    const command = (i) => `echo ${i} > out/${i}.txt`;
    const samples = await interleavedRounds({
      local: async (_, round) => {
        const ws = workspace('local', round);
        const t0 = Date.now();
        await pool(steps, inFlight, async (i) => {
          const r = await startTrace(command(i), { cwd: ws, env, stdio: 'ignore' }).result; // logs on tmpfs, as locally
          if (r.exitCode !== 0 || r.deps.writes.length !== 1) throw new Error(`local step ${i} failed`);
        });
        return { ms: Date.now() - t0 };
      },
      slurm: async (_, round) => {
        const ws = workspace('slurm', round);
        const t0 = Date.now();
        await pool(steps, inFlight, async (i) => {
          const logDir = prepareLogDir(join(ws, '.prov-make', 'trace', String(i)));
          const job = await slurm.submit({ command: command(i), cwd: ws, env, outputFile: join(logDir, 'output'), ...jobTracing(env, logDir) });
          const end = await job.done;
          const { deps } = collectTrace(logDir);
          if (end.state !== 'COMPLETED' || deps.writes.length !== 1) throw new Error(`Slurm step ${i} (job ${job.id}) ended ${end.state}`);
        });
        return { ms: Date.now() - t0 };
      },
    }, { rounds, warmup: 0 });
    const local = median(samples.local.ms);
    const viaSlurm = median(samples.slurm.ms);
    console.log(`\n${steps} trivial traced steps, -j ${inFlight}, ${rounds} interleaved round(s), medians:`);
    console.log(`  local  ${fmtMs(local)}  (${fmtMs(local / steps)} per step)`);
    console.log(`  Slurm  ${fmtMs(viaSlurm)}  (${fmtMs(viaSlurm / steps)} per step)`);
    console.log(`  Slurm / local = ${fmtRatio(viaSlurm / local)}`);
  } finally {
    await cluster.stop();
    rmSync(base, { recursive: true, force: true });
    rmSync(tmp, { recursive: true, force: true });
  }
}

runMain(main);
