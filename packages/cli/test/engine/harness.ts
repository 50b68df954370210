/** A workspace on an in-memory disk with fake steps: the real engine, stores in a temp folder. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach } from 'vitest';
import { describe as say } from '../../src/engine/reasons.js';
import type { RunReport } from '../../src/engine/report.js';
import { parsePipeline } from '../../src/pipeline/pipeline.js';
import { openWorkspace, type RunOptions, type Workspace } from '../../src/workspace/workspace.js';
import { FakeRunner, type FakeStep } from './fake-runner.js';
import { MemoryDisk } from './memory-disk.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

export function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'pm-engine-'));
  cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export interface TestWorkspace {
  disk: MemoryDisk;
  runner: FakeRunner;
  ws: Workspace;
  warnings: string[];
  /** name -> status of a run (or plan); `reasons` the same with the reason in words. */
  run(options?: RunOptions): Promise<Record<string, string>>;
  plan(): Promise<Record<string, string>>;
  last: RunReport | null;
  reason(step: string): string;
}

export interface TestOptions {
  /** The cache folder (share it between workspaces to test the step cache). */
  cacheDir?: string;
  /** The disk (a clone of another workspace's). */
  disk?: MemoryDisk;
  /** Blobs shared with another workspace. */
  blobs?: Map<string, Buffer>;
  /** Give the pipeline a content key, so the no-op snapshot is written and used. */
  contentKey?: string;
}

/** `pipeline` is the YAML of pipeline.yml; each step's behaviour is in `steps`, by step name. */
export function testWorkspace(pipeline: string, files: Record<string, string>, steps: Record<string, FakeStep>, options: TestOptions = {}): TestWorkspace {
  const disk = options.disk ?? new MemoryDisk(files);
  const parsed = parsePipeline(pipeline, join(disk.root, 'pipeline.yml'));
  if (options.contentKey) parsed.contentKey = options.contentKey;
  const runner = new FakeRunner(disk, steps);
  const warnings: string[] = [];
  const ws = openWorkspace(join(disk.root, 'pipeline.yml'), {
    pipeline: parsed,
    disk,
    blobs: disk.blobs(options.blobs),
    runner,
    stateDir: tempDir(),
    cacheDir: options.cacheDir ?? tempDir(),
    warn: (m) => warnings.push(m),
  });
  cleanups.unshift(() => ws.close());
  const statuses = (r: RunReport) => Object.fromEntries(r.steps.map((s) => [s.name, s.status]));
  const t: TestWorkspace = {
    disk,
    runner,
    ws,
    warnings,
    last: null,
    async run(o) {
      runner.started.length = 0;
      disk.hashed.length = 0;
      t.last = await ws.runPipeline(o);
      return statuses(t.last);
    },
    async plan() {
      runner.started.length = 0;
      t.last = await ws.planPipeline();
      return statuses(t.last);
    },
    reason: (step) => say(t.last!.steps.find((s) => s.name === step)!.reason),
  };
  return t;
}

/** Every step's status equals `status`. */
export function all(names: string[], status: string): Record<string, string> {
  return Object.fromEntries(names.map((n) => [n, status]));
}
