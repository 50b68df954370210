/**
 * `prov-make run` and `status` as library calls: decide, step by step in file order, whether
 * each step is up to date, restore or run it, and record what it did.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RemoteCacheOptions } from '@prov-make/cache';
import type { Pipeline } from '../pipeline/pipeline.js';
import type { RunEvents, RunReport, StepReport } from './report.js';
import { everythingUpToDate, forgetSnapshot } from './up-to-date-snapshot.js';
import { openWorkspace, WorkspaceLock, type Workspace } from './workspace.js';

/** A pipeline not parsed yet: the no-op fast path needs only the content key of its bytes. */
export interface PipelineSource {
  file: string;
  contentKey: string | undefined;
  load(): Promise<Pipeline>;
}

export interface RunOptions {
  pipeline: Pipeline | PipelineSource;
  /** Steps to bring up to date (with what they depend on); all when empty. */
  targets?: string[];
  jobs?: number;
  force?: boolean;
  /** `status`: decide only, run nothing. */
  plan?: boolean;
  cacheDir?: string;
  /** Wait for another run in the same workspace (default) or fail at once. */
  waitForLock?: boolean;
  events?: RunEvents;
  signal?: AbortSignal;
  /** A remote cache (Bazel HTTP layout). */
  remote?: RemoteCacheOptions;
  /** Where cache warnings go (default stderr). */
  warn?: (message: string) => void;
}

export class UnknownStepError extends Error {}

export async function runPipeline(options: RunOptions): Promise<RunReport> {
  const started = Date.now();
  const source = options.pipeline;
  // A file that cannot even be read is reported before anything is made on disk.
  const parsed = 'steps' in source ? source : source.contentKey === undefined ? await source.load() : null;
  const ws = openWorkspace(source.file, { cacheDir: options.cacheDir });
  const lock = options.plan ? null : await WorkspaceLock.acquire(ws, { wait: options.waitForLock ?? true, onWait: options.events?.waitingForLock });
  try {
    if (lock) killLeftoverSteps(ws);
    const upToDate = !options.force && !options.targets?.length ? everythingUpToDate(ws, source.contentKey, parsed?.steps) : null;
    if (upToDate) return allUpToDate(upToDate, options, started);
    const pipeline = parsed ?? (await (source as PipelineSource).load());
    if (!options.plan) forgetSnapshot(ws); // a run killed from here on leaves no snapshot behind
    // The engine proper (lmdb, the stores, the tracer) loads only when the snapshot cannot answer.
    const [{ Runner }, { DepsLog }, { openStores }] = await Promise.all([import('./runner.js'), import('./deps-log.js'), import('./stores.js')]);
    const log = DepsLog.open(join(ws.stateDir, 'deps'));
    const stores = await openStores(ws, { remote: options.remote, warn: options.warn });
    try {
      return await new Runner(ws, pipeline, log, stores, options).run(started);
    } finally {
      await stores.close();
      await log.close();
    }
  } finally {
    lock?.release();
  }
}

/** The report of a run the snapshot proved to be a no-op. */
function allUpToDate(names: string[], options: RunOptions, started: number): RunReport {
  const status = options.plan ? 'up-to-date' : 'skipped';
  const steps = names.map((name) => ({ name, status, reason: 'up to date', durationMs: 0 }) as StepReport);
  for (const r of steps) options.events?.stepFinished?.(r);
  return { ok: true, steps, hazards: [], interrupted: false, durationMs: Date.now() - started };
}

/**
 * Steps run in process groups of their own. If a run was killed (kill -9), its steps may still be
 * running and writing: the next run, once it holds the lock, stops them before it looks at any file.
 */
function killLeftoverSteps(ws: Workspace): void {
  let text = '';
  try {
    text = readFileSync(join(ws.runDir, 'process-groups'), 'utf8');
  } catch {
    return;
  }
  for (const pgid of text.split('\n').map(Number).filter((n) => n > 1)) {
    try {
      process.kill(-pgid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
  writeFileSync(join(ws.runDir, 'process-groups'), '');
}

