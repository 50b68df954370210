/**
 * The deps log: what each step's last execution depended on, in the compact form the no-op
 * check needs (ninja's .ninja_deps, in lmdb so a kill -9 leaves the old or the new state).
 * Paths are interned as numeric ids; each dependency is a (file id, version token) pair.
 * Content hashes live beside, loaded only when a token differs.
 */
import { open, type Database, type RootDatabase } from 'lmdb';
import type { StepDefinition } from '../pipeline/pipeline.js';

export interface StepState {
  definitionHash: string;
  definition: StepDefinition;
  executionId: string;
  succeeded: boolean;
  /** Fully observed, and no input changed while it ran: only then may it be skipped. */
  trusted: boolean;
  /** Why it is not trusted (untraced program, lost trace records, input changed while running). */
  distrust: string | null;
  startedAt: number;
  finishedAt: number;
  exitCode: number | null;
  /** [fileId, token]* of inputs: files read and programs executed, minus the step's own outputs. */
  inputs: Float64Array;
  /** [fileId, token]* of outputs. */
  outputs: Float64Array;
  /** [fileId]* of paths looked up and not found. */
  absent: Float64Array;
  /** [fileId, entriesToken]* of folders listed. */
  listed: Float64Array;
}

/** Content hashes aligned with StepState.inputs / outputs (null: not hashable, e.g. a folder). */
export interface StepHashes {
  inputs: (string | null)[];
  outputs: (string | null)[];
  /** st_mode of each output (type and permission bits), to restore it as it was. */
  outputModes: number[];
}

interface StoredState extends Omit<StepState, 'inputs' | 'outputs' | 'absent' | 'listed'> {
  inputs: Uint8Array;
  outputs: Uint8Array;
  absent: Uint8Array;
  listed: Uint8Array;
}

const toBytes = (a: Float64Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
const toFloats = (b: Uint8Array) => new Float64Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));

export class DepsLog {
  private readonly paths: string[] = [''];
  private readonly ids = new Map<string, number>();
  private pendingFiles: [string, number][] = [];
  private pendingRefresh = new Map<string, { inputs: Float64Array; outputs: Float64Array }>();

  private constructor(
    private readonly root: RootDatabase,
    private readonly files: Database<number, string>,
    private readonly steps: Database<StoredState, string>,
    private readonly hashes: Database<StepHashes, string>,
  ) {
    for (const { key, value } of files.getRange()) {
      this.paths[value] = key;
      this.ids.set(key, value);
    }
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

  pathOf(id: number): string {
    return this.paths[id];
  }

  get fileCount(): number {
    return this.paths.length - 1;
  }

  get(step: string): StepState | undefined {
    const s = this.steps.get(step);
    if (!s) return undefined;
    const refreshed = this.pendingRefresh.get(step);
    return {
      ...s,
      inputs: refreshed?.inputs ?? toFloats(s.inputs),
      outputs: refreshed?.outputs ?? toFloats(s.outputs),
      absent: toFloats(s.absent),
      listed: toFloats(s.listed),
    };
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
      this.steps.putSync(step, {
        ...state,
        inputs: toBytes(state.inputs),
        outputs: toBytes(state.outputs),
        absent: toBytes(state.absent),
        listed: toBytes(state.listed),
      });
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
        if (s) this.steps.putSync(step, { ...s, inputs: toBytes(inputs), outputs: toBytes(outputs) });
      }
    });
  }

  close(): Promise<void> {
    this.flush();
    return this.root.close();
  }
}
