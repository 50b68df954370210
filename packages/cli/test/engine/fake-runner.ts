/**
 * A StepRunner for engine unit tests: each step is a small function over a traced view of the
 * in-memory disk, which records what it reads, writes, looks for and lists as the interposer would
 * (the first access decides read or write; a path created by the step is not absent).
 */
import { posix } from 'node:path';
import type { ExecutionJob } from '@prov-make/cache';
import type { StepDependencies, TraceResult, TraceStats, WriteKind } from '@prov-make/interposer';
import type { JobFailure } from '../../src/engine/reasons.js';
import { StepStartError, type StartedStep, type StepExecution, type StepLaunch, type StepRunner } from '../../src/runner/step-runner.js';
import type { MemoryDisk } from './memory-disk.js';

export interface StepIO {
  /** A file's content; null (and an absent dependency) when it is not there. */
  read(path: string): string | null;
  /** A new file, or one truncated and rewritten. */
  write(path: string, content: string): void;
  /** A file's content read, then replaced (`sed -i`). */
  rewrite(path: string, edit: (content: string) => string): void;
  /** Bytes added at the end (`>>`): the old content survives. */
  append(path: string, content: string): void;
  /** Opened for writing, its times set, nothing written (`touch` on a file that exists). */
  touch(path: string): void;
  /** Permission bits changed (`chmod`). */
  chmod(path: string, mode: number): void;
  remove(path: string): void;
  /** Entry names of a folder (a listing dependency; with a listing rule, as a lister looking for names of one kind). */
  list(path: string, rule?: string): string[];
  /** Lets the other running steps go on (for -j tests). */
  pause(ms?: number): Promise<void>;
  /** Something else changes a file while the step runs. */
  disk: MemoryDisk;
}

/** How a cluster job ended when the scheduler ended it: its verdict, and the job. */
export interface FakeJobEnd {
  failure: JobFailure;
  job: ExecutionJob;
}

/** A step's behaviour: its exit code (0 when it returns nothing), or a scheduler's verdict. */
export type FakeStep = (io: StepIO) => void | number | FakeJobEnd | Promise<void | number | FakeJobEnd>;

export class FakeRunner implements StepRunner {
  /** Steps in the order they started, and the most that ran at once. */
  readonly started: string[] = [];
  readonly finished: string[] = [];
  /** Every launch, as the engine asked for it. */
  readonly launches: StepLaunch[] = [];
  /** Steps whose job is refused (StepStartError), with the refusal. */
  readonly refusals = new Map<string, string>();
  maxRunning = 0;
  private running = 0;

  constructor(
    private readonly disk: MemoryDisk,
    private readonly steps: Record<string, FakeStep>,
  ) {}

  async stopLeftovers(): Promise<void> {}

  async start(launch: StepLaunch): Promise<StartedStep> {
    const behaviour = this.steps[launch.step];
    if (!behaviour) throw new Error(`no fake behaviour for step ${launch.step}`);
    this.launches.push(launch);
    const refusal = this.refusals.get(launch.step);
    if (refusal) throw new StepStartError(refusal, 'sbatch: error: refused\n');
    this.started.push(launch.step);
    this.maxRunning = Math.max(this.maxRunning, ++this.running);
    const trace = new Trace(this.disk, launch.cwd);
    const startedAt = Date.now();
    const done = (async () => {
      const end = (await behaviour(trace.io())) ?? 0;
      this.running--;
      this.finished.push(launch.step);
      const exitCode = typeof end === 'number' ? end : null;
      const deps = trace.deps(launch.ignore);
      const result: TraceResult = { exitCode, signal: null, deps, problems: [], fullyObserved: true, stats: trace.stats(deps), startedAt, finishedAt: Date.now() };
      const execution: StepExecution = { trace: result, output: Buffer.from(`${launch.step} ran
`), annotations: [], cancelled: false };
      return typeof end === 'number' ? execution : { ...execution, ...end };
    })();
    return { done, cancel: () => undefined };
  }
}

/** What one step did, reduced as packages/interposer reduces a real trace. */
class Trace {
  private readonly first = new Map<string, 'read' | 'write' | 'absent'>();
  private readonly written = new Set<string>();
  /** How each path was written, when not 'new' (as the reducer says it). */
  private readonly kinds = new Map<string, WriteKind>();
  private readonly listed = new Set<string>();
  /** Folders listed under rules only (a listing without one counts everything). */
  private readonly rules = new Map<string, Set<string> | null>();
  private readonly removed = new Set<string>();

  constructor(
    private readonly disk: MemoryDisk,
    private readonly cwd: string,
  ) {}

  private touch(abs: string, how: 'read' | 'write' | 'absent'): void {
    if (!this.first.has(abs)) this.first.set(abs, how);
    if (how === 'write') this.written.add(abs);
  }

  /** A write that may keep the old version: the old version was read (an input), unless the step made the file. */
  private changed(abs: string, kind: WriteKind): void {
    const made = this.written.has(abs) && !this.kinds.has(abs);
    this.touch(abs, 'read');
    this.written.add(abs);
    if (made) return; // still a file of its own making
    const was = this.kinds.get(abs);
    this.kinds.set(abs, was === 'in-place' && kind === 'metadata' ? 'in-place-retimed' : was === 'replaced-after-read' || was === 'in-place-retimed' ? was : kind);
  }

  io(): StepIO {
    const abs = (p: string) => posix.resolve(this.cwd, p);
    return {
      read: (p) => {
        const content = this.disk.read(abs(p));
        this.touch(abs(p), content === null ? 'absent' : 'read');
        return content;
      },
      write: (p, content) => {
        this.touch(abs(p), 'write');
        this.disk.write(abs(p), content);
      },
      rewrite: (p, edit) => {
        const before = this.disk.read(abs(p))!;
        this.touch(abs(p), 'read');
        this.changed(abs(p), 'replaced-after-read');
        this.disk.write(abs(p), edit(before));
      },
      append: (p, content) => {
        this.changed(abs(p), this.disk.exists(abs(p)) && this.disk.read(abs(p)) !== '' ? 'in-place' : 'new-if-created');
        this.disk.append(abs(p), content);
      },
      touch: (p) => {
        this.changed(abs(p), 'in-place-retimed');
        this.disk.touch(abs(p));
      },
      chmod: (p, mode) => {
        this.changed(abs(p), 'metadata');
        this.disk.chmod(abs(p), mode);
      },
      remove: (p) => {
        if (this.disk.exists(abs(p)) && !this.first.has(abs(p))) this.removed.add(abs(p));
        this.disk.remove(abs(p));
      },
      list: (p, rule) => {
        this.listed.add(abs(p));
        const had = this.rules.get(abs(p));
        this.rules.set(abs(p), rule === undefined || had === null ? null : new Set([...(had ?? []), rule]));
        return this.disk.readdir(abs(p)) ?? [];
      },
      pause: (ms = 20) => new Promise((r) => setTimeout(r, ms)),
      disk: this.disk,
    };
  }

  /** What lstat says of the step's paths as it ends, as the launcher gives it. */
  stats(deps: StepDependencies): TraceStats {
    const stats = new Map([...deps.reads, ...deps.writes, ...deps.deleted].map((p) => [p, this.disk.lstat(p) ?? null]));
    return { of: (p) => stats.get(p) };
  }

  deps(ignore: (abs: string) => boolean): StepDependencies {
    const keep = (p: string) => !ignore(p);
    const of = (how: string) => [...this.first].filter(([p, h]) => h === how && keep(p)).map(([p]) => p).sort();
    return {
      reads: of('read'),
      writes: [...this.written].filter((p) => keep(p) && this.disk.exists(p)).sort(),
      writeKinds: Object.fromEntries([...this.kinds].filter(([p]) => keep(p))),
      deleted: [...this.removed].filter((p) => !this.disk.exists(p)).sort(),
      absent: of('absent').filter((p) => !this.written.has(p)),
      listed: [...this.listed].filter(keep).sort(),
      listingRules: Object.fromEntries([...this.rules].filter(([p, r]) => keep(p) && r).map(([p, r]) => [p, [...r!]])),
      executed: [],
      untraced: [],
    };
  }
}
