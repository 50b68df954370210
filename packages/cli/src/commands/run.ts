/**
 * `prov-make run [pipeline.yml] [STEP...] [-j N] [--force] [--json]` and
 * `prov-make status [pipeline.yml] [STEP...] [--json]`.
 */
import { parseArgs } from 'node:util';
import type { RemoteCacheOptions } from '@prov-make/cache';
import type { RunEvents, RunReport } from '../engine/report.js';
import { formatPlan, formatSummary, reportJson } from '../format/run.js';
import { EXECUTORS, type ExecutorName } from '../pipeline/types.js';
import { UsageError, EXIT_FAILED, EXIT_OK } from '../usage.js';
import type { LockedError } from '../workspace/lock.js';
import { openWorkspace } from '../workspace/workspace.js';
import { pipelineFileAndRest } from './workspace-args.js';

export const RUN_HELP = `usage: prov-make run [pipeline.yml] [STEP...] [options]

Runs the steps that are out of date, in file order (in parallel with -j where the past traces
show they cannot touch each other's files). Named STEPs run with the steps they depend on.

  -j, --jobs N        run up to N steps at once (default 1; with Slurm, 100 jobs in flight)
  --executor NAME     local, or slurm: each step that has to run is a Slurm job (over the
                      pipeline's executor: key; see docs/slurm.md)
  --force             run the steps even if up to date
  --json              print one JSON object on stdout: {"ok", "steps": [{"name", "status", "reason", "durationMs"}]}
  --cache-dir DIR     content cache folder (default .prov-make/cache; or PROV_MAKE_CACHE_DIR)
  --remote URL        remote cache with Bazel's HTTP layout (/ac/, /cas/); or PROV_MAKE_REMOTE
                      auth: PROV_MAKE_REMOTE_TOKEN (bearer), or user:password in the URL, or
                      PROV_MAKE_REMOTE_USER and PROV_MAKE_REMOTE_PASSWORD (basic)
  --remote-read-only  use the remote cache but never upload (untrusted jobs); or PROV_MAKE_REMOTE_READ_ONLY=1
  --no-wait           fail at once if another prov-make runs in this workspace
  -f, --file FILE     the pipeline file (default ./pipeline.yml)
Exit code: 0 all up to date or ran, 1 a step failed or a hazard was found, 2 bad usage or pipeline.`;

export const STATUS_HELP = `usage: prov-make status [pipeline.yml] [STEP...] [--json]

Says which steps would run, restore from the cache, or are up to date, and why. Runs nothing.`;

export async function runMain(argv: string[]): Promise<number> {
  return runOrStatus(argv, false);
}

export async function statusMain(argv: string[]): Promise<number> {
  return runOrStatus(argv, true);
}

const OPTIONS = {
  jobs: { type: 'string', short: 'j' },
  executor: { type: 'string' },
  force: { type: 'boolean' },
  json: { type: 'boolean' },
  'cache-dir': { type: 'string' },
  'no-wait': { type: 'boolean' },
  remote: { type: 'string' },
  'remote-read-only': { type: 'boolean' },
  file: { type: 'string', short: 'f' },
  help: { type: 'boolean', short: 'h' },
} as const;

async function runOrStatus(argv: string[], plan: boolean): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
  if (values.help) {
    process.stdout.write((plan ? STATUS_HELP : RUN_HELP) + '\n');
    return EXIT_OK;
  }
  const jobs = jobsOption(values.jobs);
  const { file, rest: targets } = pipelineFileAndRest(positionals, values.file);
  const json = Boolean(values.json);
  const interactive = !json && !plan && Boolean(process.stdout.isTTY) && !process.env.CI;
  const ws = openWorkspace(file, { cacheDir: values['cache-dir'], remote: remoteOptions(values.remote, Boolean(values['remote-read-only'])) });
  const abort = new AbortController();
  const stopOnSignals = interruptible(abort, json);
  let report: RunReport;
  let ui: { events: RunEvents; finish(report: RunReport): Promise<void> } | null = null;
  try {
    if (plan) report = await ws.planPipeline({ targets, force: Boolean(values.force) });
    else {
      if (interactive) ui = (await import('../ui/ink-view.js')).inkRunView();
      const plain = () => import('../ui/plain.js').then((m) => m.plainEvents((s) => process.stdout.write(s), { streamOutput: true }));
      const events = json ? {} : (ui?.events ?? (await plain()));
      const executor = executorOption(values.executor);
      report = await ws.runPipeline({ targets, jobs, executor, force: Boolean(values.force), waitForLock: !values['no-wait'], events, signal: abort.signal });
    }
  } catch (err) {
    // by code: the engine's modules are not loaded when the snapshot answered
    const code = (err as { code?: string }).code;
    if (code === 'E_UNKNOWN_STEP') throw new UsageError((err as Error).message);
    if (code === 'E_LOCKED') throw new UsageError((err as Error).message, lockedHint((err as LockedError).host));
    throw err;
  } finally {
    stopOnSignals();
    await ws.close();
  }
  if (ui) await ui.finish(report);
  if (json) process.stdout.write(JSON.stringify(reportJson(report)) + '\n');
  else if (plan) process.stdout.write(formatPlan(report));
  else if (!ui) process.stdout.write(formatSummary(report));
  if (report.interrupted) return 130;
  return report.ok ? EXIT_OK : EXIT_FAILED;
}

function lockedHint(host: string | null): string {
  const wait = 'wait for it to finish, or run again without --no-wait to wait';
  // its pid cannot be checked from this host: a killed run's lock stays until removed
  return host ? `${wait}; if that run was killed on ${host}, remove .prov-make/lock` : wait;
}

function jobsOption(text: string | undefined): number | undefined {
  if (text === undefined) return undefined; // the executor's default
  const jobs = Number(text);
  if (!Number.isInteger(jobs) || jobs < 1) throw new UsageError(`-j expects a whole number of jobs (1 or more), not "${text}"`);
  return jobs;
}

function executorOption(text: string | undefined): ExecutorName | undefined {
  if (text === undefined || (EXECUTORS as readonly string[]).includes(text)) return text as ExecutorName | undefined;
  throw new UsageError(`--executor expects ${EXECUTORS.join(' or ')}, not "${text}"`);
}

/** Ctrl-C (or SIGTERM) once stops the running steps; twice quits at once. Returns the undo. */
function interruptible(abort: AbortController, quiet: boolean): () => void {
  let signals = 0;
  const onSignal = () => {
    signals++;
    if (signals > 1) process.exit(130);
    if (!quiet) process.stderr.write('\nprov-make: interrupted: stopping running steps (Ctrl-C again to quit at once)\n');
    abort.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return () => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  };
}

/** The remote cache from flags and environment (PROV_MAKE_REMOTE*), or undefined. */
export function remoteOptions(flag: string | undefined, readOnlyFlag: boolean): RemoteCacheOptions | undefined {
  const url = flag ?? process.env.PROV_MAKE_REMOTE;
  if (!url) return undefined;
  try {
    new URL(url);
  } catch {
    throw new UsageError(`--remote expects an http(s) URL, not "${url}"`, 'example: --remote http://127.0.0.1:8080/cache');
  }
  const env = process.env;
  const timeout = Number(env.PROV_MAKE_REMOTE_TIMEOUT_MS);
  return {
    url,
    token: env.PROV_MAKE_REMOTE_TOKEN || undefined,
    user: env.PROV_MAKE_REMOTE_USER || undefined,
    password: env.PROV_MAKE_REMOTE_PASSWORD || undefined,
    readOnly: readOnlyFlag || /^(1|true|yes)$/i.test(env.PROV_MAKE_REMOTE_READ_ONLY ?? ''),
    timeoutMs: Number.isFinite(timeout) && timeout > 0 ? timeout : undefined,
  };
}
