/**
 * `prov-make watch` as a library: run what is out of date, watch what the traces depend on, and
 * run again when one of those files changes, with the same engine, decisions and reasons as `run`
 * (one Workspace handle: the stores stay open between runs).
 *
 * Events are queued and settled: a burst of saves is one run. Events that come while a run goes on
 * wait for it to end, then are judged against what the run recorded: a step's own output is what
 * it recorded, so it runs nothing, while an edit of an input a step had already read is a change,
 * and an input changed under a running step made that execution untrusted (the engine's rule), so
 * it runs again. The watch set is derived again from the traces after every run.
 */
import { existsSync } from 'node:fs';
import type { RunEvents, RunReport } from '../engine/report.js';
import type { Pipeline } from '../pipeline/types.js';
import type { Workspace } from '../workspace/workspace.js';
import { FolderWatcher } from './folder-watcher.js';
import { pipelineKeyOf, WatchSet, type Change } from './watch-set.js';

export interface WatchOptions {
  /** Steps to keep up to date (with what they depend on); all when empty. */
  targets?: string[];
  jobs?: number;
  keepGoing?: boolean;
  /** Aborting stops the running steps and ends the watch. */
  signal: AbortSignal;
  /** Quiet time after an event before the run starts (default 25 ms): a burst of saves is one run. */
  settleMs?: number;
}

export interface WatchView {
  /** A run starts, for `changes` (none: the first run); returns the events to show it with. */
  runStarting(changes: Change[]): RunEvents;
  /** It ended with a report, or could not start (a broken pipeline file: watching goes on). */
  runEnded(outcome: { report: RunReport } | { error: unknown }): Promise<void>;
  /** Watching (again): how much, and which folders did not fit under the system's inotify limit. */
  watching(state: { paths: number; folders: number; overLimit: string[] }): void;
  /** Runs keep changing what earlier steps read: no run until the next edit. */
  paused(reason: string): void;
}

/** Quiet time after the last event before a run. */
const SETTLE_MS = 25;
/** Events keep coming (a log being written): run anyway this long after the first. */
const MAX_SETTLE_MS = 300;
/** Runs started one after the other, each for what the last one changed, before waiting for an edit. */
const MAX_CHAINED_RUNS = 5;

export async function watchPipeline(ws: Workspace, options: WatchOptions, view: WatchView): Promise<void> {
  const watch = new PipelineWatch(ws, options, view);
  try {
    await watch.loop();
  } finally {
    watch.close();
  }
}

class PipelineWatch {
  private set: WatchSet;
  private readonly folders: FolderWatcher;
  /** Paths with events not judged yet: whether one was about an entry coming or going. */
  private readonly queue = new Map<string, boolean>();
  private running = false;
  private timer: NodeJS.Timeout | null = null;
  private firstQueuedAt = 0;
  private wake: (() => void) | null = null;
  /** The pipeline file's content key as the last run read it. */
  private ranWith: string | undefined;
  /** The watch set was derived from the deps log right before the run now going on. */
  private derivedBeforeRun = false;

  constructor(
    private readonly ws: Workspace,
    private readonly options: WatchOptions,
    private readonly view: WatchView,
  ) {
    this.set = WatchSet.pipelineOnly(ws.paths.root, ws.paths.pipelineFile);
    this.folders = new FolderWatcher((path, kind) => this.event(path, kind));
    options.signal.addEventListener('abort', () => this.wake?.(), { once: true });
  }

  async loop(): Promise<void> {
    let changes: Change[] = [];
    let chained = 0;
    await this.watchRecorded();
    for (let first = true; !this.options.signal.aborted; first = false) {
      if (!first && changes.length === 0) {
        await this.idle();
        chained = 0;
        changes = await this.judgeQueue();
        continue;
      }
      const report = await this.run(changes);
      if (report?.interrupted || this.options.signal.aborted) return;
      changes = await this.afterRun(report);
      if (changes.length) changes.push(...(await this.settled())); // saves still coming are one more run, not two
      const untrusted = report?.hazards.some((h) => h.kind === 'changed-while-running') ?? false;
      if (untrusted && changes.length === 0) changes = report!.hazards.filter((h) => h.kind === 'changed-while-running').map((h) => ({ path: h.path, what: 'changed' }));
      if (changes.length && ++chained > MAX_CHAINED_RUNS) {
        this.view.paused(`${MAX_CHAINED_RUNS} runs in a row each changed what an earlier step read (see the hazards above)`);
        changes = [];
      }
    }
  }

  private async run(changes: Change[]): Promise<RunReport | null> {
    this.running = true;
    const { targets, jobs, keepGoing, signal } = this.options;
    this.ranWith = pipelineKeyOf(this.ws.paths.pipelineFile);
    try {
      const report = await this.ws.runPipeline({ targets, jobs, keepGoing, signal, events: this.view.runStarting(changes) });
      await this.view.runEnded({ report });
      return report;
    } catch (err) {
      if (!isUserError(err)) throw err;
      await this.view.runEnded({ error: err });
      return null;
    } finally {
      this.running = false;
    }
  }

  /**
   * Before the first run: what the recorded traces depend on is watched already, so nothing changes
   * unseen while it runs, and a first run that changes nothing needs no second look.
   */
  private async watchRecorded(): Promise<void> {
    const pipeline = existsSync(this.ws.paths.stateDir) ? await this.ws.pipeline().catch(() => null) : null;
    if (pipeline) this.set = await this.derive(pipeline, pipeline.steps.map((s) => s.name), pipeline.contentKey);
    this.derivedBeforeRun = Boolean(pipeline);
    this.folders.sync(this.set.folders().keys(), (f) => this.inWorkspace(f));
  }

  /** The new watch set and watches; then what changed meanwhile (events during the run, folders watched only now). */
  private async afterRun(report: RunReport | null): Promise<Change[]> {
    // derived just before this run (the first), and nothing recorded since: the same paths
    const unchanged = report !== null && this.derivedBeforeRun && report.steps.every((s) => s.status === 'skipped');
    this.derivedBeforeRun = false;
    const pipeline = report && !unchanged ? await this.ws.pipeline().catch(() => null) : null;
    if (unchanged) this.set = this.set.withPipelineKey(this.ranWith);
    else if (report && pipeline) this.set = await this.derive(pipeline, report.steps.map((s) => s.name), this.ranWith);
    else this.set = this.set.withPipelineKey(undefined); // any event on the pipeline file is worth a run
    const { added, overLimit } = this.folders.sync(this.set.folders().keys(), (f) => this.inWorkspace(f));
    for (const f of added) for (const p of this.set.pathsIn(f)) this.queue.set(p, this.queue.get(p) ?? false);
    this.view.watching({ paths: this.set.size, folders: this.folders.count, overLimit });
    return this.judgeQueue();
  }

  private async derive(pipeline: Pipeline, steps: string[], ranWith: string | undefined): Promise<WatchSet> {
    const stores = await this.ws.openStores();
    return WatchSet.derive(this.ws.paths.root, pipeline, steps, stores.deps, stores.disk, ranWith);
  }

  private inWorkspace(folder: string): boolean {
    return folder === this.ws.paths.root || folder.startsWith(this.ws.paths.root + '/');
  }

  private event(path: string, kind: 'entry' | 'content' | 'folder'): void {
    if (kind === 'folder') for (const p of this.set.pathsIn(path)) this.queue.set(p, true);
    this.queue.set(path, kind !== 'content' || (this.queue.get(path) ?? false));
    if (this.running) return;
    const now = Date.now();
    if (!this.timer) this.firstQueuedAt = now;
    else clearTimeout(this.timer);
    const settle = Math.min(this.options.settleMs ?? SETTLE_MS, Math.max(0, this.firstQueuedAt + MAX_SETTLE_MS - now));
    this.timer = setTimeout(() => {
      this.timer = null;
      this.wake?.();
    }, settle);
  }

  /** Until events settle (or the watch is stopped). */
  private idle(): Promise<void> {
    if (this.queue.size && !this.timer) return Promise.resolve();
    return new Promise((resolve) => {
      this.wake = () => {
        this.wake = null;
        resolve();
      };
      if (this.options.signal.aborted) this.wake();
    });
  }

  /** After the quiet time: the changes queued meanwhile. */
  private async settled(): Promise<Change[]> {
    await new Promise((r) => setTimeout(r, this.options.settleMs ?? SETTLE_MS));
    return this.judgeQueue();
  }

  /** The queued events that are changes a run would act on. */
  private async judgeQueue(): Promise<Change[]> {
    const queued = [...this.queue];
    this.queue.clear();
    const changes: Change[] = [];
    for (const [path, entry] of queued) {
      const change = await this.set.changeAt(path, entry);
      if (change) changes.push(change);
    }
    return changes;
  }

  close(): void {
    if (this.timer) clearTimeout(this.timer);
    this.folders.close();
  }
}

/** A pipeline the user is editing, or a step name it no longer has: said, and watching goes on. */
function isUserError(err: unknown): boolean {
  const e = err as { name?: string; code?: string };
  return e?.name === 'PipelineError' || e?.code === 'E_UNKNOWN_STEP';
}
