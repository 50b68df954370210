/**
 * The deps log: what each step's last execution depended on, in the compact form the no-op check
 * needs (ninja's .ninja_deps, in lmdb so a kill -9 leaves the old or the new state). Paths are
 * interned as numeric ids; each dependency is a file id with a version token. Content hashes live
 * beside, loaded only when a token differs. States are written as projections of a StepRecord
 * (step-record.ts).
 */
import { open, type Database, type RootDatabase } from 'lmdb';
import { decodePath, encodePath, hasRawBytes } from '@prov-make/interposer/byte-path';
import type { StepDefinition } from './definition.js';
import type { Distrust } from './distrust.js';

/** File ids with the version token each had (parallel arrays). */
export interface TokenList {
  readonly ids: Uint32Array;
  tokens: Float64Array;
}

export interface StepState {
  definitionHash: string;
  definition: StepDefinition;
  executionId: string;
  succeeded: boolean;
  /** Why it may not be skipped although it succeeded (untraced program, lost records, input changed while running). */
  distrust: Distrust | null;
  startedAt: number;
  finishedAt: number;
  exitCode: number | null;
  /** Files read and programs executed, minus the step's own outputs. */
  inputs: TokenList;
  outputs: TokenList;
  /** Paths looked up and not found. */
  absent: Uint32Array;
  /** Folders listed, each with its listing token. */
  listed: TokenList;
  /** Listing rules by listing index, for listings narrowed by their lister's lookup rules (listing-rules.ts). */
  listedRules?: Record<number, string[]>;
}

/** Content hashes aligned with StepState.inputs / outputs (null: not hashable, e.g. a folder). */
export interface StepHashes {
  /** xxh64: what a token mismatch is confirmed against. */
  inputs: (string | null)[];
  outputs: (string | null)[];
  /** SHA-256 of each output: its content-store object, restored when the output is damaged. */
  outputSha256?: (string | null)[];
  /** st_mode of each output (type and permission bits), to restore it as it was. */
  outputModes: number[];
  /** Aligned with StepState.listed: the entry names each listing counted, joined by NUL (to name what appeared). */
  listedNames?: string[];
  /** Symlink outputs' targets by output index (made again from these, not from a blob); absent when there is none.
   *  A target holding bytes that are not UTF-8 is kept as its bytes (storedTarget): msgpack would turn them into U+FFFD. */
  outputTargets?: Record<number, string | Uint8Array>;
}

/** A symlink target as the deps log keeps it: the string, or its bytes when it is not UTF-8. */
export function storedTarget(target: string): string | Uint8Array {
  return hasRawBytes(target) ? encodePath(target) : target;
}

/** The target a stored one stands for (raw bytes as lone surrogates): the inverse of storedTarget. */
export function targetOf(stored: string | Uint8Array | undefined): string | undefined {
  return stored === undefined || typeof stored === 'string' ? stored : decodePath(stored);
}

/** A state as stored: the four lists packed in one buffer (encodeLists). */
interface StoredState extends Omit<StepState, 'inputs' | 'outputs' | 'absent' | 'listed'> {
  lists: Uint8Array;
}

export function tokenList(ids: readonly number[], tokens: readonly number[]): TokenList {
  return { ids: Uint32Array.from(ids), tokens: Float64Array.from(tokens) };
}

/**
 * The lists as one buffer: four counts, the ids (u32: inputs, outputs, absent, listed), then from
 * the next 8-byte boundary the tokens (f64: inputs, outputs, listed). Decoding is one copy (lmdb's
 * buffers are neither aligned nor ours to keep) and views into it: a no-op run decodes every step.
 */
function encodeLists(st: Pick<StepState, 'inputs' | 'outputs' | 'absent' | 'listed'>): Buffer {
  const idLists = [st.inputs.ids, st.outputs.ids, st.absent, st.listed.ids];
  const tokenLists = [st.inputs.tokens, st.outputs.tokens, st.listed.tokens];
  const idCount = 4 + idLists.reduce((n, l) => n + l.length, 0);
  const tokensAt = Math.ceil((idCount * 4) / 8) * 8;
  const buffer = new ArrayBuffer(tokensAt + tokenLists.reduce((n, l) => n + l.length, 0) * 8);
  const ids = new Uint32Array(buffer, 0, idCount);
  ids.set(idLists.map((l) => l.length));
  let at = 4;
  for (const l of idLists) {
    ids.set(l, at);
    at += l.length;
  }
  const tokens = new Float64Array(buffer, tokensAt);
  at = 0;
  for (const l of tokenLists) {
    tokens.set(l, at);
    at += l.length;
  }
  return Buffer.from(buffer);
}

function decodeLists(bytes: Uint8Array): Pick<StepState, 'inputs' | 'outputs' | 'absent' | 'listed'> {
  const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
  const [nIn, nOut, nAbsent, nListed] = new Uint32Array(buffer, 0, 4);
  let idAt = 16;
  const ids = (n: number) => {
    const view = new Uint32Array(buffer, idAt, n);
    idAt += n * 4;
    return view;
  };
  let tokenAt = Math.ceil((16 + (nIn + nOut + nAbsent + nListed) * 4) / 8) * 8;
  const tokens = (n: number) => {
    const view = new Float64Array(buffer, tokenAt, n);
    tokenAt += n * 8;
    return view;
  };
  const inputs = ids(nIn);
  const outputs = ids(nOut);
  const absent = ids(nAbsent);
  const listed = ids(nListed);
  return { inputs: { ids: inputs, tokens: tokens(nIn) }, outputs: { ids: outputs, tokens: tokens(nOut) }, absent, listed: { ids: listed, tokens: tokens(nListed) } };
}

function stored(state: StepState): StoredState {
  const { inputs, outputs, absent, listed, ...rest } = state;
  return { ...rest, lists: encodeLists({ inputs, outputs, absent, listed }) };
}

function decoded(s: StoredState): StepState {
  const { lists, ...rest } = s;
  return { ...rest, ...decodeLists(lists) };
}

export class DepsLog {
  private paths: string[] = [''];
  private ids = new Map<string, number>();
  /**
   * Whether the whole path table is read. It is read on first need: a run after one edit looks up
   * the paths of a few steps' files (seedPaths gives them), and reading 50,000 entries from lmdb
   * costs more than the whole decision.
   */
  private loaded = false;
  private pendingFiles: [string, number][] = [];
  /** Refreshed tokens by step: queued, written by flush() in one transaction. */
  private pendingRefresh = new Map<string, { inputs: Float64Array; outputs: Float64Array }>();

  private constructor(
    private readonly root: RootDatabase,
    private readonly files: Database<number, string>,
    private readonly steps: Database<StoredState, string>,
    private readonly hashes: Database<StepHashes, string>,
  ) {
  }

  static open(path: string): DepsLog {
    const root = open({ path, compression: false, noSubdir: false });
    return new DepsLog(
      root,
      root.openDB<number, string>({ name: 'files', compression: false }),
      root.openDB<StoredState, string>({ name: 'steps' }),
      root.openDB<StepHashes, string>({ name: 'hashes' }),
    );
  }

  /**
   * Reads the path table again: another process (a run in this workspace, between two runs of a
   * long-lived one) may have interned paths since. Call it only holding the workspace lock.
   */
  reload(): void {
    this.flush();
    this.paths = [''];
    this.ids = new Map();
    this.loaded = false;
  }

  private load(): void {
    if (this.loaded) return;
    this.loaded = true;
    for (const { key, value } of this.files.getRange()) {
      this.paths[value] = key;
      this.ids.set(key, value);
    }
  }

  /**
   * Paths of ids known from elsewhere (the no-op snapshot, written from this table): pathOf answers
   * them without reading the table. Anything that interns or looks up by path reads it all first.
   */
  seedPaths(ids: ArrayLike<number>, paths: readonly string[]): void {
    if (this.loaded) return;
    for (let k = 0; k < ids.length; k++) this.paths[ids[k]] = paths[k];
  }

  /** Numeric id of a stored path (allocated on first use, persisted with the next put). */
  idOf(path: string): number {
    this.load();
    let id = this.ids.get(path);
    if (id === undefined) {
      id = this.paths.length;
      this.paths.push(path);
      this.ids.set(path, id);
      this.pendingFiles.push([path, id]);
    }
    return id;
  }

  /** The id of a path already interned, without interning it. */
  knownIdOf(path: string): number | undefined {
    this.load();
    return this.ids.get(path);
  }

  pathOf(id: number): string {
    const seeded = this.paths[id];
    if (seeded !== undefined) return seeded;
    this.load();
    return this.paths[id];
  }

  get fileCount(): number {
    this.load();
    return this.paths.length - 1;
  }

  get(step: string): StepState | undefined {
    const s = this.steps.get(step);
    // A state in an older layout is as good as none: the step runs (or restores from the cache) once.
    if (!s || !(s.lists instanceof Uint8Array)) return undefined;
    const state = decoded(s);
    const refreshed = this.pendingRefresh.get(step);
    if (refreshed) {
      state.inputs.tokens = refreshed.inputs;
      state.outputs.tokens = refreshed.outputs;
    }
    return state;
  }

  getHashes(step: string): StepHashes | undefined {
    return this.hashes.get(step);
  }

  stepNames(): string[] {
    return [...this.steps.getKeys()] as string[];
  }

  /** Records a step's new state atomically (with any paths it interned). */
  put(step: string, state: StepState, hashes: StepHashes): void {
    this.pendingRefresh.delete(step);
    const pending = this.pendingFiles;
    this.pendingFiles = [];
    this.root.transactionSync(() => {
      for (const [p, id] of pending) this.files.putSync(p, id);
      this.steps.putSync(step, stored(state));
      this.hashes.putSync(step, hashes);
    });
  }

  /**
   * Refreshes tokens after a hash confirmed the content is unchanged (so the next check is one
   * stat). Queued and written by flush() in one transaction: each commit waits for the disk, and a
   * refresh lost to a kill only costs one more hash next time.
   */
  refreshTokens(step: string, inputs: Float64Array, outputs: Float64Array): void {
    this.pendingRefresh.set(step, { inputs, outputs });
  }

  flush(): void {
    if (this.pendingRefresh.size === 0 && this.pendingFiles.length === 0) return;
    const refresh = this.pendingRefresh;
    const pending = this.pendingFiles;
    this.pendingRefresh = new Map();
    this.pendingFiles = [];
    this.root.transactionSync(() => {
      for (const [p, id] of pending) this.files.putSync(p, id);
      for (const [step, { inputs, outputs }] of refresh) {
        const s = this.steps.get(step);
        if (!s || !(s.lists instanceof Uint8Array)) continue;
        const lists = decodeLists(s.lists);
        lists.inputs.tokens = inputs;
        lists.outputs.tokens = outputs;
        this.steps.putSync(step, { ...s, lists: encodeLists(lists) });
      }
    });
  }

  close(): Promise<void> {
    this.flush();
    return this.root.close();
  }
}
