/** `prov-make watch [pipeline.yml] [STEP...] [-j N] [-k]`: run what is out of date, then again on every change. */
import { relative } from 'node:path';
import { parseArgs } from 'node:util';
import type { RunEvents, RunReport } from '../engine/report.js';
import { formatSummary } from '../format/run.js';
import type { Change } from '../watch/watch-set.js';
import { inotifyLimit } from '../watch/folder-watcher.js';
import type { WatchView } from '../watch/watch-loop.js';
import { EXIT_OK } from '../usage.js';
import type { CommandModule } from './command.js';
import { CACHE_OPTIONS, interruptible, jobsOption, openWithCacheOptions } from './run.js';
import { pipelineFileAndRest } from './workspace-args.js';
import { displayPath } from '../format/terminal-text.js';

export const WATCH_HELP = `usage: prov-make watch [pipeline.yml] [STEP...] [options]

Runs what is out of date, then watches the files the steps' traces depend on (their inputs, the
programs they ran, their outputs, the paths they looked for, the folders they listed, the folders
foreach globs walk, and the pipeline file) and, on a change, runs again: the same decisions and
reasons as \`prov-make run\`. A burst of saves is one run; edits made while a step runs are taken
after it (an input changed under a running step makes it run again). A broken edit of the pipeline
file is shown, and watching goes on. Ctrl-C stops the running steps and ends.

  -j, --jobs N        run up to N steps at once (default 1; with the Slurm executor, 100)
  -k, --keep-going    after a failure, go on with the steps that do not use the failed one
  --cache-dir DIR, --remote URL, --remote-*, -f FILE   as for \`run\`
It watches folders, not files (one inotify watch per folder). When the system's limit is reached
it says so and how to raise it (fs.inotify.max_user_watches).
Exit code: 130 when stopped with Ctrl-C, 2 bad usage.`;

const WATCH_OPTIONS = { ...CACHE_OPTIONS, jobs: { type: 'string', short: 'j' }, 'keep-going': { type: 'boolean', short: 'k' } } as const;

export const WATCH: CommandModule = { main: watchMain, options: WATCH_OPTIONS, operands: 'steps' };

export async function watchMain(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, options: WATCH_OPTIONS, allowPositionals: true, strict: true });
  if (values.help) return void process.stdout.write(WATCH_HELP + '\n'), EXIT_OK;
  const jobs = jobsOption(values.jobs);
  const { file, rest: targets } = pipelineFileAndRest(positionals, values.file);
  const ws = openWithCacheOptions(file, values);
  const abort = new AbortController();
  const stopOnSignals = interruptible(abort, false);
  const { watchPipeline } = await import('../api.js');
  try {
    const tty = Boolean(process.stdout.isTTY) && !process.env.CI;
    await watchPipeline(ws, { targets, jobs, keepGoing: Boolean(values['keep-going']), signal: abort.signal }, await (tty ? terminalView(ws.paths.root) : plainView(ws.paths.root)));
  } finally {
    stopOnSignals();
    await ws.close();
  }
  return 130;
}

/** What to say about one watch cycle, shared by the plain and the terminal view. */
class Narrator {
  private said = false;
  private limitSaid = false;

  constructor(private readonly root: string, private readonly write: (s: string) => void) {}

  starting(changes: Change[]): void {
    this.said = false;
    if (changes.length === 0) return;
    const shown = changes.slice(0, 3).map((c) => describeChange(this.root, c)).join(', ');
    this.write(`\nprov-make: ${shown}${changes.length > 3 ? ` (and ${changes.length - 3} more)` : ''}\n`);
    this.said = true;
  }

  /** A run worth a word: something ran, was restored, failed or was blocked, or a hazard. */
  ended(report: RunReport | null, error: unknown, first: boolean): string {
    if (error) {
      this.said = true;
      const e = error as { format?: () => string; message?: string };
      return `${typeof e.format === 'function' ? e.format() : `prov-make: error: ${e.message}`}\nprov-make: fix it and save: watching goes on\n`;
    }
    if (!report || (!first && !this.said && report.hazards.length === 0 && report.steps.every((s) => s.status === 'skipped'))) return '';
    this.said = true;
    return formatSummary(report);
  }

  watching(state: { paths: number; folders: number; overLimit: string[] }): void {
    if (state.overLimit.length && !this.limitSaid) {
      this.limitSaid = true;
      const limit = inotifyLimit();
      this.write(
        `prov-make: warning: the system's limit of inotify watches is reached${limit ? ` (fs.inotify.max_user_watches = ${limit})` : ''}: ` +
          `${state.overLimit.length} folder(s) are not watched (e.g. ${displayPath(relative(this.root, state.overLimit[0]) || '.')}), so edits there are seen only when something else starts a run\n` +
          `  hint: raise it: sudo sysctl fs.inotify.max_user_watches=524288 (to keep it: echo fs.inotify.max_user_watches=524288 | sudo tee /etc/sysctl.d/90-inotify.conf)\n`,
      );
    }
    if (this.said) this.write(`prov-make: watching ${state.paths} path(s) in ${state.folders} folder(s); Ctrl-C to stop\n`);
  }

  paused(reason: string): void {
    this.write(`prov-make: waiting for an edit: ${reason}\n`);
  }

  /** The run view said something. */
  spoke(): void {
    this.said = true;
  }
}

function describeChange(root: string, c: Change): string {
  const p = displayPath(relative(root, c.path) || '.');
  switch (c.what) {
    case 'changed': return `${p} changed`;
    case 'appeared': return `${p} appeared`;
    case 'deleted': return `${p} was deleted`;
    case 'entries': return `the entries of ${p}/ changed`;
    case 'pipeline': return `${p} changed`;
    case 'folder': return `folder ${p} was moved or deleted`;
  }
}

/** In a pipe: plain lines, without the steps that stayed up to date. */
async function plainView(root: string): Promise<WatchView> {
  const { plainEvents } = await import('../ui/plain.js');
  const write = (s: string) => process.stdout.write(s);
  const say = new Narrator(root, write);
  let runs = 0;
  return {
    runStarting(changes) {
      say.starting(changes);
      return withoutSkipped(plainEvents(write, { streamOutput: true }));
    },
    async runEnded(outcome) {
      write(say.ended('report' in outcome ? outcome.report : null, 'error' in outcome ? outcome.error : null, runs++ === 0));
    },
    watching: (state) => say.watching(state),
    paused: (reason) => say.paused(reason),
  };
}

/** In a terminal: the run view of `run` for each run that does something, opened on its first event. */
async function terminalView(root: string): Promise<WatchView> {
  const { inkRunView } = await import('../ui/ink-view.js');
  const write = (s: string) => process.stdout.write(s);
  const say = new Narrator(root, write);
  let view: ReturnType<typeof inkRunView> | null = null;
  let runs = 0;
  const open = () => (view ??= inkRunView()).events;
  return {
    runStarting(changes) {
      say.starting(changes);
      view = null;
      return {
        waitingForLock: (pid, host) => open().waitingForLock?.(pid, host),
        stepStarted: (step, reason) => open().stepStarted?.(step, reason),
        stepLine: (step, line) => view?.events.stepLine?.(step, line),
        stepFinished: (r) => (r.status === 'skipped' ? undefined : open().stepFinished?.(r)),
        hazard: (h) => open().hazard?.(h),
      };
    },
    async runEnded(outcome) {
      const first = runs++ === 0;
      if ('error' in outcome) {
        await view?.abandon();
        write(say.ended(null, outcome.error, first));
      } else if (view) {
        await view.finish(outcome.report);
        say.spoke();
      } else write(say.ended(outcome.report, null, first));
      view = null;
    },
    watching: (state) => say.watching(state),
    paused: (reason) => say.paused(reason),
  };
}

/** The run's events, without a line for each step that stayed up to date. */
function withoutSkipped(events: RunEvents): RunEvents {
  return { ...events, stepFinished: (r) => (r.status === 'skipped' ? undefined : events.stepFinished?.(r)) };
}
