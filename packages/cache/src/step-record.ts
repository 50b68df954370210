/**
 * One observation of a step: the files it read, executed, wrote, looked for and listed, each with
 * its stored path, deps-log id, version and digests. The deps log's state, the provenance store's
 * execution record and the step cache's path set are pure projections of it, so the three never
 * disagree about what a step did.
 */
import { storedTarget, tokenList, type StepHashes, type StepState } from './deps-log.js';
import type { StepDefinition } from './definition.js';
import type { Distrust } from './distrust.js';
import type { ExecutionJob, ExecutionRecord, RecordedFile } from './provenance-store.js';
import type { FileVersion } from './version.js';
import { versionTokenToRecord } from './version-token.js';
import { keyOf } from './workspace-key.js';

export interface ObservedFile {
  /** Relative to the workspace inside it, absolute outside (as every store keeps paths). */
  path: string;
  /** Its id in the deps log. */
  id: number;
  /** null: it did not exist when observed. */
  version: FileVersion | null;
  /** xxh64 of its content (a symlink: of its target); null for a folder or a missing file. */
  hash: string | null;
  sha256: string | null;
}

export interface ObservedInput extends ObservedFile {
  /** A program or library the step executed, rather than a file it read. */
  executed: boolean;
}

export interface ObservedOutput extends ObservedFile {
  /** A symlink's target (restored as a link, not from a blob). */
  target?: string;
}

export interface ObservedPath {
  path: string;
  id: number;
}

export interface ObservedListing extends ObservedPath {
  /** listingToken of its entries, leaving out this step's and later steps' outputs. */
  token: number;
  /** The entry names the token counts (null: not a readable folder), kept to say which one appeared or vanished. */
  names?: string[] | null;
  /** Listing rules: only the entries they count are in the token (listing-rules.ts). */
  rules?: string[];
}

export interface StepRecord {
  step: string;
  executionId: string;
  runId: string;
  definition: StepDefinition;
  definitionHash: string;
  /** Why it ran, for people. */
  reason: string;
  /** ms since the epoch. */
  startedAt: number;
  finishedAt: number;
  /** Taken over from the cache: the execution that ran the command (its outputs were restored now). */
  adoptedFrom?: string;
  exitCode: number | null;
  signal: string | null;
  fullyObserved: boolean;
  distrust: Distrust | null;
  /** When the versions were taken: a version this recent gets an untrusted token (racily clean). */
  recordedAtNs: bigint;
  /** Files read and programs executed, minus the step's own outputs, sorted by absolute path. */
  inputs: ObservedInput[];
  outputs: ObservedOutput[];
  absent: ObservedPath[];
  listed: ObservedListing[];
  deleted: string[];
  untraced: { path: string; reason: string }[];
  annotations: string[];
  /** The cluster job it ran as, when it did. */
  job?: ExecutionJob;
  /** Captured stdout+stderr in the content store (its SHA-256). */
  outputLogHash: string | null;
  /** Outputs that were there before the step and that it changed in place (it read them first, as sed -i does). */
  updated?: string[];
}

export function succeeded(r: Pick<StepRecord, 'exitCode'>): boolean {
  return r.exitCode === 0;
}

/** Fully observed and no input changed while it ran: only then may it be skipped or cached. */
export function trusted(r: Pick<StepRecord, 'distrust'>): boolean {
  return r.distrust === null;
}

/** Output modes stored for files that are gone: a plain file. */
const DEFAULT_OUTPUT_MODE = 0o100644;

/** The deps log's view: ids with version tokens, and the hashes that confirm a token mismatch. */
export function stepStateOf(r: StepRecord): { state: StepState; hashes: StepHashes } {
  const tokens = (files: ObservedFile[]) => tokenList(files.map((f) => f.id), files.map((f) => versionTokenToRecord(f.version, r.recordedAtNs)));
  const state: StepState = {
    definitionHash: r.definitionHash,
    definition: r.definition,
    executionId: r.executionId,
    succeeded: succeeded(r),
    distrust: r.distrust,
    startedAt: r.startedAt,
    finishedAt: r.finishedAt,
    exitCode: r.exitCode,
    inputs: tokens(r.inputs),
    outputs: tokens(r.outputs),
    absent: Uint32Array.from(r.absent.map((a) => a.id)),
    listed: tokenList(r.listed.map((l) => l.id), r.listed.map((l) => l.token)),
  };
  const rules = Object.fromEntries(r.listed.flatMap((l, k) => (l.rules?.length ? [[k, l.rules]] : [])));
  if (Object.keys(rules).length) state.listedRules = rules;
  const hashes: StepHashes = {
    inputs: r.inputs.map((f) => f.hash),
    outputs: r.outputs.map((f) => f.hash),
    outputSha256: r.outputs.map((f) => f.sha256),
    // with the type bits: a folder is made again, not restored
    outputModes: r.outputs.map((f) => f.version?.mode ?? DEFAULT_OUTPUT_MODE),
  };
  // names that are not UTF-8 in a form msgpack keeps (workspace-key.ts)
  if (r.listed.some((l) => l.names)) hashes.listedNames = r.listed.map((l) => keyOf((l.names ?? []).join('\0')));
  const targets = Object.fromEntries(r.outputs.flatMap((f, k) => (f.target === undefined ? [] : [[k, storedTarget(f.target)]])));
  if (Object.keys(targets).length) hashes.outputTargets = targets;
  return { state, hashes };
}

/** The provenance store's view: the execution as history keeps it. */
export function executionRecordOf(r: StepRecord): ExecutionRecord {
  const recorded = (f: ObservedFile): RecordedFile => ({ path: f.path, version: f.version, hash: f.hash, sha256: f.sha256 });
  return {
    id: r.executionId,
    runId: r.runId,
    step: r.step,
    definitionHash: r.definitionHash,
    definition: r.definition,
    reason: r.reason,
    startedAt: r.startedAt,
    finishedAt: r.finishedAt,
    ...(r.adoptedFrom ? { adoptedFrom: r.adoptedFrom } : {}),
    exitCode: r.exitCode,
    signal: r.signal,
    status: succeeded(r) ? 'succeeded' : 'failed',
    executed: r.inputs.filter((f) => f.executed).map(recorded),
    fullyObserved: r.fullyObserved,
    inputs: r.inputs.filter((f) => !f.executed).map(recorded),
    outputs: r.outputs.map(recorded),
    absent: r.absent.map((a) => a.path),
    listed: r.listed.map((l) => ({ path: l.path, entriesHash: String(l.token), ...(l.rules?.length ? { rules: l.rules } : {}) })),
    deleted: r.deleted,
    untraced: r.untraced,
    annotations: r.annotations,
    ...(r.job ? { job: r.job } : {}),
    outputLogHash: r.outputLogHash,
    ...(r.updated?.length ? { updated: r.updated } : {}),
  };
}
