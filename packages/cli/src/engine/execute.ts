/**
 * Executing one step: run its command under the interposer, then turn what it did into the
 * deps log state (for the next no-op check), cache its outputs and keep the execution in history.
 */
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { BigIntStats } from 'node:fs';
import { startTrace, type TraceResult } from '@prov-make/interposer';
import type { Step } from '../pipeline/pipeline.js';
import { definitionOf } from '../pipeline/definition.js';
import type { DepsLog, StepHashes, StepState } from './deps-log.js';
import { definitionHash } from './definition.js';
import type { FileHasher } from './hasher.js';
import { listingToken } from './listing.js';
import { storedPath, type Workspace } from './workspace.js';
import { ABSENT, nowNs, statOf, tokenToRecord } from './version-token.js';
import { OutputCapture } from './output.js';
import { versionFromStats, type ExecutionRecord, type RecordedFile } from '@prov-make/cache';

/** An execution as kept in history, plus whether the engine may trust it. */
export type Execution = ExecutionRecord & { trusted: boolean; distrust: string | null };

/** Workspace inputs up to this size are kept in the content cache (documented in the README). */
export const KEEP_INPUTS_UP_TO = 256n * 1024n;

export interface ExecuteContext {
  ws: Workspace;
  log: DepsLog;
  hasher: FileHasher;
  /** Store a file's bytes in the content cache; returns its hash. */
  storeBlob(absPath: string, hash: string): Promise<void>;
  storeBytes(bytes: Buffer): Promise<string>;
  /** Paths never treated as dependencies (state folder, ignore globs). */
  ignored(absPath: string): boolean;
  notListed(stepIndex: number): (absPath: string) => boolean;
  runId: string;
  newExecutionId(): string;
}

export interface RunningStep {
  /** Process id of the step's shell, also its process group id. */
  pid: number | undefined;
  /** Stops the step's whole process tree. */
  kill(signal?: NodeJS.Signals): void;
  done: Promise<StepOutcome>;
}

export interface StepOutcome {
  execution: Execution;
  state: StepState;
  hashes: StepHashes;
  /** Everything the command printed (stdout and stderr, interleaved as it came). */
  output: Buffer;
  /** The trace, for hazard checks. */
  trace: TraceResult;
  interrupted: boolean;
}

export function startStep(
  step: Step,
  stepIndex: number,
  reason: string,
  ctx: ExecuteContext,
  onLine: (line: string) => void,
): RunningStep {
  const annotationsFile = join(ctx.ws.runDir, `${step.name}.notes`);
  mkdirSync(ctx.ws.runDir, { recursive: true });
  rmSync(annotationsFile, { force: true });
  const env = {
    ...process.env,
    ...step.env,
    PROV_MAKE_STEP: step.name,
    // CamFlow-style annotations: lines a step writes here are attached to its execution.
    PROV_MAKE_ANNOTATE: annotationsFile,
  };
  const capture = new OutputCapture(onLine);
  const { child, result } = startTrace(step.run, {
    cwd: step.cwd,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
    ignore: ctx.ignored,
  });
  child.stdout!.on('data', (b: Buffer) => capture.write(b));
  child.stderr!.on('data', (b: Buffer) => capture.write(b));
  let interrupted = false;
  const kill = (signal: NodeJS.Signals = 'SIGTERM') => {
    interrupted = true;
    try {
      if (child.pid) process.kill(-child.pid, signal);
    } catch {
      /* already gone */
    }
  };
  const done = result.then(async (trace) => {
    capture.end();
    const annotations = readAnnotations(annotationsFile);
    const outcome = await recordExecution(step, stepIndex, reason, trace, ctx, capture.bytes(), annotations);
    return { ...outcome, output: capture.bytes(), trace, interrupted };
  });
  return { pid: child.pid, kill, done };
}

function readAnnotations(file: string): string[] {
  try {
    return readFileSync(file, 'utf8').split('\n').map((l) => l.trimEnd()).filter(Boolean);
  } catch {
    return [];
  } finally {
    rmSync(file, { force: true });
  }
}

async function recordExecution(
  step: Step,
  stepIndex: number,
  reason: string,
  trace: TraceResult,
  ctx: ExecuteContext,
  output: Buffer,
  annotations: string[],
): Promise<{ execution: Execution; state: StepState; hashes: StepHashes }> {
  const { ws, log } = ctx;
  const deps = trace.deps;
  const keep = (p: string) => !ctx.ignored(p);
  const outputsAbs = deps.writes.filter(keep);
  const outputSet = new Set(outputsAbs);
  // A file the step both read and wrote is checked as an output: its last version is the step's own.
  const executedAbs = new Set(deps.executed.filter((p) => keep(p) && !outputSet.has(p)));
  const inputsAbs = [...new Set([...deps.reads, ...executedAbs])].filter((p) => keep(p) && !outputSet.has(p)).sort();
  const recordedAt = nowNs();
  const startedAtNs = BigInt(trace.startedAt) * 1_000_000n;

  let distrust: string | null = null;
  if (deps.untraced.length) {
    const u = deps.untraced[0];
    distrust = `${storedPath(ws, u.path)} ran without being observed (${u.reason === 'static' ? 'statically linked' : u.reason})`;
  } else if (trace.problems.length) {
    distrust = trace.problems[0].message;
  }

  const inputs = new Float64Array(inputsAbs.length * 2);
  const inputHashes: (string | null)[] = [];
  const recordedInputs: RecordedFile[] = [];
  const recordedExecuted: RecordedFile[] = [];
  for (let i = 0; i < inputsAbs.length; i++) {
    const abs = inputsAbs[i];
    const stored = storedPath(ws, abs);
    const st = statOf(abs);
    inputs[2 * i] = log.idOf(stored);
    inputs[2 * i + 1] = tokenToRecord(st, recordedAt);
    const hash = st && !st.isDirectory() ? await ctx.hasher.hashOf(abs, st) : null;
    inputHashes.push(hash);
    // Small workspace inputs (scripts, configs) are kept, so `prov-make show` can print the exact
    // version that made an output.
    if (hash && st?.isFile() && st.size <= KEEP_INPUTS_UP_TO && !stored.startsWith('/')) await ctx.storeBlob(abs, hash);
    (executedAbs.has(abs) ? recordedExecuted : recordedInputs).push(recorded(stored, st, hash));
    if (st && st.ctimeNs >= startedAtNs && !distrust) {
      distrust = `input ${stored} changed while the step ran`;
    }
  }

  const outputs = new Float64Array(outputsAbs.length * 2);
  const outputHashes: (string | null)[] = [];
  const recordedOutputs: RecordedFile[] = [];
  const outputModes: number[] = [];
  for (let i = 0; i < outputsAbs.length; i++) {
    const abs = outputsAbs[i];
    const stored = storedPath(ws, abs);
    const st = statOf(abs);
    outputs[2 * i] = log.idOf(stored);
    outputs[2 * i + 1] = tokenToRecord(st, recordedAt);
    let hash: string | null = null;
    if (st && (st.isFile() || st.isSymbolicLink())) {
      hash = await ctx.hasher.hashOf(abs, st);
      // Only regular files go to the cache; an execution that was not fully observed is never cached.
      if (hash && st.isFile() && !distrust && trace.exitCode === 0) await ctx.storeBlob(abs, hash);
    }
    outputHashes.push(hash);
    outputModes.push(st ? Number(st.mode) : 0o100644); // with the type bits: a folder is re-made, not restored
    recordedOutputs.push(recorded(stored, st, hash));
  }

  const absentStored = deps.absent.filter(keep).map((p) => storedPath(ws, p));
  const absent = Float64Array.from(absentStored.map((p) => log.idOf(p)));
  const notListed = ctx.notListed(stepIndex);
  // its own outputs may not be in the writers map yet (first run)
  const later = (abs: string) => outputSet.has(abs) || notListed(abs);
  const listedAbs = deps.listed.filter(keep);
  const listed = new Float64Array(listedAbs.length * 2);
  listedAbs.forEach((abs, i) => {
    listed[2 * i] = log.idOf(storedPath(ws, abs));
    listed[2 * i + 1] = listingToken(abs, later);
  });

  const succeeded = trace.exitCode === 0;
  const outputLogHash = output.length ? await ctx.storeBytes(output) : null;
  const definition = definitionOf(step);
  const defHash = definitionHash(step);
  const execution: Execution = {
    id: ctx.newExecutionId(),
    runId: ctx.runId,
    step: step.name,
    definitionHash: defHash,
    definition,
    reason,
    startedAt: trace.startedAt,
    finishedAt: trace.finishedAt,
    exitCode: trace.exitCode,
    signal: trace.signal,
    status: succeeded ? 'succeeded' : 'failed',
    executed: recordedExecuted,
    fullyObserved: trace.fullyObserved,
    trusted: distrust === null,
    distrust,
    inputs: recordedInputs,
    outputs: recordedOutputs,
    absent: absentStored,
    listed: listedAbs.map((p, i) => ({ path: storedPath(ws, p), entriesHash: String(listed[2 * i + 1]) })),
    deleted: deps.deleted.filter(keep).map((p) => storedPath(ws, p)),
    untraced: deps.untraced.map((u) => ({ path: storedPath(ws, u.path), reason: u.reason })),
    annotations,
    outputLogHash,
  };
  const state: StepState = {
    definitionHash: defHash,
    definition,
    executionId: execution.id,
    succeeded,
    trusted: distrust === null,
    distrust,
    startedAt: trace.startedAt,
    finishedAt: trace.finishedAt,
    exitCode: trace.exitCode,
    inputs,
    outputs,
    absent,
    listed,
  };
  return { execution, state, hashes: { inputs: inputHashes, outputs: outputHashes, outputModes } };
}

function recorded(path: string, st: BigIntStats | undefined, hash: string | null): RecordedFile {
  return { path, version: st ? versionFromStats(st) : null, hash };
}

export { ABSENT };
