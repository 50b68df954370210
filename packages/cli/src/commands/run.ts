/**
 * `prov-make run [pipeline.yml] [STEP...] [-j N] [--force] [--json]` and
 * `prov-make status [pipeline.yml] [STEP...] [--json]`.
 */
import { parseArgs } from 'node:util';
import type { RemoteCacheOptions } from '@prov-make/cache';
import type { RunEvents, RunReport } from '../engine/report.js';
import { formatPlan, formatSummary, reportJson } from '../format/run.js';
import { friendlier, reportError, UsageError, EXIT_FAILED, EXIT_OK } from '../usage.js';
import { openWorkspace } from '../workspace/workspace.js';
import { pipelineFileAndRest } from './workspace-args.js';

export const RUN_HELP = `usage: prov-make run [pipeline.yml] [STEP...] [options]

Runs the steps that are out of date, in file order (in parallel with -j where the past traces
show they cannot touch each other's files). Named STEPs run with the steps they depend on.

  -j, --jobs N        run up to N steps at once (default 1)
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
  force: { type: 'boolean' },
  json: { type: 'boolean' },
  'cache-dir': { type: 'string' },
  'no-wait': { type: 'boolean' },
  remote: { type: 'string' },
  'remote-read-only': { type: 'boolean' },
  file: { type: 'string', short: 'f' },
  help: { type: 'boolean', short: 'h' },
} as const;

/**
 * With --json, stdout carries one object whatever happens: a start-up error (bad flags, a bad
 * pipeline, an unknown step, an unusable step folder, a locked workspace) is
 * {"ok": false, "error": {message, hint, file, line, col}, "steps": []}.
 */
async function runOrStatus(argv: string[], plan: boolean): Promise<number> {
  if (!argv.includes('--json')) return runOrStatusWith(argv, plan);
  try {
    return await runOrStatusWith(argv, plan);
  } catch (thrown) {
    const err = friendlier(thrown, plan ? 'status' : 'run');
    process.stdout.write(JSON.stringify(startupErrorJson(err)) + '\n');
    return reportError(err); // the words on stderr, as without --json
  }
}

function startupErrorJson(err: unknown) {
  const e = err as { message?: string; problem?: string; fix?: string; hint?: string; file?: string; line?: number; col?: number };
  const error = { message: e.problem ?? e.message ?? String(err), hint: e.fix ?? e.hint ?? null, file: e.file ?? null, line: e.line ?? null, col: e.col ?? null };
  return { ok: false, error, steps: [] };
}

async function runOrStatusWith(argv: string[], plan: boolean): Promise<number> {
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
      report = await ws.runPipeline({ targets, jobs, force: Boolean(values.force), waitForLock: !values['no-wait'], events, signal: abort.signal });
    }
  } catch (err) {
    // by code: the engine's modules are not loaded when the snapshot answered
    const code = (err as { code?: string }).code;
    if (code === 'E_UNKNOWN_STEP') throw new UsageError((err as Error).message);
    if (code === 'E_LOCKED') throw new UsageError((err as Error).message, 'wait for it to finish, or run again without --no-wait to wait');
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

function jobsOption(text: string | undefined): number {
  if (text === undefined) return 1;
  const jobs = Number(text);
  if (!Number.isInteger(jobs) || jobs < 1) throw new UsageError(`-j expects a whole number of jobs (1 or more), not "${text}"`);
  return jobs;
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
