// prov-cli.mjs - drives prov-make the way a user does, through its CLI (`prov-make run --json`,
// `status --json`, `cache verify`), timed from spawn to exit with the peak RSS, so the benchmarks
// keep working whatever the engine's internals become.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { BenchSetupError, failureOf, measure, repoRoot } from './lib.mjs';

export const CLI = join(repoRoot, 'packages/cli/bin/prov-make.js');

export function checkCli() {
  if (!existsSync(CLI) || !existsSync(join(repoRoot, 'packages/cli/dist/main.js'))) {
    throw new BenchSetupError(`prov-make is not built (${CLI}): run \`pnpm install\` or \`pnpm run build\` first`);
  }
}

/**
 * `prov-make ARGS` in cwd: { ms, peakKiB, exitCode, failure, report, counts }. report is the
 * parsed --json object (null without --json or when it printed none); counts tallies its steps by
 * status. nodeArgs go before the CLI (e.g. --cpu-prof).
 */
export async function provMake(args, { cwd, env, timeoutMs, nodeArgs = [] } = {}) {
  const r = await measure(process.execPath, [...nodeArgs, CLI, ...args], { cwd, env, timeoutMs });
  let report = null;
  if (args.includes('--json')) {
    try {
      report = JSON.parse(r.stdout);
    } catch {
      // a crash prints no JSON: failure says why
    }
  }
  const counts = {};
  for (const s of report?.steps ?? []) counts[s.status] = (counts[s.status] ?? 0) + 1;
  return { ...r, failure: failureOf(r) && `${failureOf(r)}${reportedProblem(report, r.stdout)}`, report, counts };
}

/** What a failed run said about itself: its --json error or failed steps, or its last output lines. */
function reportedProblem(report, stdout) {
  if (report?.error) return `; ${report.error.message}`;
  const failed = (report?.steps ?? []).filter((s) => s.status === 'failed' || s.status === 'blocked');
  if (failed.length) return `; ${failed.slice(0, 3).map((s) => `${s.name} ${s.status}: ${s.reason}`).join('; ')}`;
  if (report) return `; ${JSON.stringify(report).slice(0, 500)}`;
  const tail = stdout.trim().split('\n').slice(-3).join(' | ');
  return tail ? `; ${tail.slice(0, 500)}` : '';
}

/** Throws unless the run succeeded and every one of its steps has the expected status. */
export function expectAll(r, status, what) {
  if (r.failure) throw new Error(`${what}: prov-make failed: ${r.failure}`);
  const steps = r.report?.steps ?? [];
  const other = steps.filter((s) => s.status !== status);
  if (steps.length === 0 || other.length > 0) {
    throw new Error(`${what}: expected every step ${status}, got ${JSON.stringify(r.counts)}; e.g. ${JSON.stringify(other.slice(0, 3))}`);
  }
  return r;
}

export function countsText(counts) {
  return Object.entries(counts).map(([k, v]) => `${v} ${k}`).join(', ');
}
