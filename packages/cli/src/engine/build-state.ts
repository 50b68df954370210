/**
 * What one run knows about the pipeline (ninja's State): the steps in file order, each one's state
 * from the deps log (updated as steps commit), who writes what, the files' current tokens, and the
 * workspace's stores and disk. Shared by the builder, the planner and the per-step logic.
 */
import picomatch from 'picomatch';
import { fromWorkspaceKey, isInsideFolder, newRunId, toWorkspaceKey, type DepsLog, type Disk, type StepState, type WorkspaceStores } from '@prov-make/cache';
import { StepIdentities, type StepIdentity } from '../pipeline/definition.js';
import type { Pipeline, Step } from '../pipeline/types.js';
import type { WorkspacePaths } from '../workspace/paths.js';
import { stepGraph, type StepGraph } from './graph.js';
import { TokenCache } from './tokens.js';
import { currentListing, OutputWriters, type Listing } from './writers.js';

/** Caches, Python byte code: written as a side effect, never a step's real product. */
const BUILTIN_IGNORES = ['**/__pycache__/**', '**/*.pyc'];

export class BuildState {
  readonly steps: Step[];
  readonly tokens: TokenCache;
  readonly disk: Disk;
  readonly deps: DepsLog;
  readonly root: string;
  readonly runId = newRunId();
  /** Paths never treated as dependencies: prov-make's own state, ignore globs, byte-code caches. */
  readonly ignored: (absPath: string) => boolean;
  private graphMemo: StepGraph | null = null;
  /**
   * Each step's state as of now: from the deps log (decoded on first use: the run after an edit
   * looks at a few steps), then as it commits. `null`: not decoded yet.
   */
  private readonly current: (StepState | undefined | null)[];
  /** The states as the run found them: the graph is built from these, whenever it is built. */
  private readonly initial: (StepState | undefined | null)[];
  private writersMemo: OutputWriters | null = null;
  private readonly identities: StepIdentities;
  private readonly identityMemo: (StepIdentity | undefined)[] = [];

  constructor(
    readonly paths: WorkspacePaths,
    readonly pipeline: Pipeline,
    readonly stores: WorkspaceStores,
    /** The caller's environment: the steps see part of it (pipeline/step-env.ts). */
    readonly callerEnv: NodeJS.ProcessEnv = process.env,
  ) {
    this.identities = new StepIdentities(callerEnv);
    this.root = paths.root;
    this.disk = stores.disk;
    this.deps = stores.deps;
    this.steps = pipeline.steps;
    this.current = this.steps.map(() => null);
    this.initial = this.steps.map(() => null);
    this.tokens = new TokenCache(this.root, this.disk, this.deps);
    this.ignored = ignoreRule(paths, pipeline.ignore);
  }

  /**
   * Who waits for whom: built on first use (a sequential no-op never needs it), from the states the
   * run started with, so -j 1 blocks what -j N blocks: a step that fails now may have written
   * nothing yet, but what it made before is still what its users read.
   */
  graph(): StepGraph {
    return (this.graphMemo ??= stepGraph(this.steps, this.steps.map((_, i) => this.initialState(i)), (id) => this.deps.pathOf(id)));
  }

  /** Step i's state as of now (undefined: it never ran, or its state is unreadable). */
  state(i: number): StepState | undefined {
    const st = this.current[i];
    return st === null ? this.initialState(i) : st;
  }

  /** Every step's state as of now (decodes them all). */
  get states(): (StepState | undefined)[] {
    return this.steps.map((_, i) => this.state(i));
  }

  private initialState(i: number): StepState | undefined {
    let st = this.initial[i];
    if (st === null) st = this.initial[i] = this.deps.get(this.steps[i].name);
    return st;
  }

  /** Who writes what: built on first use, from every step's state (a listing check needs it). */
  private get writers(): OutputWriters {
    if (this.writersMemo) return this.writersMemo;
    const writers = new OutputWriters(this.root, this.deps);
    this.steps.forEach((_, i) => {
      const st = this.state(i);
      if (st) writers.add(i, st);
    });
    return (this.writersMemo = writers);
  }

  /** Step i in this run: its environment, definition and definition hash. */
  identity(i: number): StepIdentity {
    return (this.identityMemo[i] ??= this.identities.of(this.steps[i]));
  }

  definitionHash(i: number): string {
    return this.identity(i).hash;
  }

  setState(i: number, state: StepState): void {
    const old = this.state(i);
    if (this.writersMemo) {
      if (old) this.writersMemo.remove(i, old);
      this.writersMemo.add(i, state);
    }
    this.current[i] = state;
  }

  /** Step i's listing exclusion (writers.ts): its outputs, later steps', and ignored paths. */
  leftOut(i: number): (absPath: string) => boolean {
    let written: ((abs: string) => boolean) | undefined; // the writers are built when a listing is checked
    return (abs) => this.ignored(abs) || (written ??= this.writers.leftOut(i))(abs);
  }

  /** The same exclusion as the next check will make, when step i's new outputs are not committed yet. */
  leftOutAfter(i: number, ownOutputs: ReadonlySet<string>): (absPath: string) => boolean {
    let later: ((abs: string) => boolean) | undefined;
    return (abs) => this.ignored(abs) || ownOutputs.has(abs) || (later ??= this.writers.ofLaterSteps(i))(abs);
  }

  /** A folder's listing token now (and the names it counts), narrowed by `rules` when given. */
  listingOf(absDir: string, leftOut: (absPath: string) => boolean, rules?: readonly string[]): Listing {
    return currentListing(this.disk, absDir, leftOut, rules);
  }

  abs(stored: string): string {
    return fromWorkspaceKey(this.root, stored);
  }

  stored(abs: string): string {
    return toWorkspaceKey(this.root, abs);
  }

  /** The stored path of an absolute one, with its deps-log id (interned on first use). */
  observedPath(abs: string): { path: string; id: number } {
    const path = this.stored(abs);
    return { path, id: this.deps.idOf(path) };
  }
}

function ignoreRule(paths: WorkspacePaths, globs: string[]): (abs: string) => boolean {
  const user = globs.length ? picomatch(globs, { dot: true }) : () => false;
  const builtin = picomatch(BUILTIN_IGNORES, { dot: true });
  return (abs) => {
    if (isInsideFolder(paths.stateDir, abs) || isInsideFolder(paths.cacheDir, abs)) return true;
    const rel = toWorkspaceKey(paths.root, abs);
    return builtin(rel) || user(rel) || user(abs);
  };
}
