/**
 * `prov-make log [STEP]`: past executions (when, step, status, reason, duration), newest last.
 * `prov-make show FILE --for OUTPUT`: the exact bytes of FILE's version that OUTPUT was made from.
 * `prov-make diff [RUN_A RUN_B]`: the first step whose inputs differed between two runs, and how.
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { ExecutionRecord } from '@prov-make/cache';
import { storedPath } from '../engine/workspace.js';
import { formatDuration } from '../ui/plain.js';
import { formatSize, formatTime, shortHash } from '../provenance/describe.js';
import { buildLineage, walk } from '../provenance/lineage.js';
import { UsageError, EXIT_FAILED, EXIT_OK } from '../usage.js';
import { openReadContext } from './context.js';

export const LOG_HELP = `usage: prov-make log [STEP] [--json] [--runs]
       prov-make log STEP --output [--execution ID]

Lists past executions, oldest first: when, step, status, why it ran, how long, and notes the step
attached ($PROV_MAKE_ANNOTATE). --runs lists the runs instead (ids for \`prov-make diff\`).
--output prints what the step printed (stdout and stderr) in its last execution, or in execution ID.`;

export const SHOW_HELP = `usage: prov-make show FILE --for OUTPUT
       prov-make show FILE --execution ID

Prints the exact bytes of the version of FILE (a script, a config) that OUTPUT was made from, or that
execution ID read. Workspace inputs up to 256 KiB are kept in the cache for this.`;

export const DIFF_HELP = `usage: prov-make diff [RUN_A RUN_B] [--json]

For two runs (default: the last two; ids from \`prov-make log --runs\`), names the first step, in file
order, whose inputs differed, and which files differed.`;

const COMMON = { json: { type: 'boolean' }, file: { type: 'string', short: 'f' }, help: { type: 'boolean', short: 'h' } } as const;

interface RunSummary { runId: string; startedAt: number; finishedAt: number; executions: ExecutionRecord[] }

function runsOf(all: ExecutionRecord[]): RunSummary[] {
  const runs = new Map<string, RunSummary>();
  for (const e of all) {
    let r = runs.get(e.runId);
    if (!r) runs.set(e.runId, (r = { runId: e.runId, startedAt: e.startedAt, finishedAt: e.finishedAt, executions: [] }));
    r.executions.push(e);
    r.startedAt = Math.min(r.startedAt, e.startedAt);
    r.finishedAt = Math.max(r.finishedAt, e.finishedAt);
  }
  return [...runs.values()].sort((a, b) => a.startedAt - b.startedAt);
}

export async function logMain(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, options: { ...COMMON, runs: { type: 'boolean' }, output: { type: 'boolean' }, execution: { type: 'string' } }, allowPositionals: true, strict: true });
  if (values.help) return void process.stdout.write(LOG_HELP + '\n'), EXIT_OK;
  const ctx = await openReadContext(values.file);
  try {
    const step = positionals[0];
    if (values.output) {
      const e = values.execution ? ctx.history.get(values.execution) : step ? ctx.history.latestForStep(step) : undefined;
      if (!e) throw new UsageError(values.execution ? `no execution with id ${values.execution}` : step ? `no execution of a step named "${step}" is recorded` : 'log --output needs a STEP (or --execution ID)');
      if (!e.outputLogHash) return void process.stderr.write(`prov-make: step ${e.step} printed nothing in execution ${e.id}\n`), EXIT_OK;
      if (!ctx.content.has(e.outputLogHash)) {
        process.stderr.write(`prov-make: the output of execution ${e.id} is no longer in the cache (removed by \`cache gc\`?)\n`);
        return EXIT_FAILED;
      }
      process.stdout.write(await ctx.content.read(e.outputLogHash));
      return EXIT_OK;
    }
    const all = step ? ctx.history.executionsForStep(step) : ctx.history.allExecutions();
    if (step && all.length === 0) throw new UsageError(`no execution of a step named "${step}" is recorded`, `steps with history: ${ctx.history.steps().join(', ') || 'none'}`);
    if (values.runs) {
      const runs = runsOf(all);
      if (values.json) process.stdout.write(JSON.stringify(runs.map((r) => ({ runId: r.runId, startedAt: new Date(r.startedAt).toISOString(), executions: r.executions.length, steps: r.executions.map((e) => e.step) }))) + '\n');
      else for (const r of runs) process.stdout.write(`${r.runId}  ${formatTime(r.startedAt)}  ${r.executions.length} execution(s): ${r.executions.map((e) => e.step).join(', ')}\n`);
      return EXIT_OK;
    }
    if (values.json) {
      process.stdout.write(JSON.stringify(all.map((e) => ({
        id: e.id, runId: e.runId, step: e.step, status: e.status, reason: e.reason, exitCode: e.exitCode,
        startedAt: new Date(e.startedAt).toISOString(), durationMs: e.finishedAt - e.startedAt, annotations: e.annotations,
      }))) + '\n');
      return EXIT_OK;
    }
    for (const e of all) {
      const status = e.status === 'succeeded' ? 'ok' : `${e.status}${e.exitCode !== null ? ` (exit ${e.exitCode})` : ''}`;
      process.stdout.write(`${formatTime(e.startedAt)}  ${e.step.padEnd(16)} ${status.padEnd(8)} ${formatDuration(e.finishedAt - e.startedAt).padStart(8)}  ${e.reason}\n`);
      for (const a of e.annotations) process.stdout.write(`${' '.repeat(21)}note: ${a}\n`);
    }
    if (all.length === 0) process.stdout.write('no executions recorded yet\n');
    return EXIT_OK;
  } finally {
    await ctx.close();
  }
}

export async function showMain(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, options: { ...COMMON, for: { type: 'string' }, execution: { type: 'string' } }, allowPositionals: true, strict: true });
  if (values.help) return void process.stdout.write(SHOW_HELP + '\n'), EXIT_OK;
  if (positionals.length !== 1 || (!values.for && !values.execution)) throw new UsageError('usage: prov-make show FILE --for OUTPUT (or --execution ID)');
  const ctx = await openReadContext(values.file);
  try {
    const file = storedPath(ctx.ws, resolve(positionals[0]));
    let hash: string | null = null;
    let user = '';
    if (values.execution) {
      const e = ctx.history.get(values.execution);
      if (!e) throw new UsageError(`no execution with id ${values.execution}`, 'ids are listed by `prov-make log --json`');
      hash = [...e.inputs, ...e.executed].find((f) => f.path === file)?.hash ?? null;
      user = `execution ${e.id} (step ${e.step})`;
    } else {
      const output = storedPath(ctx.ws, resolve(values.for!));
      const lineage = await buildLineage(ctx, output);
      if (!lineage.producedBy) {
        process.stderr.write(`prov-make: no step made the version of ${output} on disk, so nothing it was made from is recorded\n`);
        return EXIT_FAILED;
      }
      for (const { node } of walk(lineage)) {
        if (node !== lineage && node.path === file) {
          hash = node.version?.hash ?? null;
          break;
        }
      }
      user = `${output}`;
    }
    if (!hash) {
      process.stderr.write(`prov-make: ${file} is not among the inputs of ${user}\n`);
      return EXIT_FAILED;
    }
    if (!ctx.content.has(hash)) {
      process.stderr.write(`prov-make: the version of ${file} used by ${user} (${shortHash(hash)}) is not in the cache (only workspace inputs up to 256 KiB are kept)\n`);
      return EXIT_FAILED;
    }
    process.stdout.write(await ctx.content.read(hash));
    return EXIT_OK;
  } finally {
    await ctx.close();
  }
}

export async function diffMain(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, options: COMMON, allowPositionals: true, strict: true });
  if (values.help) return void process.stdout.write(DIFF_HELP + '\n'), EXIT_OK;
  const ctx = await openReadContext(values.file);
  try {
    const all = ctx.history.allExecutions();
    const runs = runsOf(all);
    if (positionals.length !== 0 && positionals.length !== 2) throw new UsageError('diff takes two run ids, or none for the last two runs');
    const pick = (id: string) => {
      const r = runs.find((x) => x.runId === id);
      if (!r) throw new UsageError(`no run with id ${id}`, 'run ids are listed by `prov-make log --runs`');
      return r;
    };
    if (runs.length < 2 && positionals.length === 0) throw new UsageError('fewer than two runs are recorded');
    const [a, b] = positionals.length ? [pick(positionals[0]), pick(positionals[1])] : runs.slice(-2);
    // What each step's state was after each run: its newest execution up to that run.
    const asOf = (run: RunSummary, step: string) => {
      let found: ExecutionRecord | undefined;
      for (const e of all) if (e.step === step && e.finishedAt <= run.finishedAt && e.status === 'succeeded') found = e;
      return found;
    };
    const order = ctx.pipeline ? ctx.pipeline.steps.map((s) => s.name) : [...new Set(all.map((e) => e.step))];
    for (const step of order) {
      const ea = asOf(a, step);
      const eb = asOf(b, step);
      if (!ea || !eb || ea.id === eb.id) continue;
      const files = (e: ExecutionRecord) => new Map([...e.inputs, ...e.executed].map((f) => [f.path, f]));
      const fa = files(ea);
      const fb = files(eb);
      const differences: { path: string; change: string; before: string | null; after: string | null }[] = [];
      for (const [p, f] of fb) {
        const old = fa.get(p);
        if (!old) differences.push({ path: p, change: 'added', before: null, after: f.hash });
        else if (old.hash !== f.hash) differences.push({ path: p, change: `changed: ${formatSize(old.version?.size ?? null)} -> ${formatSize(f.version?.size ?? null)}`, before: old.hash, after: f.hash });
      }
      for (const [p, f] of fa) if (!fb.has(p)) differences.push({ path: p, change: 'no longer read', before: f.hash, after: null });
      const defChanged = ea.definitionHash !== eb.definitionHash;
      if (!differences.length && !defChanged) continue;
      if (values.json) {
        process.stdout.write(JSON.stringify({ runA: a.runId, runB: b.runId, step, definitionChanged: defChanged, files: differences }) + '\n');
      } else {
        process.stdout.write(`first step whose inputs differ between runs ${a.runId} and ${b.runId}: ${step}\n`);
        if (defChanged) process.stdout.write(`  its definition changed\n`);
        for (const d of differences) process.stdout.write(`  ${d.path}: ${d.change} (${shortHash(d.before)} -> ${shortHash(d.after)})\n`);
      }
      return EXIT_OK;
    }
    if (values.json) process.stdout.write(JSON.stringify({ runA: a.runId, runB: b.runId, step: null, files: [] }) + '\n');
    else process.stdout.write(`no step's inputs differ between runs ${a.runId} and ${b.runId}\n`);
    return EXIT_OK;
  } finally {
    await ctx.close();
  }
}
