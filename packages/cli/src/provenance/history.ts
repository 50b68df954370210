/**
 * Questions about recorded history (`log`, `diff`, `show`, `graph`): runs, the first step whose
 * inputs differed between two runs, the exact version of a file an output was made from.
 */
import type { ExecutionRecord, ProvenanceStore } from '@prov-make/cache';
import type { Pipeline } from '../pipeline/types.js';
import { buildLineage, nearestFirst, type LineageContext } from './lineage.js';

export interface RunSummary {
  runId: string;
  startedAt: number;
  finishedAt: number;
  executions: ExecutionRecord[];
}

/** Executions grouped by run, oldest run first. */
export function runsOf(all: ExecutionRecord[]): RunSummary[] {
  const runs = new Map<string, RunSummary>();
  for (const e of all) {
    let r = runs.get(e.runId);
    if (!r) runs.set(e.runId, (r = { runId: e.runId, startedAt: e.startedAt, finishedAt: e.finishedAt, executions: [] }));
    r.executions.push(e);
    r.startedAt = Math.min(r.startedAt, e.startedAt);
    r.finishedAt = Math.max(r.finishedAt, e.finishedAt);
  }
  return [...runs.values()].sort((a, b) => a.startedAt - b.startedAt);
}

export type InputChange =
  | { kind: 'added' }
  | { kind: 'changed'; sizeBefore: number | null; sizeAfter: number | null }
  | { kind: 'no-longer-read' };

export interface InputDifference {
  path: string;
  change: InputChange;
  before: string | null;
  after: string | null;
}

export interface RunDiff {
  runA: string;
  runB: string;
  /** The first step, in file order, whose inputs or definition differ; null when none does. */
  step: string | null;
  definitionChanged: boolean;
  files: InputDifference[];
}

/** What each step's state was after a run: its newest succeeded execution finished by then. */
function stateAfter(all: ExecutionRecord[], run: RunSummary, step: string): ExecutionRecord | undefined {
  let found: ExecutionRecord | undefined;
  for (const e of all) if (e.step === step && e.finishedAt <= run.finishedAt && e.status === 'succeeded') found = e;
  return found;
}

function inputDifferences(ea: ExecutionRecord, eb: ExecutionRecord): InputDifference[] {
  const files = (e: ExecutionRecord) => new Map([...e.inputs, ...e.executed].map((f) => [f.path, f]));
  const fa = files(ea);
  const fb = files(eb);
  const differences: InputDifference[] = [];
  for (const [path, f] of fb) {
    const old = fa.get(path);
    if (!old) differences.push({ path, change: { kind: 'added' }, before: null, after: f.hash });
    else if (old.hash !== f.hash) differences.push({ path, change: { kind: 'changed', sizeBefore: old.version?.size ?? null, sizeAfter: f.version?.size ?? null }, before: old.hash, after: f.hash });
  }
  for (const [path, f] of fa) if (!fb.has(path)) differences.push({ path, change: { kind: 'no-longer-read' }, before: f.hash, after: null });
  return differences;
}

/** The first step (in `order`) whose inputs or definition differ between runs a and b. */
export function diffRuns(all: ExecutionRecord[], a: RunSummary, b: RunSummary, order: string[]): RunDiff {
  for (const step of order) {
    const ea = stateAfter(all, a, step);
    const eb = stateAfter(all, b, step);
    if (!ea || !eb || ea.id === eb.id) continue;
    const files = inputDifferences(ea, eb);
    const definitionChanged = ea.definitionHash !== eb.definitionHash;
    if (files.length || definitionChanged) return { runA: a.runId, runB: b.runId, step, definitionChanged, files };
  }
  return { runA: a.runId, runB: b.runId, step: null, definitionChanged: false, files: [] };
}

/** The steps in file order when the pipeline loads, else in the order history first saw them. */
export function stepOrder(pipeline: Pipeline | null, all: ExecutionRecord[]): string[] {
  return pipeline ? pipeline.steps.map((s) => s.name) : [...new Set(all.map((e) => e.step))];
}

/** The graph's executions: the last succeeded one of each step of the pipeline, or all of history. */
export function graphExecutions(history: ProvenanceStore, pipeline: Pipeline | null, allHistory: boolean): ExecutionRecord[] {
  if (allHistory || !pipeline) return history.allExecutions();
  return pipeline.steps.map((s) => history.latestSuccessfulForStep(s.name)).filter((e): e is ExecutionRecord => Boolean(e));
}

/** A version of an input as a step used it: its xxh64, its content-store object (SHA-256) when its bytes were kept, and its size. */
export interface UsedVersion {
  hash: string | null;
  sha256: string | null;
  size: number | null;
}

/** The version of `file` that the version of `output` on disk was made from. */
export async function inputVersionFor(ctx: LineageContext, file: string, output: string): Promise<{ made: boolean; used: UsedVersion | null }> {
  const lineage = await buildLineage(ctx, output);
  if (!lineage.producedBy) return { made: false, used: null };
  // the version the output's own step read, if it read the file; else the nearest step's
  for (const node of nearestFirst(lineage)) {
    if (node !== lineage && node.path === file) return { made: true, used: { hash: node.version?.hash ?? null, sha256: node.version?.sha256 ?? null, size: node.version?.size ?? null } };
  }
  return { made: true, used: null };
}

/** The version of `file` as execution `e` read or ran it. */
export function inputVersionIn(e: ExecutionRecord, file: string): UsedVersion | null {
  const f = [...e.inputs, ...e.executed].find((x) => x.path === file);
  return f ? { hash: f.hash, sha256: f.sha256 ?? null, size: f.version?.size ?? null } : null;
}
