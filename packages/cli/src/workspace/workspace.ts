/**
 * A workspace opened once, run many times (a command runs once; watch mode will run on every change):
 * `openWorkspace(file)` -> runPipeline, planPipeline, explainFile, history, close. Opening is cheap:
 * the stores (lmdb) and the engine load on first need, so a no-op run the snapshot proves never
 * loads them. The disk, the step runner and the blob store can be injected (engine unit tests).
 */
import type { BlobStore, Disk, RemoteCacheOptions, WorkspaceStores } from '@prov-make/cache';
import { nodeDisk, TEMP_DIR } from '@prov-make/cache/disk';
import { spawnSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileCheckProgram } from '@prov-make/interposer';
import { terminalText } from '../format/terminal-text.js';
import { pipelineSource, type PipelineSource } from '../pipeline/load.js';
import type { ExecutorName, Pipeline } from '../pipeline/types.js';
import type { BuildState } from '../engine/build-state.js';
import type { BuildOptions } from '../engine/builder.js';
import type { PlanOptions } from '../engine/planner.js';
import type { RunEvents, RunReport, StepReport } from '../engine/report.js';
import type { LineageContext } from '../provenance/lineage.js';
import type { WhyAnswer } from '../provenance/why.js';
import { LocalStepRunner } from '../runner/local-runner.js';
import { hasLeftovers } from '../runner/leftovers-file.js';
import type { StepRunner } from '../runner/step-runner.js';
import { otherRunInProgress, WorkspaceLock } from './lock.js';
import { absolutePath, makeStateDirs, storedPath, workspacePaths, type PathOptions, type WorkspacePaths } from './paths.js';
import { checkSnapshot, forgetSnapshot, type SnapshotCheck, type SnapshotPlace } from '../engine/snapshot.js';
import { FOCUS_MAX_CHANGED, focusOnChanges } from '../engine/focus.js';

export interface OpenOptions extends PathOptions {
  /** The parsed pipeline, when the caller has it; otherwise the file is loaded through the parse cache. */
  pipeline?: Pipeline;
  /** The workspace's files (default: the real file system). */
  disk?: Disk;
  /** Where outputs are kept (default: the content store in the cache folder). */
  blobs?: BlobStore;
  /** How steps are executed (default: locally, traced, in process groups). */
  runner?: StepRunner;
  /** A remote cache (Bazel HTTP layout). */
  remote?: RemoteCacheOptions;
  /** Where cache warnings go (default: stderr). */
  warn?: (message: string) => void;
  /** The caller's environment, of which steps see a part (default: this process's; pipeline/step-env.ts). */
  env?: NodeJS.ProcessEnv;
}

export interface RunOptions extends BuildOptions {
  /** Wait for another run in the same workspace (default) or fail at once with LockedError. */
  waitForLock?: boolean;
  /** Where steps run, over the pipeline's `executor:` (default local). Ignored with an injected runner. */
  executor?: ExecutorName;
}

export type { PlanOptions };

/** A cache warning on stderr: what it quotes from an entry (paths, a forged target) shown escaped. */
const warnOnTerminal = (message: string): void => {
  process.stderr.write(`prov-make: warning: ${terminalText(message)}\n`);
};

export class Workspace {
  readonly paths: WorkspacePaths;
  /** The injected runner, or the local one; the Slurm one is loaded when a run needs it. */
  private readonly runner: StepRunner;
  private slurmRunner: Promise<StepRunner> | null = null;
  private readonly snapshotPlace: SnapshotPlace;
  private stores: WorkspaceStores | null = null;
  private runs = 0;

  constructor(pipelineFile: string, private readonly options: OpenOptions = {}) {
    this.paths = workspacePaths(pipelineFile, options);
    this.runner = options.runner ?? new LocalStepRunner(this.paths.runDir);
    this.snapshotPlace = { root: this.paths.root, stateDir: this.paths.stateDir, disk: options.disk ?? withFileCheck(nodeDisk()), callerEnv: options.env ?? process.env };
  }

  /** The pipeline, not parsed yet: its content key is all the no-op fast path needs. */
  source(): PipelineSource {
    const given = this.options.pipeline;
    if (given) return { file: given.file, readable: () => true, stamp: () => undefined, contentKey: () => given.contentKey, load: async () => given };
    return pipelineSource(this.paths.pipelineFile, this.paths.stateDir);
  }

  /** The parsed pipeline (PipelineError when the file is not a valid pipeline). */
  pipeline(): Promise<Pipeline> {
    return this.source().load();
  }

  /** Brings the pipeline up to date: runs, restores or skips each step; one run at a time per workspace. */
  async runPipeline(options: RunOptions = {}): Promise<RunReport> {
    const started = Date.now();
    const source = this.source();
    // A file that cannot even be read is reported before anything is made on disk.
    const parsed = this.options.pipeline ?? (source.readable() ? null : await source.load());
    makeStateDirs(this.paths);
    const lock = await WorkspaceLock.acquire(this.paths.stateDir, { wait: options.waitForLock ?? true, onWait: options.events?.waitingForLock });
    try {
      await this.stopLeftovers();
      const snap = await this.snapshotCheck(source, parsed, options);
      if (snap?.upToDate) return allUpToDate(snap.names, 'skipped', options.events, started);
      const pipeline = parsed ?? (await source.load());
      const [{ build }, state] = await Promise.all([import('../engine/builder.js'), this.buildState(pipeline)]);
      const focus = snap ? (focusOnChanges(state, snap.snap, snap.changed) ?? undefined) : undefined;
      forgetSnapshot(this.paths.stateDir); // a run killed from here on leaves no snapshot behind
      const slurm = !this.options.runner && (options.executor ?? pipeline.executor) === 'slurm';
      const runner = slurm ? await this.slurm() : this.runner;
      const jobs = options.jobs ?? (slurm ? (await import('../runner/slurm-runner.js')).SLURM_DEFAULT_JOBS : 1);
      return await build(state, runner, { ...options, jobs }, started, focus);
    } finally {
      lock.release();
    }
  }

  /** What a killed run left, whatever its executor: process groups, the Slurm jobs its ids file names, its temp files. */
  private async stopLeftovers(): Promise<void> {
    await this.runner.stopLeftovers();
    rmSync(join(this.paths.stateDir, TEMP_DIR), { recursive: true, force: true }); // only a run uses it, under the lock
    if (!this.options.runner && (this.slurmRunner || hasLeftovers(this.paths.slurmJobsFile))) await (await this.slurm()).stopLeftovers();
  }

  /** The Slurm runner, loaded on first need (one per workspace handle: one client, one squeue per tick). */
  private slurm(): Promise<StepRunner> {
    this.slurmRunner ??= import('../runner/slurm-runner.js').then(({ SlurmStepRunner }) => new SlurmStepRunner(this.paths, { warn: this.options.warn }));
    return this.slurmRunner;
  }

  /** What runPipeline would do, and why: runs nothing, writes nothing, takes no lock. */
  async planPipeline(options: PlanOptions = {}): Promise<RunReport> {
    const started = Date.now();
    const source = this.source();
    const parsed = this.options.pipeline ?? (source.readable() ? null : await source.load());
    makeStateDirs(this.paths);
    const snap = await this.snapshotCheck(source, parsed, options);
    if (snap?.upToDate) return allUpToDate(snap.names, 'up-to-date', undefined, started);
    const pipeline = parsed ?? (await source.load());
    const [{ planSteps }, state] = await Promise.all([import('../engine/planner.js'), this.buildState(pipeline)]);
    return planSteps(state, options, started, snap ? (focusOnChanges(state, snap.snap, snap.changed) ?? undefined) : undefined);
  }

  /**
   * What the no-op snapshot says (snapshot.ts): everything up to date, or which files changed (when
   * few did, so the engine examines only the steps they concern), or nothing. Not asked when
   * targets or --force choose the steps.
   */
  private async snapshotCheck(source: PipelineSource, parsed: Pipeline | null, options: { force?: boolean; targets?: string[] }): Promise<SnapshotCheck> {
    if (options.force || options.targets?.length) return null;
    return checkSnapshot(this.snapshotPlace, source, parsed ? await this.stepIdentities(parsed) : undefined, FOCUS_MAX_CHANGED);
  }

  /**
   * Which step made the version of `path` on disk (relative paths are taken from the workspace
   * root), from which inputs, down to the sources; whether it is up to date, and if not, why (the
   * plan's reasons included when the pipeline loads).
   */
  async explainFile(path: string): Promise<WhyAnswer> {
    const { explainFile } = await import('../provenance/why.js');
    const pipeline = await this.pipeline().catch(() => null); // a broken pipeline file must not hide the history
    const plan = pipeline ? await this.planPipeline() : null;
    return explainFile(await this.lineageContext(pipeline), storedPath(this.paths, absolutePath(this.paths, path)), plan);
  }

  /** What provenance queries (why, show) need: the history, the disk, the pipeline and the steps' identities now. */
  async lineageContext(pipeline: Pipeline | null): Promise<LineageContext> {
    const [{ StepIdentities }, stores] = await Promise.all([import('../pipeline/definition.js'), this.openStores()]);
    return { root: this.paths.root, history: stores.history, disk: stores.disk, pipeline, identities: new StepIdentities(this.callerEnv) };
  }

  private get callerEnv(): NodeJS.ProcessEnv {
    return this.options.env ?? process.env;
  }

  /** The steps' names and definition hashes, for the snapshot to check when the pipeline is parsed already. */
  private async stepIdentities(pipeline: Pipeline): Promise<[string, string][]> {
    const { StepIdentities } = await import('../pipeline/definition.js');
    const identities = new StepIdentities(this.callerEnv);
    return pipeline.steps.map((s) => [s.name, identities.of(s).hash]);
  }

  /** The stores (lmdb): opened on first need, kept until close(). */
  async openStores(): Promise<WorkspaceStores> {
    if (this.stores) return this.stores;
    const { WorkspaceStores } = await import('@prov-make/cache');
    makeStateDirs(this.paths);
    const { disk, blobs, remote, warn = warnOnTerminal } = this.options;
    // While another run writes the stores, their pages are checked by that run, not read half-written here.
    const check = !otherRunInProgress(this.paths.stateDir);
    this.stores = WorkspaceStores.open(this.paths, { disk, blobs, remote, warn, check });
    return this.stores;
  }

  private async buildState(pipeline: Pipeline): Promise<BuildState> {
    const [{ BuildState }, stores] = await Promise.all([import('../engine/build-state.js'), this.openStores()]);
    // Another run may have interned paths since this process last ran (watch mode): read them again.
    if (this.runs++ > 0) stores.deps.reload();
    stores.steps.beginRun(); // a remote that failed last time is asked again, with a new time budget
    return new BuildState(this.paths, pipeline, stores, this.callerEnv);
  }

  async close(): Promise<void> {
    await this.stores?.close();
    this.stores = null;
  }
}

export function openWorkspace(pipelineFile: string, options: OpenOptions = {}): Workspace {
  return new Workspace(pipelineFile, options);
}

/** The report of a run the snapshot proved to be a no-op. */
function allUpToDate(names: string[], status: 'skipped' | 'up-to-date', events: RunEvents | undefined, started: number): RunReport {
  const steps = names.map((name): StepReport => ({ name, status, reason: { kind: 'up-to-date' }, durationMs: 0 }));
  for (const r of steps) events?.stepFinished?.(r);
  return { ok: true, steps, hazards: [], interrupted: false, durationMs: Date.now() - started };
}

/** The node disk with pm-check (C) as its bulk token check: an lstat from Node costs ~4.5 us, from C ~1 us. */
function withFileCheck(disk: Disk): Disk {
  return {
    ...disk,
    changedEntries(root, listFile, max) {
      if (!existsSync(fileCheckProgram)) return undefined;
      const r = spawnSync(fileCheckProgram, ['--changed', String(max), root, listFile], { stdio: ['ignore', 'pipe', 'ignore'], encoding: 'latin1' });
      if (r.status === 3) return null; // more than max
      if (r.status !== 0 && r.status !== 1) return undefined;
      return r.stdout === '' ? [] : r.stdout.trimEnd().split('\n').map(Number);
    },
  };
}
