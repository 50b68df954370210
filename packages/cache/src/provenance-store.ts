// Every execution ever recorded, with indexes for the engine's no-op check and for `why` (DESIGN §5).
// One LMDB environment, one write transaction per put: a kill -9 leaves the old state or the new one.
import fs from 'node:fs';
import path from 'node:path';
import { open, type Database, type Key, type RootDatabase } from 'lmdb';
import { KEY_MAX, pathKey } from './db-key.js';
import type { StepDefinition } from './definition.js';
import type { FileVersion } from './version.js';

export interface RecordedFile {
  /** Relative to the workspace when inside it, absolute otherwise (the caller decides; stored as is). */
  path: string;
  version: FileVersion | null;
  /** xxh64: how versions are told apart locally (who produced what a step read). */
  hash: string | null;
  /** SHA-256: the content-store object holding these bytes, when they were kept (absent in old records). */
  sha256?: string | null;
}

export type ExecutionStatus = 'succeeded' | 'failed' | 'interrupted';

/** The cluster job an execution ran as (the Slurm executor): `log`, `why` and the PROV export show it. */
export interface ExecutionJob {
  scheduler: 'slurm';
  id: string;
  /** The node(s) it ran on, as the scheduler lists them. */
  nodes: string | null;
  /** The scheduler's final state: COMPLETED, FAILED, TIMEOUT, OUT_OF_MEMORY... */
  state: string;
}

export interface ExecutionRecord {
  /** Unique and sortable by time: see newExecutionId (execution-id.ts). */
  id: string;
  /** The `prov-make run` invocation it belongs to. */
  runId: string;
  step: string;
  definitionHash: string;
  definition: StepDefinition;
  /** ms since the epoch. */
  startedAt: number;
  finishedAt: number;
  /** Taken over from the cache (its outputs restored at startedAt): the execution that ran the command. */
  adoptedFrom?: string;
  exitCode: number | null;
  signal: string | null;
  status: ExecutionStatus;
  /** Why it ran (the first failing up-to-date check). */
  reason: string;
  fullyObserved: boolean;
  inputs: RecordedFile[];
  executed: RecordedFile[];
  outputs: RecordedFile[];
  absent: string[];
  /** `rules`: the listing rules that narrowed it (listing-rules.ts). */
  listed: { path: string; entriesHash: string; rules?: string[] }[];
  deleted: string[];
  untraced: { path: string; reason: string }[];
  annotations: string[];
  /** Set when it ran as a cluster job (absent in records made before the Slurm executor). */
  job?: ExecutionJob;
  /** Captured stdout+stderr, stored in the ContentStore (its SHA-256). */
  outputLogHash: string | null;
  /** Outputs that existed before and that it changed in place (read first): `clean` never removes those files. */
  updated?: string[];
}

/**
 * A user's edit of an output, kept before the step's version was put back over it (a restore, or
 * the step running again): `prov-make log` says how to bring it back.
 */
export interface KeptEdit {
  /** Sortable by time, as execution ids. */
  id: string;
  step: string;
  path: string;
  /** xxh64 of the edited bytes (what `prov-make log` names); null for a symlink (see target). */
  hash: string | null;
  /** The content-store object (SHA-256) holding the edited bytes. */
  sha256?: string;
  /** A symlink's edited target (its bytes when it is not UTF-8: storedTarget). */
  target?: string | Uint8Array;
  size: number;
  /** ms since the epoch. */
  keptAt: number;
}

export interface ProvenanceStoreOptions {
  readOnly?: boolean;
}

export const PROVENANCE_FILE = 'provenance.lmdb';

/** Step names become keys; LMDB keys are at most 1978 bytes. */
const MAX_STEP_BYTES = 1000;

/**
 * The rule of provenance, wherever executions are searched (the store, an export of some of them):
 * an execution produced the version `hash` of `path` when it succeeded, finished by `before`, and
 * wrote exactly that content. Without a hash: it wrote `path` at all (whatever became of it).
 */
export function isProducerOf(e: ExecutionRecord, path: string, hash?: string | null, before = Infinity): boolean {
  if (e.finishedAt > before) return false;
  if (hash === undefined) return e.outputs.some((o) => o.path === path);
  return e.status === 'succeeded' && e.outputs.some((o) => o.path === path && o.hash === hash);
}

export class ProvenanceStore {
  private constructor(
    private readonly root: RootDatabase,
    /** id -> record */
    private readonly executions: Database<ExecutionRecord, string>,
    /** step -> id of its newest execution */
    private readonly latest: Database<string, string>,
    /** step -> id of its newest succeeded execution: the no-op check's one direct get */
    private readonly latestOk: Database<string, string>,
    /** [step, id] -> status */
    private readonly byStep: Database<ExecutionStatus, Key>,
    /** [path, hash, id] -> 1: who produced this exact content at this path */
    private readonly producers: Database<number, Key>,
    /** [path, id] -> output hash ('' for none): who wrote this path, in time order */
    private readonly writers: Database<string, Key>,
    /** [path, id] -> 1: who read or executed this path */
    private readonly readers: Database<number, Key>,
    private readonly meta: Database<unknown, string>,
    /** id -> a user's edit kept before it was replaced */
    private readonly edits: Database<KeptEdit, string>,
  ) {}

  /** Open (creating if needed) `<stateDir>/provenance.lmdb`. */
  static open(stateDir: string, options: ProvenanceStoreOptions = {}): ProvenanceStore {
    if (!options.readOnly) fs.mkdirSync(stateDir, { recursive: true });
    const root = open({ path: path.join(stateDir, PROVENANCE_FILE), maxDbs: 16, readOnly: options.readOnly ?? false });
    return new ProvenanceStore(
      root,
      // Records list hundreds of library paths with long common prefixes: LZ4 shrinks them well.
      root.openDB<ExecutionRecord, string>({ name: 'executions', compression: true }),
      root.openDB<string, string>({ name: 'latest' }),
      root.openDB<string, string>({ name: 'latest-succeeded' }),
      root.openDB<ExecutionStatus, Key>({ name: 'by-step' }),
      root.openDB<number, Key>({ name: 'producers' }),
      root.openDB<string, Key>({ name: 'writers' }),
      root.openDB<number, Key>({ name: 'readers' }),
      root.openDB<unknown, string>({ name: 'meta' }),
      root.openDB<KeptEdit, string>({ name: 'kept-edits' }),
    );
  }

  /**
   * Store a record and update every index in one synchronous write transaction: committed (and safe
   * from a kill -9) on return, and flushed to disk. Putting an existing id replaces that record and
   * its index entries.
   */
  put(record: ExecutionRecord): void {
    this.putMany([record]);
  }

  /**
   * Store several records in one transaction. The disk flush dominates a put (a few ms), so an engine
   * that finishes several steps at once saves time by committing them together.
   */
  putMany(records: readonly ExecutionRecord[]): void {
    for (const r of records) validate(r);
    this.root.transactionSync(() => {
      for (const record of records) {
        const previous = this.executions.get(record.id);
        if (previous) this.unindex(previous);
        this.executions.put(record.id, record);
        this.index(record);
        if (previous) {
          // Rare (a record rewritten): recompute the pointers rather than reason about what changed.
          this.recomputePointers(previous.step);
          this.recomputePointers(record.step);
        } else {
          this.advancePointers(record);
        }
      }
    });
  }

  /** Forget executions (`log --prune`), in one transaction: their records, index entries and pointers. */
  remove(ids: Iterable<string>): void {
    this.root.transactionSync(() => {
      const steps = new Set<string>();
      for (const id of ids) {
        const record = this.executions.get(id);
        if (!record) continue;
        this.unindex(record);
        this.executions.remove(id);
        steps.add(record.step);
      }
      for (const step of steps) this.recomputePointers(step);
    });
  }

  get(id: string): ExecutionRecord | undefined {
    return this.executions.get(id);
  }

  latestForStep(step: string): ExecutionRecord | undefined {
    const id = this.latest.get(step);
    return id === undefined ? undefined : this.executions.get(id);
  }

  /** Newest succeeded execution of `step`: two direct key gets. */
  latestSuccessfulForStep(step: string): ExecutionRecord | undefined {
    const id = this.latestOk.get(step);
    return id === undefined ? undefined : this.executions.get(id);
  }

  /** Every execution of `step`, oldest first. */
  executionsForStep(step: string): ExecutionRecord[] {
    const ids: string[] = [];
    for (const { key } of this.byStep.getRange({ start: [step], end: [step, KEY_MAX] })) {
      const [s, id] = key as [string, string];
      if (s === step) ids.push(id);
    }
    return this.records(ids);
  }

  /** Every execution, oldest first. */
  allExecutions(): ExecutionRecord[] {
    return [...this.executions.getRange().map(({ value }) => value)];
  }

  /** Number of stored executions. */
  count(): number {
    return this.executions.getCount();
  }

  /** Names of all steps that ever ran, sorted. */
  steps(): string[] {
    return [...this.latest.getKeys()];
  }

  /**
   * Who made a file version: the newest execution that, by isProducerOf, made the content `hash` of
   * `path` and finished by `before` (ms since the epoch); without a hash, the newest that wrote `path`.
   */
  producerOf(path: string, hash?: string, before = Infinity): ExecutionRecord | undefined {
    const k = pathKey(path);
    const keys = hash === undefined ? this.keysNewestFirst(this.writers, [k]) : this.keysNewestFirst(this.producers, [k, hash]);
    for (const id of keys) {
      const e = this.executions.get(id);
      if (e && isProducerOf(e, path, hash, before)) return e;
    }
    return undefined;
  }

  /** Every execution that wrote `path`, oldest first. */
  writersOf(path: string): ExecutionRecord[] {
    return this.records(this.idsUnder(this.writers, pathKey(path)));
  }

  /** Every execution whose inputs or executed programs include `path`, oldest first. */
  readersOf(path: string): ExecutionRecord[] {
    return this.records(this.idsUnder(this.readers, pathKey(path)));
  }

  /** Records a kept edit (its bytes are in the content store already). */
  keepEdit(edit: KeptEdit): void {
    this.edits.putSync(edit.id, edit);
  }

  /** Every kept edit, oldest first. */
  keptEdits(): KeptEdit[] {
    return [...this.edits.getRange().map(({ value }) => value)];
  }

  getMeta<T = unknown>(key: string): T | undefined {
    return this.meta.get(key) as T | undefined;
  }

  /** Small durable settings, e.g. the last run id. */
  setMeta(key: string, value: unknown): void {
    this.meta.putSync(key, value);
  }

  async close(): Promise<void> {
    await this.root.close();
  }

  private index(r: ExecutionRecord): void {
    this.byStep.put([r.step, r.id], r.status);
    for (const o of r.outputs) {
      const k = pathKey(o.path);
      this.writers.put([k, r.id], o.hash ?? '');
      if (o.hash) this.producers.put([k, o.hash, r.id], 1);
    }
    for (const k of readKeys(r)) this.readers.put([k, r.id], 1);
  }

  private unindex(r: ExecutionRecord): void {
    this.byStep.remove([r.step, r.id]);
    for (const o of r.outputs) {
      const k = pathKey(o.path);
      this.writers.remove([k, r.id]);
      if (o.hash) this.producers.remove([k, o.hash, r.id]);
    }
    for (const k of readKeys(r)) this.readers.remove([k, r.id]);
  }

  // Ids sort by time, so a pointer only moves forward; an older record put late does not win.
  private advancePointers(r: ExecutionRecord): void {
    const latest = this.latest.get(r.step);
    if (latest === undefined || r.id >= latest) this.latest.put(r.step, r.id);
    if (r.status === 'succeeded') {
      const ok = this.latestOk.get(r.step);
      if (ok === undefined || r.id >= ok) this.latestOk.put(r.step, r.id);
    }
  }

  private recomputePointers(step: string): void {
    let newest: string | undefined;
    let newestOk: string | undefined;
    for (const { key, value } of this.byStep.getRange({ start: [step, KEY_MAX], end: [step], reverse: true })) {
      const [s, id] = key as [string, string];
      if (s !== step) continue;
      newest ??= id;
      if (value === 'succeeded') {
        newestOk = id;
        break;
      }
    }
    if (newest === undefined) this.latest.remove(step);
    else this.latest.put(step, newest);
    if (newestOk === undefined) this.latestOk.remove(step);
    else this.latestOk.put(step, newestOk);
  }

  /** Ids of keys [first, id]. The equality check guards against ordered-binary prefix quirks. */
  private idsUnder(db: Database<unknown, Key>, first: string): string[] {
    const ids: string[] = [];
    for (const key of db.getKeys({ start: [first], end: [first, KEY_MAX] })) {
      const parts = key as string[];
      if (parts.length === 2 && parts[0] === first) ids.push(parts[1]);
    }
    return ids;
  }

  /** The ids of keys [...prefix, id], newest first. The equality checks guard against ordered-binary prefix quirks. */
  private *keysNewestFirst(db: Database<unknown, Key>, prefix: string[]): Iterable<string> {
    for (const key of db.getKeys({ start: [...prefix, KEY_MAX], end: prefix, reverse: true })) {
      const parts = key as string[];
      if (parts.length === prefix.length + 1 && prefix.every((p, i) => parts[i] === p)) yield parts[prefix.length];
    }
  }

  private records(ids: string[]): ExecutionRecord[] {
    const out: ExecutionRecord[] = [];
    for (const id of ids) {
      const r = this.executions.get(id);
      if (r) out.push(r);
    }
    return out;
  }
}

function readKeys(r: ExecutionRecord): Set<string> {
  const keys = new Set<string>();
  for (const f of r.inputs) keys.add(pathKey(f.path));
  for (const f of r.executed) keys.add(pathKey(f.path));
  return keys;
}

function validate(r: ExecutionRecord): void {
  if (typeof r.id !== 'string' || r.id === '' || Buffer.byteLength(r.id) > 200) {
    throw new TypeError(`execution id must be a non-empty string of at most 200 bytes: ${JSON.stringify(r.id)}`);
  }
  if (typeof r.step !== 'string' || r.step === '' || Buffer.byteLength(r.step) > MAX_STEP_BYTES) {
    throw new TypeError(`step name must be a non-empty string of at most ${MAX_STEP_BYTES} bytes`);
  }
}
