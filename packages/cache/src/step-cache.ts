/**
 * The step cache: BuildXL's two-level lookup, so a fresh clone (new paths, new mtimes) restores what
 * did not change instead of running it (DESIGN section 4).
 *
 *   weak key    = the step's definition
 *   path sets   = the paths past executions of that definition observed (inputs and programs,
 *                 absent paths, listed folders), workspace paths relative: stored under the weak key
 *   strong key  = weak key + one path set + the current SHA-256 of each of its paths
 *
 * A hit restores the outputs without running. Keys and blob names are SHA-256 so a shared remote
 * cannot be poisoned with crafted collisions. Only trusted, successful executions are stored.
 */
import { createHash } from 'node:crypto';
import { isAbsolute, join } from 'node:path';
import type { ActionDocuments } from './action-cache.js';
import type { BlobStore } from './blob-store.js';
import { parseCacheEntry, parseWeakIndex, type CacheEntry, type CachedOutput, type Parsed, type PathSet, type WeakIndex } from './cache-entry.js';
import { cachedOutputsProblem, symlinkTargetProblem } from './cache-entry-paths.js';
import type { Disk } from './disk.js';
import type { ExecutionRecord, RecordedFile } from './provenance-store.js';
import type { RemoteCache } from './remote-cache.js';
import { executionRecordOf, succeeded, trusted, type ObservedInput, type StepRecord } from './step-record.js';
import { countedEntries } from './listing-rules.js';
import { listingToken } from './version-token.js';
import { fromWorkspaceKey } from './workspace-key.js';

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
/** Path sets kept per definition: enough for a few branches, bounded so lookups stay cheap. */
const MAX_PATH_SETS = 16;
/** The "content" of a folder in a strong key: only its existence counts (its listing is a path of its own). */
const FOLDER = 'dir';
const MISSING = '-';

export interface CacheHit {
  entry: CacheEntry;
  pathSet: PathSet;
  from: 'local' | 'remote';
}

export interface StepCacheQuery {
  /** The step's name (for warnings). */
  step: string;
  definitionHash: string;
  /** Entries left out of the step's folder listings (its own outputs and later steps'), by absolute path. */
  leftOut(absPath: string): boolean;
  /**
   * Planning only: the SHA-256 files will have after the restores planned so far (absolute path ->
   * digest, 'dir' for a folder). wouldHit adds a hit's own outputs.
   */
  expected?: Map<string, string>;
}

export interface StepCacheOptions {
  root: string;
  disk: Disk;
  blobs: BlobStore;
  local: ActionDocuments;
  remote: RemoteCache | null;
  warn(message: string): void;
}

export class StepCache {
  constructor(private readonly o: StepCacheOptions) {}

  private weakKey(definitionHash: string): string {
    return sha256(`prov-make/weak/v1\0${definitionHash}`);
  }

  private indexKey(weak: string): string {
    return sha256(`prov-make/path-sets/v1\0${weak}`);
  }

  private strongKey(weak: string, set: PathSet, inputs: string[], listed: number[]): string {
    return sha256(JSON.stringify(['prov-make/strong/v1', weak, set.id, inputs, listed]));
  }

  /** SHA-256 of what is at `abs` now (a symlink: of its target), 'dir' for a folder, null when absent. */
  private async contentSha(abs: string, expected?: Map<string, string>): Promise<string | null> {
    const promised = expected?.get(abs);
    if (promised !== undefined) return promised;
    const st = this.o.disk.lstat(abs);
    if (!st) return null;
    if (st.isDirectory()) return FOLDER;
    return (await this.o.disk.hash(abs, st))?.sha256 ?? null;
  }

  private listingTokens(set: PathSet, leftOut: (abs: string) => boolean): number[] {
    return set.listed.map((p) => {
      const abs = fromWorkspaceKey(this.o.root, p);
      return listingToken(countedEntries(this.o.disk, abs, set.listedRules?.[p], (name) => leftOut(join(abs, name))));
    });
  }

  /** The strong key of a path set for the files as they are now, or null when an absent path exists. */
  private async currentKey(weak: string, set: PathSet, q: StepCacheQuery): Promise<string | null> {
    for (const p of set.absent) {
      if ((await this.contentSha(fromWorkspaceKey(this.o.root, p), q.expected)) !== null) return null; // it appeared
    }
    const inputs: string[] = [];
    for (const p of set.inputs) inputs.push((await this.contentSha(fromWorkspaceKey(this.o.root, p), q.expected)) ?? MISSING);
    return this.strongKey(weak, set, inputs, this.listingTokens(set, q.leftOut));
  }

  /** A document checked against its schema, or null (with a warning naming what is wrong). */
  private parse<T>(bytes: Buffer | null, parse: (b: Buffer) => Parsed<T>, what: string): T | null {
    if (!bytes) return null;
    const parsed = parse(bytes);
    if (parsed.problem !== undefined) this.o.warn(`ignored a cache ${what}: ${parsed.problem}`);
    return parsed.value ?? null;
  }

  private index(bytes: Buffer | null, from: string): PathSet[] {
    return this.parse(bytes, parseWeakIndex, `path-set index from the ${from} cache`)?.pathSets ?? [];
  }

  private async pathSets(weak: string): Promise<PathSet[]> {
    const key = this.indexKey(weak);
    const { local, remote } = this.o;
    const mine = this.index(local.get(key), 'local');
    const theirs = remote?.usable ? this.index(await remote.getEntry(key), 'remote') : [];
    const seen = new Set<string>();
    return [...mine, ...theirs].filter((s) => !seen.has(s.id) && seen.add(s.id));
  }

  /** A new run: the remote is asked again, with a full time budget. */
  beginRun(): void {
    this.o.remote?.beginRun();
  }

  /** A cached execution of this step that matches the files as they are now, or null. */
  async lookup(q: StepCacheQuery): Promise<CacheHit | null> {
    const weak = this.weakKey(q.definitionHash);
    const { local, remote } = this.o;
    for (const set of await this.pathSets(weak)) {
      const strong = await this.currentKey(weak, set, q);
      if (!strong) continue;
      let from: CacheHit['from'] = 'local';
      let entry = this.parse(local.get(strong), parseCacheEntry, `entry for step ${q.step} from the local cache`);
      if (!entry && remote?.usable) {
        entry = this.parse(await remote.getEntry(strong), parseCacheEntry, `entry for step ${q.step} from the remote cache`);
        from = 'remote';
      }
      if (!entry) continue;
      const problem = this.checkEntry(entry, q.definitionHash);
      if (problem) {
        this.o.warn(`rejected a ${from} cache entry for step ${q.step}: ${problem}`);
        continue;
      }
      return { entry, pathSet: set, from };
    }
    return null;
  }

  /** Forged or broken entries are refused before anything is written (their shape is the schema's). */
  private checkEntry(entry: CacheEntry, definitionHash: string): string | null {
    if (entry.definitionHash !== definitionHash || entry.execution.definitionHash !== definitionHash) return 'it was made by another definition';
    return cachedOutputsProblem(this.o.root, entry.outputs, this.o.disk);
  }

  /**
   * Planning: is there a cached execution for the files as they would be after the steps planned so
   * far (`q.expected`)? A hit adds its own outputs to `q.expected`. Downloads no blob.
   */
  async wouldHit(q: StepCacheQuery & { expected: Map<string, string> }): Promise<CacheHit | null> {
    const hit = await this.lookup(q);
    for (const o of hit?.entry.outputs ?? []) {
      q.expected.set(fromWorkspaceKey(this.o.root, o.path), o.kind === 'file' ? o.sha256 : o.kind === 'dir' ? FOLDER : sha256(`symlink\0${o.target}`));
    }
    return hit;
  }

  /**
   * Brings every blob of a hit into the local store, streamed and verified against its SHA-256;
   * false if one is missing. A blob already kept is checked against its SHA-256 as it is restored.
   */
  async fetchBlobs(hit: CacheHit, signal?: AbortSignal): Promise<boolean> {
    const { blobs, remote } = this.o;
    for (const o of hit.entry.outputs) {
      signal?.throwIfAborted();
      if (o.kind !== 'file' || blobs.has(o.sha256)) continue;
      // kept only when its bytes hash to the SHA-256 the entry names (else remote.getBlob warns)
      const kept = remote?.usable ? await remote.getBlob(o.sha256, o.size, (chunks) => blobs.keepStream(chunks, o.sha256)) : null;
      if (!kept) {
        this.o.warn(`the cache entry for ${o.path} names content the cache does not hold; the step runs instead`);
        return false;
      }
    }
    return true;
  }

  /**
   * Records a trusted, successful execution locally and on the remote. `leftOut` is the step's
   * listing exclusion as a later lookup will compute it (its new outputs and later steps').
   */
  async store(record: StepRecord, leftOut: (abs: string) => boolean, signal?: AbortSignal): Promise<void> {
    if (!trusted(record) || !succeeded(record)) return;
    const byPath = new Map(record.inputs.map((f) => [f.path, f]));
    const rules = Object.fromEntries(record.listed.flatMap((l) => (l.rules?.length ? [[l.path, l.rules]] : [])));
    const body = { inputs: [...byPath.keys()].sort(), absent: record.absent.map((a) => a.path).sort(), listed: record.listed.map((l) => l.path).sort(), ...(Object.keys(rules).length ? { listedRules: rules } : {}) };
    const set: PathSet = { id: sha256(JSON.stringify(body)), ...body };
    // A path that appeared since would make every lookup refuse this path set.
    if (set.absent.some((p) => this.o.disk.lstat(fromWorkspaceKey(this.o.root, p)) !== undefined)) return;
    const outputs = cachedOutputs(record);
    if (!outputs) return;
    const weak = this.weakKey(record.definitionHash);
    const strong = this.strongKey(weak, set, set.inputs.map((p) => observedSha(byPath.get(p)!)), this.listingTokens(set, leftOut));
    const execution = publishedExecution(executionRecordOf(record));
    const entry: CacheEntry = { version: 1, step: record.step, definitionHash: record.definitionHash, pathSetId: set.id, outputs, execution };
    await this.put(strong, JSON.stringify(entry), this.indexKey(weak), set, outputs, signal);
  }

  private async put(strong: string, entry: string, indexKey: string, set: PathSet, outputs: CachedOutput[], signal?: AbortSignal): Promise<void> {
    const { local, remote, blobs } = this.o;
    local.put(strong, entry);
    const merge = (existing: WeakIndex | null): string => {
      const others = (existing?.pathSets ?? []).filter((s) => s.id !== set.id);
      return JSON.stringify({ version: 1, pathSets: [set, ...others].slice(0, MAX_PATH_SETS) } satisfies WeakIndex);
    };
    local.put(indexKey, merge(this.parse(local.get(indexKey), parseWeakIndex, 'path-set index from the local cache')));
    if (!remote?.usable || remote.readOnly) return;
    for (const o of outputs) {
      signal?.throwIfAborted(); // the entry is uploaded after its blobs, or not at all
      if (o.kind === 'file') await remote.putBlob(o.sha256, () => blobs.blob(o.sha256));
    }
    await remote.putEntry(strong, entry);
    await remote.putEntry(indexKey, merge(this.parse(await remote.getEntry(indexKey), parseWeakIndex, 'path-set index from the remote cache')));
  }
}

/**
 * An execution as an entry publishes it: its inputs without their SHA-256, which would name a secret
 * input's object in every workspace that keeps it (a forged entry naming it as an output's content
 * would restore the secret there); the lookup hashes the inputs itself.
 */
function publishedExecution(e: ExecutionRecord): ExecutionRecord {
  const withoutSha = ({ sha256: _, ...f }: RecordedFile): RecordedFile => f;
  return { ...e, inputs: e.inputs.map(withoutSha), executed: e.executed.map(withoutSha) };
}

/** An input's content in a strong key, as contentSha would find it now. */
function observedSha(f: ObservedInput): string {
  if (!f.version) return MISSING;
  if (f.version.kind === 'dir') return FOLDER;
  return f.sha256 ?? MISSING;
}

/** The outputs as a cache entry lists them, or null when one cannot be cached (outside the workspace, gone, special). */
function cachedOutputs(record: StepRecord): CachedOutput[] | null {
  const outputs: CachedOutput[] = [];
  for (const o of record.outputs) {
    if (isAbsolute(o.path) || !o.version) return null; // an output outside the workspace cannot be restored elsewhere
    const { kind, size, mode } = o.version;
    if (kind === 'file' && o.hash && o.sha256) outputs.push({ kind, path: o.path, hash: o.hash, sha256: o.sha256, size, mode: mode & 0o7777 });
    else if (kind === 'dir') outputs.push({ kind, path: o.path, mode: mode & 0o7777 });
    else if (kind === 'symlink' && o.target !== undefined && !symlinkTargetProblem(o.path, o.target)) outputs.push({ kind, path: o.path, target: o.target });
    else return null; // a device or socket cannot be cached, nor a link a restore would refuse: the step runs
  }
  return outputs;
}
