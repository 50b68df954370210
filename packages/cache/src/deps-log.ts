/**
 * The deps log: what each step's last execution depended on, in the compact form the no-op check
 * needs (ninja's .ninja_deps, in lmdb so a kill -9 leaves the old or the new state). Paths are
 * interned as numeric ids; each dependency is a file id with a version token. Content hashes live
 * beside, loaded only when a token differs. States are written as projections of a StepRecord
 * (step-record.ts).
 */
import { open, type Database, type RootDatabase } from 'lmdb';
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
}

/** Content hashes aligned with StepState.inputs / outputs (null: not hashable, e.g. a folder). */
export interface StepHashes {
  inputs: (string | null)[];
  outputs: (string | null)[];
  /** st_mode of each output (type and permission bits), to restore it as it was. */
  outputModes: number[];
}

/** A state as stored: every typed array as its bytes. */
interface StoredState extends Omit<StepState, 'inputs' | 'outputs' | 'absent' | 'listed'> {
  inputIds: Uint8Array;
  inputTokens: Uint8Array;
  outputIds: Uint8Array;
  outputTokens: Uint8Array;
  absent: Uint8Array;
  listedIds: Uint8Array;
  listedTokens: Uint8Array;
}

const bytesOf = (a: Uint32Array | Float64Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
// Copies: lmdb's buffers are not aligned for typed arrays, and they are reused.
const idsOf = (b: Uint8Array) => new Uint32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
const tokensOf = (b: Uint8Array) => new Float64Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));

export function tokenList(ids: readonly number[], tokens: readonly number[]): TokenList {
  return { ids: Uint32Array.from(ids), tokens: Float64Array.from(tokens) };
}

function stored(state: StepState): StoredState {
  const { inputs, outputs, absent, listed, ...rest } = state;
  return {
    ...rest,
    inputIds: bytesOf(inputs.ids),
    inputTokens: bytesOf(inputs.tokens),
    outputIds: bytesOf(outputs.ids),
    outputTokens: bytesOf(outputs.tokens),
    absent: bytesOf(absent),
    listedIds: bytesOf(listed.ids),
    listedTokens: bytesOf(listed.tokens),
  };
}

function decoded(s: StoredState): StepState {
  const { inputIds, inputTokens, outputIds, outputTokens, absent, listedIds, listedTokens, ...rest } = s;
  return {
    ...rest,
    inputs: { ids: idsOf(inputIds), tokens: tokensOf(inputTokens) },
    outputs: { ids: idsOf(outputIds), tokens: tokensOf(outputTokens) },
    absent: idsOf(absent),
    listed: { ids: idsOf(listedIds), tokens: tokensOf(listedTokens) },
  };
}

export class DepsLog {
  private paths: string[] = [''];
  private ids = new Map<string, number>();
  private pendingFiles: [string, number][] = [];
  /** Refreshed tokens by step: queued, written by flush() in one transaction. */
  private pendingRefresh = new Map<string, { inputs: Float64Array; outputs: Float64Array }>();

  private constructor(
    private readonly root: RootDatabase,
    private readonly files: Database<number, string>,
    private readonly steps: Database<StoredState, string>,
    private readonly hashes: Database<StepHashes, string>,
  ) {
    this.reload();
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
    for (const { key, value } of this.files.getRange()) {
      this.paths[value] = key;
      this.ids.set(key, value);
    }
  }

  /** Numeric id of a stored path (allocated on first use, persisted with the next put). */
  idOf(path: string): number {
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
    return this.ids.get(path);
  }

  pathOf(id: number): string {
    return this.paths[id];
  }

  get fileCount(): number {
    return this.paths.length - 1;
  }

  get(step: string): StepState | undefined {
    const s = this.steps.get(step);
    // A state in an older layout is as good as none: the step runs (or restores from the cache) once.
    if (!s || !(s.inputIds instanceof Uint8Array)) return undefined;
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
        if (s) this.steps.putSync(step, { ...s, inputTokens: bytesOf(inputs), outputTokens: bytesOf(outputs) });
      }
    });
  }

  close(): Promise<void> {
    this.flush();
    return this.root.close();
  }
}
