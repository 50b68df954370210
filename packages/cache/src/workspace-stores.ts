/**
 * A workspace's stores behind one facade: the deps log, the hash memo, the provenance store, the
 * content store, the local action cache and the remote one, and the step cache over them. Opened
 * once (a long-lived process runs many times on one opening); every write of an observation goes
 * through commit().
 */
import { existsSync } from 'node:fs';
import { join, relative } from 'node:path';
import { LocalActionCache } from './action-cache.js';
import { contentBlobs, type BlobStore } from './blob-store.js';
import { ContentStore, type GcResult } from './content-store.js';
import { DepsLog, type StepState } from './deps-log.js';
import { nodeDisk, TEMP_DIR, type Disk } from './disk.js';
import { HashState } from './hash-state.js';
import { PROVENANCE_FILE, ProvenanceStore } from './provenance-store.js';
import { RemoteCache, type RemoteCacheOptions } from './remote-cache.js';
import { StepCache } from './step-cache.js';
import { checkStores, noteStoresClosed } from './store-check.js';
import { executionRecordOf, stepStateOf, type StepRecord } from './step-record.js';

/** Where a workspace keeps things. */
export interface StoreLocations {
  /** The workspace: stored paths are relative to it. */
  root: string;
  /** `.prov-make/`: the lmdb stores. */
  stateDir: string;
  /** The content store and the local action cache (movable: --cache-dir). */
  cacheDir: string;
}

export interface OpenStoresOptions {
  /** The workspace's files (default: the real file system, with hashes memoised in the hash state). */
  disk?: Disk;
  /** Where outputs are kept (default: the content store in cacheDir). */
  blobs?: BlobStore;
  remote?: RemoteCacheOptions;
  /** Where cache warnings go (default: stderr). */
  warn?: (message: string) => void;
  /** Check the lmdb stores before use when they were not closed cleanly (store-check.ts; default true). */
  check?: boolean;
}

const DEPS_LOG_DIR = 'deps';
export { TEMP_DIR } from './disk.js';

const warnOnStderr = (message: string): void => {
  process.stderr.write(`prov-make: warning: ${message}\n`);
};

export class WorkspaceStores {
  private constructor(
    readonly deps: DepsLog,
    readonly hashes: HashState,
    readonly history: ProvenanceStore,
    readonly content: ContentStore,
    readonly disk: Disk,
    readonly blobs: BlobStore,
    readonly steps: StepCache,
    readonly warn: (message: string) => void,
    private readonly stateDir: string,
  ) {}

  static open(at: StoreLocations, options: OpenStoresOptions = {}): WorkspaceStores {
    const warn = options.warn ?? warnOnStderr;
    const damaged = options.check === false ? null : checkStores(at.stateDir);
    if (damaged) {
      const where = (p: string) => relative(process.cwd(), p) || '.';
      warn(`${where(join(at.stateDir, damaged.file))} is damaged (${damaged.problem}): the recorded state was moved to ${where(damaged.movedTo)} and is rebuilt`);
    }
    const hashes = HashState.open(at.stateDir);
    const history = ProvenanceStore.open(at.stateDir);
    const deps = DepsLog.open(join(at.stateDir, DEPS_LOG_DIR));
    const content = new ContentStore(at.cacheDir);
    const disk = options.disk ?? nodeDisk(hashes, join(at.stateDir, TEMP_DIR));
    const blobs = options.blobs ?? contentBlobs(content, at.root, hashes, join(at.stateDir, TEMP_DIR));
    const remote = options.remote ? new RemoteCache({ ...options.remote, warn }) : null;
    const steps = new StepCache({ root: at.root, disk, blobs, local: new LocalActionCache(at.cacheDir), remote, warn });
    return new WorkspaceStores(deps, hashes, history, content, disk, blobs, steps, warn, at.stateDir);
  }

  /**
   * Keeps an observation: history first, then the step's state. A kill between the two leaves the
   * old state, so the step runs again; never a state without its history. Returns the new state.
   */
  commit(record: StepRecord): StepState {
    this.history.put(executionRecordOf(record));
    const { state, hashes } = stepStateOf(record);
    this.deps.put(record.step, state, hashes);
    return state;
  }

  async close(): Promise<void> {
    await this.content.close();
    await this.hashes.close();
    await this.history.close();
    await this.deps.close();
    noteStoresClosed(this.stateDir);
  }
}

/**
 * Removes least recently used objects until the content store fits in `maxBytes`, keeping what the
 * current outputs' provenance needs: the outputs of every step's last execution and the inputs it
 * kept (scripts, configs: `prov-make show` prints them), and every edit of a user's kept before a
 * step's version replaced it.
 */
export async function collectGarbage(at: StoreLocations, maxBytes: number): Promise<GcResult> {
  const keep = new Set<string>();
  const history = existsSync(join(at.stateDir, PROVENANCE_FILE)) ? ProvenanceStore.open(at.stateDir) : null;
  const depsDir = join(at.stateDir, DEPS_LOG_DIR);
  if (existsSync(depsDir)) {
    const deps = DepsLog.open(depsDir);
    for (const name of deps.stepNames()) {
      for (const h of deps.getHashes(name)?.outputSha256 ?? []) if (h) keep.add(h);
      // the inputs its last execution kept (by SHA-256 in its record: the deps log has their xxh64)
      const executionId = deps.get(name)?.executionId;
      const e = executionId ? history?.get(executionId) : undefined;
      for (const f of e?.inputs ?? []) if (f.sha256) keep.add(f.sha256);
    }
    await deps.close();
  }
  // a user's kept edits are the user's: gc never takes them
  if (history) {
    for (const e of history.keptEdits()) if (e.sha256) keep.add(e.sha256);
    await history.close();
  }
  const content = new ContentStore(at.cacheDir);
  try {
    return await content.gc(maxBytes, keep);
  } finally {
    await content.close();
  }
}
