/**
 * `prov-make run [pipeline.yml] [STEP...] [-j N] [-k] [-n] [--force] [--json]` and
 * `prov-make status [pipeline.yml] [STEP...] [--exit-code] [--json]`.
 */
import { parseArgs } from 'node:util';
import type { RunEvents, RunReport } from '../engine/report.js';
import { formatPlan, formatSummary, reportJson, startupErrorJson } from '../format/run.js';
import { EXECUTORS, type ExecutorName } from '../pipeline/types.js';
import { friendlier, UsageError, EXIT_FAILED, EXIT_OK } from '../usage.js';
import type { LockedError } from '../workspace/lock.js';
import { openWorkspace, type Workspace } from '../workspace/workspace.js';
import type { CommandModule } from './command.js';
import { REMOTE_HELP, REMOTE_OPTIONS, remoteOptions, type RemoteValues } from './remote-options.js';
import { pipelineFileAndRest } from './workspace-args.js';

export const RUN_HELP = `usage: prov-make run [pipeline.yml] [STEP...] [options]

Runs the steps that are out of date, in file order (in parallel with -j where the past traces
show they cannot touch each other's files). Named STEPs run with the steps they depend on (a
foreach step's name stands for all its items). Without a pipeline file, uses ./pipeline.yml or the
nearest one in a parent folder (and says so).

  -j, --jobs N        run up to N steps at once (default 1; with Slurm, 100 jobs in flight)
  --executor NAME     local, or slurm: each step that has to run is a Slurm job (over the
                      pipeline's executor: key; see docs/slurm.md)
  -k, --keep-going    after a failure, go on with the steps that do not use the failed one
                      (default: start no new step; the summary lists what was blocked, and why)
  -n, --dry-run       say what would run or be restored, and why; run nothing (as \`status\`)
  --force             run the steps even if up to date
  --json              print one JSON object on stdout: {"ok", "steps": [{"name", "status", "reason", "durationMs"}]}
  --cache-dir DIR     content cache folder (default .prov-make/cache; or PROV_MAKE_CACHE_DIR)
${REMOTE_HELP}
  --no-wait           fail at once if another prov-make runs in this workspace
  -f, --file FILE     the pipeline file
Durations are each step's command's own wall time, as \`prov-make log\` shows them.
Exit code: 0 all up to date or ran, 1 a step failed or a hazard was found, 2 bad usage or pipeline,
130 interrupted.`;

export const STATUS_HELP = `usage: prov-make status [pipeline.yml] [STEP...] [--exit-code] [--json]

Says which steps would run, restore from the cache, or are up to date, and why. Runs nothing.

  --exit-code        exit 1 when a step would run or be restored (a CI check that all is up to date)
  --force            as \`run --force\` would
  --json             one JSON object: {"ok", "steps": [{"name", "status": "would-run"|"up-to-date"|"would-restore", ...}]}
  --cache-dir DIR, --remote URL, --remote-*, -f FILE   as for \`run\`
Exit code: 0 (or 1 with --exit-code when something would run), 2 bad usage or pipeline.`;

export const CACHE_OPTIONS = {
  'cache-dir': { type: 'string' },
  ...REMOTE_OPTIONS,
  file: { type: 'string', short: 'f' },
  help: { type: 'boolean', short: 'h' },
} as const;

const RUN_OPTIONS = {
  ...CACHE_OPTIONS,
  jobs: { type: 'string', short: 'j' },
  executor: { type: 'string' },
  force: { type: 'boolean' },
  json: { type: 'boolean' },
  'keep-going': { type: 'boolean', short: 'k' },
  'dry-run': { type: 'boolean', short: 'n' },
  'no-wait': { type: 'boolean' },
} as const;

const STATUS_OPTIONS = { ...CACHE_OPTIONS, force: { type: 'boolean' }, json: { type: 'boolean' }, 'exit-code': { type: 'boolean' } } as const;

export const RUN: CommandModule = { main: runMain, options: RUN_OPTIONS, operands: 'steps' };
export const STATUS: CommandModule = { main: statusMain, options: STATUS_OPTIONS, operands: 'steps' };

type CacheValues = RemoteValues & { 'cache-dir'?: string };

/** The workspace of the pipeline file, with the cache options of the command line. */
export function openWithCacheOptions(file: string, values: CacheValues): Workspace {
  return openWorkspace(file, { cacheDir: values['cache-dir'], remote: remoteOptions(values) });
}

export async function runMain(argv: string[]): Promise<number> {
  return reportingStartupErrors(argv, 'run', RUN, async () => {
    const { values, positionals } = parseArgs({ args: argv, options: RUN_OPTIONS, allowPositionals: true, strict: true });
    if (values.help) return void process.stdout.write(RUN_HELP + '\n'), EXIT_OK;
    const json = Boolean(values.json);
    const jobs = jobsOption(values.jobs);
    const { file, rest: targets } = pipelineFileAndRest(positionals, values.file);
    const ws = openWithCacheOptions(file, values);
    if (values['dry-run']) return plan(ws, targets, Boolean(values.force), json, false);
    const executor = executorOption(values.executor);
    return run(ws, { targets, jobs, executor, force: Boolean(values.force), keepGoing: Boolean(values['keep-going']), waitForLock: !values['no-wait'] }, json);
  });
}

export async function statusMain(argv: string[]): Promise<number> {
  return reportingStartupErrors(argv, 'status', STATUS, async () => {
    const { values, positionals } = parseArgs({ args: argv, options: STATUS_OPTIONS, allowPositionals: true, strict: true });
    if (values.help) return void process.stdout.write(STATUS_HELP + '\n'), EXIT_OK;
    const json = Boolean(values.json);
    const { file, rest: targets } = pipelineFileAndRest(positionals, values.file);
    return plan(openWithCacheOptions(file, values), targets, Boolean(values.force), json, Boolean(values['exit-code']));
  });
}

/** `status`, and `run --dry-run`: the plan, for people or as JSON. */
async function plan(ws: Workspace, targets: string[], force: boolean, json: boolean, exitCode: boolean): Promise<number> {
  let report: RunReport;
  try {
    report = await ws.planPipeline({ targets, force });
  } finally {
    await ws.close();
  }
  process.stdout.write(json ? JSON.stringify(reportJson(report)) + '\n' : formatPlan(report));
  return exitCode && report.steps.some((s) => s.status !== 'up-to-date') ? EXIT_FAILED : EXIT_OK;
}

interface RunChoices { targets: string[]; jobs?: number; executor?: ExecutorName; force: boolean; keepGoing: boolean; waitForLock: boolean }

async function run(ws: Workspace, choices: RunChoices, json: boolean): Promise<number> {
  const interactive = !json && Boolean(process.stdout.isTTY) && !process.env.CI;
  const abort = new AbortController();
  const stopOnSignals = interruptible(abort, json);
  const ui = interactive ? (await import('../ui/ink-view.js')).inkRunView() : null;
  let report: RunReport;
  try {
    const events: RunEvents = json ? {} : (ui?.events ?? (await import('../ui/plain.js')).plainEvents((s) => process.stdout.write(s), { streamOutput: true }));
    report = await ws.runPipeline({ ...choices, events, signal: abort.signal });
  } catch (err) {
    // the terminal view must let go of the terminal, or a start-up error would never exit
    await ui?.abandon();
    throw err;
  } finally {
    stopOnSignals();
    await ws.close();
  }
  if (ui) await ui.finish(report);
  else if (json) process.stdout.write(JSON.stringify(reportJson(report)) + '\n');
  else process.stdout.write(formatSummary(report));
  if (report.interrupted) return 130;
  return report.ok ? EXIT_OK : EXIT_FAILED;
}

/** The engine's refusals that are the user's to fix (by code: the engine is not loaded when the snapshot answered). */
export function asUsageError(err: unknown): unknown {
  const code = (err as { code?: string }).code;
  if (code === 'E_UNKNOWN_STEP') return new UsageError((err as Error).message, (err as { hint?: string }).hint);
  if (code === 'E_LOCKED') return new UsageError((err as Error).message, lockedHint((err as LockedError).host));
  return err;
}

function lockedHint(host: string | null): string {
  const wait = 'wait for it to finish, or run again without --no-wait to wait';
  // its pid cannot be checked from this host: a killed run's lock stays until removed
  return host ? `${wait}; if that run was killed on ${host}, remove .prov-make/lock` : wait;
}

/**
 * With --json, a start-up error (a bad flag, a bad pipeline, an unknown step, an unusable step
 * folder, a locked workspace) is still one JSON object on stdout (DESIGN section 6); the message
 * goes to stderr, exit 2.
 */
async function reportingStartupErrors(argv: string[], name: string, command: CommandModule, f: () => Promise<number>): Promise<number> {
  try {
    return await f();
  } catch (thrown) {
    const err = friendlier(asUsageError(thrown), name, command);
    if (argv.includes('--json')) process.stdout.write(JSON.stringify(startupErrorJson(err)) + '\n');
    throw err;
  }
}

/** -j N, or undefined: the executor's default. */
export function jobsOption(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const jobs = Number(text);
  if (!Number.isInteger(jobs) || jobs < 1) throw new UsageError(`-j expects a whole number of jobs (1 or more), not "${text}"`);
  return jobs;
}

function executorOption(text: string | undefined): ExecutorName | undefined {
  if (text === undefined || (EXECUTORS as readonly string[]).includes(text)) return text as ExecutorName | undefined;
  throw new UsageError(`--executor expects ${EXECUTORS.join(' or ')}, not "${text}"`);
}

/**
 * Ctrl-C, SIGTERM or SIGHUP (the terminal closed) once stops the running steps; a second quits at
 * once (the local runner kills the steps' groups on the way out). Returns the undo.
 */
export function interruptible(abort: AbortController, quiet: boolean): () => void {
  const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
  let received = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    received++;
    if (signal === 'SIGHUP') ignoreTerminalErrors(); // what is still printed goes nowhere
    if (received > 1) process.exit(130);
    if (!quiet) process.stderr.write('\nprov-make: interrupted: stopping running steps (Ctrl-C again to quit at once)\n');
    abort.abort();
  };
  for (const s of signals) process.on(s, onSignal);
  return () => {
    for (const s of signals) process.off(s, onSignal);
  };
}

/** A closed terminal fails writes (EIO, EPIPE): they must not end the run before its steps are stopped. */
function ignoreTerminalErrors(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.removeAllListeners('error'); // the bin's own handler ends the process on EPIPE
    stream.on('error', () => undefined);
  }
}
