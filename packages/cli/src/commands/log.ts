/**
 * `prov-make log [STEP] [-n N]`: past executions (id, when, step, status, duration, reason), newest
 * first; `log --prune` forgets old ones.
 * `prov-make show FILE --for OUTPUT`: the exact bytes of FILE's version that OUTPUT was made from.
 * `prov-make diff [RUN_A RUN_B]`: the first step whose inputs differed between two runs, and how.
 */
import { isAbsolute, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { ExecutionRecord, KeptEdit, WorkspaceStores } from '@prov-make/cache';
import { diffJson, executionsJson, formatDiff, formatExecutions, formatRuns, runsJson } from '../format/history.js';
import { shortHash } from '../format/units.js';
import { replayedOutput, terminalText } from '../format/terminal-text.js';
import { diffRuns, inputVersionFor, inputVersionIn, runsOf, stepOrder, type UsedVersion } from '../provenance/history.js';
import { KEEP_INPUTS_UP_TO } from '../engine/observe.js';
import { UsageError, EXIT_FAILED, EXIT_OK } from '../usage.js';
import { shownPath, storedPath } from '../workspace/paths.js';
import type { Workspace } from '../workspace/workspace.js';
import { suggest } from '../pipeline/suggest.js';
import type { CommandModule } from './command.js';
import { openRecorded } from './workspace-args.js';

export const LOG_HELP = `usage: prov-make log [STEP] [-n N] [--json] [--runs]
       prov-make log STEP --output [--execution ID]
       prov-make log --prune (--keep N | --older-than DURATION) [--dry-run]

Lists past executions, newest first: the execution id, when it started, the step, its status, how
long its command ran (the duration \`run\` shows), why it ran, and notes the step attached
($PROV_MAKE_ANNOTATE).

  -n N                   only the N newest
  --runs                 list the runs instead (ids for \`prov-make diff\`)
  --output               print what the step printed (stdout and stderr) in its last execution,
                         or in --execution ID
  --prune                forget old executions, and remove from the cache what only they used
                         (output logs, kept inputs, old outputs); each step's current and newest
                         succeeded executions are always kept
    --keep N             keep each step's N newest executions
    --older-than D       forget executions that finished more than D ago (D like 30d, 12h, 2w, 90m)
    --dry-run            say what would be forgotten and removed; change nothing
  --json                 one JSON array (or object, for --prune) on stdout
  -f, --file FILE        the pipeline file (default: the nearest pipeline.yml)`;

export const SHOW_HELP = `usage: prov-make show FILE --for OUTPUT
       prov-make show FILE --execution ID
       prov-make show FILE --version HASH

Prints the exact bytes of the version of FILE (a script, a config) that OUTPUT was made from, or that
execution ID read, or of version HASH (a content hash \`prov-make log\` names: an edit of an output
kept before the step's version replaced it). Workspace inputs up to 256 KiB are kept in the cache.`;

export const DIFF_HELP = `usage: prov-make diff [RUN_A RUN_B] [--json]

For two runs (default: the last two; ids from \`prov-make log --runs\`), names the first step, in file
order, whose inputs differed, and which files differed.`;

const COMMON = { json: { type: 'boolean' }, file: { type: 'string', short: 'f' }, help: { type: 'boolean', short: 'h' } } as const;

const LOG_OPTIONS = {
  ...COMMON, runs: { type: 'boolean' }, output: { type: 'boolean' }, execution: { type: 'string' }, n: { type: 'string', short: 'n' },
  prune: { type: 'boolean' }, keep: { type: 'string' }, 'older-than': { type: 'string' }, 'dry-run': { type: 'boolean' },
} as const;
const SHOW_OPTIONS = { ...COMMON, for: { type: 'string' }, execution: { type: 'string' }, version: { type: 'string' } } as const;

export const LOG: CommandModule = { main: logMain, options: LOG_OPTIONS, operands: 'steps' };
export const SHOW: CommandModule = { main: showMain, options: SHOW_OPTIONS, operands: 'files' };
export const DIFF: CommandModule = { main: diffMain, options: COMMON };

/** Opens the recorded workspace, hands it to `f`, closes it. */
async function withHistory(file: string | undefined, f: (ws: Workspace, stores: WorkspaceStores) => Promise<number>): Promise<number> {
  const ws = openRecorded(file);
  try {
    return await f(ws, await ws.openStores());
  } finally {
    await ws.close();
  }
}

export async function logMain(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, options: LOG_OPTIONS, allowPositionals: true, strict: true });
  if (values.help) return void process.stdout.write(LOG_HELP + '\n'), EXIT_OK;
  if (values.prune) return pruneMain(values);
  const step = positionals[0];
  const newest = values.n === undefined ? Infinity : wholeNumber('-n', values.n);
  return withHistory(values.file, async (_ws, { history, content }) => {
    if (values.output) {
      const e = values.execution ? history.get(values.execution) : step ? history.latestForStep(step) : undefined;
      if (!e && step && !values.execution) throw unknownStep(step, history.steps());
      return printOutput(e, values.execution, step, content);
    }
    const all = step ? history.executionsForStep(step) : history.allExecutions();
    if (step && all.length === 0) throw unknownStep(step, history.steps());
    if (values.runs) {
      const runs = runsOf(all).reverse().slice(0, newest);
      process.stdout.write(values.json ? JSON.stringify(runsJson(runs)) + '\n' : terminalText(formatRuns(runs)));
    } else {
      const shown = all.reverse().slice(0, newest);
      const edits = history.keptEdits().filter((k) => !step || k.step === step);
      process.stdout.write(values.json ? JSON.stringify(executionsJson(shown)) + '\n' : terminalText(formatExecutions(shown, edits)));
    }
    return EXIT_OK;
  });
}

function unknownStep(step: string, known: string[]): UsageError {
  const guess = suggest(step, known);
  return new UsageError(`no execution of a step named "${step}" is recorded${guess ? `. Did you mean "${guess}"?` : ''}`, `steps with history: ${known.join(', ') || 'none'}`);
}

/** `log --prune`: forget old executions and what only they used in the cache. */
async function pruneMain(values: { keep?: string; 'older-than'?: string; 'dry-run'?: boolean; json?: boolean; file?: string }): Promise<number> {
  if ((values.keep === undefined) === (values['older-than'] === undefined)) {
    throw new UsageError('log --prune needs one of --keep N or --older-than DURATION', 'example: prov-make log --prune --keep 10');
  }
  const rule = values.keep !== undefined ? { keep: wholeNumber('--keep', values.keep) } : { finishedBefore: Date.now() - parseAge(values['older-than']!) };
  const [{ pruneHistory, LocalActionCache }, { formatPrune }] = await Promise.all([import('@prov-make/cache'), import('../format/prune.js')]);
  return withHistory(values.file, async (ws, stores) => {
    const result = await pruneHistory(stores, new LocalActionCache(ws.paths.cacheDir), rule, Boolean(values['dry-run']));
    process.stdout.write(values.json ? JSON.stringify(result) + '\n' : formatPrune(result, Boolean(values['dry-run'])));
    return EXIT_OK;
  });
}

function wholeNumber(option: string, text: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(n)) throw new UsageError(`${option} expects a whole number, not "${text}"`);
  return n;
}

/** "30d", "12h", "2w", "90m", "45s" -> milliseconds. */
export function parseAge(text: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(s|m|min|h|d|w)$/.exec(text.trim());
  if (!m) throw new UsageError(`--older-than expects a duration like 30d, 12h, 2w, 90m or 45s, not "${text}"`);
  const unit = { s: 1000, m: 60_000, min: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 }[m[2] as 's' | 'm' | 'min' | 'h' | 'd' | 'w'];
  return Number(m[1]) * unit;
}

/** `log STEP --output`: what the execution printed, from the content store. */
async function printOutput(e: ExecutionRecord | undefined, executionId: string | undefined, step: string | undefined, content: WorkspaceStores['content']): Promise<number> {
  if (!e) throw new UsageError(executionId ? `no execution with id ${executionId}` : step ? `no execution of a step named "${step}" is recorded` : 'log --output needs a STEP (or --execution ID)');
  if (!e.outputLogHash) return void process.stderr.write(`prov-make: step ${e.step} printed nothing in execution ${e.id}\n`), EXIT_OK;
  if (!content.has(e.outputLogHash)) {
    process.stderr.write(`prov-make: the output of execution ${e.id} is no longer in the cache (removed by \`cache gc\`?)\n`);
    return EXIT_FAILED;
  }
  process.stdout.write(replayedOutput(await content.read(e.outputLogHash), process.stdout));
  return EXIT_OK;
}

export async function showMain(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, options: SHOW_OPTIONS, allowPositionals: true, strict: true });
  if (values.help) return void process.stdout.write(SHOW_HELP + '\n'), EXIT_OK;
  if (positionals.length !== 1 || (!values.for && !values.execution && !values.version)) throw new UsageError('usage: prov-make show FILE --for OUTPUT (or --execution ID, or --version HASH)');
  return withHistory(values.file, async (ws, stores) => {
    const file = storedPath(ws.paths, resolve(positionals[0]));
    let used: UsedVersion | null;
    let user: string;
    if (values.version) {
      used = keptVersion(stores.history.keptEdits(), values.version);
      user = 'the version asked for';
    } else if (values.execution) {
      const e = stores.history.get(values.execution);
      if (!e) throw new UsageError(`no execution with id ${values.execution}`, 'ids are listed by `prov-make log --json`');
      used = inputVersionIn(e, file);
      user = `execution ${e.id} (step ${e.step})`;
    } else {
      const output = storedPath(ws.paths, resolve(values.for!));
      const pipeline = await ws.pipeline().catch(() => null);
      const found = await inputVersionFor(await ws.lineageContext(pipeline), file, output);
      if (!found.made) {
        process.stderr.write(`prov-make: no step made the version of ${shownPath(output)} on disk, so nothing it was made from is recorded\n`);
        return EXIT_FAILED;
      }
      used = found.used;
      user = shownPath(output);
    }
    const hash = used?.hash;
    if (!hash) {
      process.stderr.write(`prov-make: ${shownPath(file)} is not among the inputs of ${user}\n`);
      return EXIT_FAILED;
    }
    if (!used!.sha256 || !stores.content.has(used!.sha256)) {
      const kept = !isAbsolute(file) && used!.size !== null && used!.size <= KEEP_INPUTS_UP_TO;
      process.stderr.write(kept
        ? `prov-make: the version of ${shownPath(file)} used by ${user} (${shortHash(hash)}) was kept, but \`prov-make cache gc\` has removed it from the cache since\n`
        : `prov-make: the version of ${shownPath(file)} used by ${user} (${shortHash(hash)}) is not in the cache (only workspace inputs up to 256 KiB are kept)\n`);
      return EXIT_FAILED;
    }
    process.stdout.write(replayedOutput(await stores.content.read(used!.sha256), process.stdout));
    return EXIT_OK;
  });
}

/** `show --version HASH`: the kept edit `prov-make log` named by that xxh64 (its object is by SHA-256). */
function keptVersion(edits: KeptEdit[], hash: string): UsedVersion {
  const edit = edits.find((k) => k.hash === hash);
  return { hash, sha256: edit?.sha256 ?? null, size: edit?.size ?? null };
}

export async function diffMain(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, options: COMMON, allowPositionals: true, strict: true });
  if (values.help) return void process.stdout.write(DIFF_HELP + '\n'), EXIT_OK;
  return withHistory(values.file, async (ws, { history }) => {
    const all = history.allExecutions();
    const runs = runsOf(all);
    if (positionals.length !== 0 && positionals.length !== 2) throw new UsageError('diff takes two run ids, or none for the last two runs');
    const pick = (id: string) => {
      const r = runs.find((x) => x.runId === id);
      if (!r) throw new UsageError(`no run with id ${id}`, 'run ids are listed by `prov-make log --runs`');
      return r;
    };
    if (runs.length < 2 && positionals.length === 0) throw new UsageError('fewer than two runs are recorded');
    const [a, b] = positionals.length ? [pick(positionals[0]), pick(positionals[1])] : runs.slice(-2);
    const pipeline = await ws.pipeline().catch(() => null);
    const diff = diffRuns(all, a, b, stepOrder(pipeline, all));
    process.stdout.write(values.json ? JSON.stringify(diffJson(diff)) + '\n' : terminalText(formatDiff(diff)));
    return EXIT_OK;
  });
}
