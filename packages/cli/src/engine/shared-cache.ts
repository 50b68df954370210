/**
 * The portable cache: BuildXL's two-level lookup, so a fresh clone (new paths, new mtimes) restores
 * what did not change instead of running it (DESIGN section 4).
 *
 *   weak key    = the step's definition
 *   path sets   = the paths past executions of that definition observed (inputs and programs,
 *                 absent paths, listed folders), workspace paths relative: stored under the weak key
 *   strong key  = weak key + one path set + the current SHA-256 of each of its paths
 *
 * A hit restores the outputs without running. Keys and blob names are SHA-256 so a shared remote
 * cannot be poisoned with crafted collisions. Only fully observed, successful executions are stored.
 */
import { createHash } from 'node:crypto';
import { lstatSync, readFileSync, readlinkSync } from 'node:fs';
import { isAbsolute } from 'node:path';
import {
  checkRestorePath,
  ContentStore,
  LocalActionCache,
  RemoteCache,
  sha256File,
  type ExecutionRecord,
} from '@prov-make/cache';
import type { Step } from '../pipeline/pipeline.js';
import { definitionHash } from './definition.js';
import type { Execution } from './execute.js';
import { listingToken } from './listing.js';
import { absolutePath, isInside, type Workspace } from './workspace.js';

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
/** Path sets kept per definition: enough for a few branches, bounded so lookups stay cheap. */
const MAX_PATH_SETS = 16;

export interface PathSet {
  id: string;
  inputs: string[];
  absent: string[];
  listed: string[];
}

interface WeakIndex {
  version: 1;
  pathSets: PathSet[];
}

export interface CacheEntry {
  version: 1;
  step: string;
  definitionHash: string;
  pathSetId: string;
  /** Files (restored from blobs), folders (made again) and symlinks (made again from their target). */
  outputs: CachedOutput[];
  /** The execution that made the outputs, for the restoring workspace's history. */
  execution: ExecutionRecord;
}

export type CachedOutput =
  | { kind: 'file'; path: string; hash: string; sha256: string; size: number; mode: number }
  | { kind: 'dir'; path: string; mode: number }
  | { kind: 'symlink'; path: string; target: string };

export interface CacheHit {
  entry: CacheEntry;
  pathSet: PathSet;
  from: 'local' | 'remote';
}

export class SharedCache {
  private readonly shaMemo = new Map<string, string>();

  constructor(
    private readonly ws: Workspace,
    private readonly local: LocalActionCache,
    private readonly content: ContentStore,
    private readonly remote: RemoteCache | null,
    private readonly warn: (message: string) => void,
  ) {}

  private weakKey(step: Step): string {
    return sha256(`prov-make/weak/v1\0${definitionHash(step)}`);
  }

  private indexKey(weak: string): string {
    return sha256(`prov-make/path-sets/v1\0${weak}`);
  }

  /** SHA-256 of a file's content (a symlink: of its target), memoised on its stat tuple for this run. */
  private contentSha(abs: string, planned?: Map<string, string>): string | null {
    const promised = planned?.get(abs);
    if (promised !== undefined) return promised;
    let st;
    try {
      st = lstatSync(abs, { bigint: true });
    } catch {
      return null;
    }
    if (st.isDirectory()) return 'dir';
    const memoKey = `${abs}\0${st.ino}\0${st.mtimeNs}\0${st.size}`;
    let h = this.shaMemo.get(memoKey);
    if (!h) {
      h = st.isSymbolicLink() ? sha256(`symlink\0${readlinkSync(abs)}`) : createHash('sha256').update(readFileSync(abs)).digest('hex');
      this.shaMemo.set(memoKey, h);
    }
    return h;
  }

  private strongKey(weak: string, set: PathSet, notListed: (abs: string) => boolean, planned?: Map<string, string>): string | null {
    for (const p of set.absent) {
      if (this.contentSha(absolutePath(this.ws, p), planned) !== null) return null; // it appeared: this path set cannot match
    }
    const inputs = set.inputs.map((p) => this.contentSha(absolutePath(this.ws, p), planned) ?? '-');
    const listed = set.listed.map((p) => listingToken(absolutePath(this.ws, p), notListed));
    return sha256(JSON.stringify(['prov-make/strong/v1', weak, set.id, inputs, listed]));
  }

  private parse<T>(bytes: Buffer | null, what: string): T | null {
    if (!bytes) return null;
    try {
      return JSON.parse(bytes.toString('utf8')) as T;
    } catch {
      this.warn(`ignored a cache ${what} that is not valid JSON`);
      return null;
    }
  }

  private async pathSets(weak: string): Promise<PathSet[]> {
    const key = this.indexKey(weak);
    const local = this.parse<WeakIndex>(this.local.get(key), 'path-set index')?.pathSets ?? [];
    const remote = this.remote?.usable ? this.parse<WeakIndex>(await this.remote.getEntry(key), 'path-set index')?.pathSets ?? [] : [];
    const seen = new Set<string>();
    return [...local, ...remote].filter((s) => s && Array.isArray(s.inputs) && !seen.has(s.id) && seen.add(s.id));
  }

  /** A cached execution of this step that matches the files as they are now, or null. */
  async lookup(step: Step, notListed: (abs: string) => boolean, planned?: Map<string, string>): Promise<CacheHit | null> {
    const weak = this.weakKey(step);
    for (const set of await this.pathSets(weak)) {
      const strong = this.strongKey(weak, set, notListed, planned);
      if (!strong) continue;
      let from: CacheHit['from'] = 'local';
      let entry = this.parse<CacheEntry>(this.local.get(strong), 'entry');
      if (!entry && this.remote?.usable) {
        entry = this.parse<CacheEntry>(await this.remote.getEntry(strong), 'entry');
        from = 'remote';
      }
      if (!entry) continue;
      const problem = this.checkEntry(entry, step);
      if (problem) {
        this.warn(`rejected a ${from} cache entry for step ${step.name}: ${problem}`);
        continue;
      }
      return { entry, pathSet: set, from };
    }
    return null;
  }

  /** Forged or broken entries are refused before anything is written. */
  private checkEntry(entry: CacheEntry, step: Step): string | null {
    if (entry?.version !== 1 || !Array.isArray(entry.outputs) || !entry.execution) return 'it is not a prov-make cache entry';
    if (entry.definitionHash !== definitionHash(step)) return 'it was made by another definition';
    for (const o of entry.outputs) {
      if (typeof o.path !== 'string') return 'an output is malformed';
      if (o.kind === 'file' && (typeof o.hash !== 'string' || !/^[0-9a-f]{64}$/.test(String(o.sha256)))) return 'an output is malformed';
      if (o.kind === 'symlink' && (typeof o.target !== 'string' || o.target.includes('\0'))) return 'an output is malformed';
      if (o.kind !== 'file' && o.kind !== 'dir' && o.kind !== 'symlink') return 'an output is malformed';
      if (isAbsolute(o.path)) return `output ${o.path} is an absolute path`;
      try {
        checkRestorePath(this.ws.root, absolutePath(this.ws, o.path));
      } catch (err) {
        return `output ${o.path} is not a safe path (${(err as Error).message})`;
      }
    }
    return null;
  }

  /**
   * `status`: is there a cached execution for the files as they would be after the steps planned
   * so far? `planned` maps absolute paths to the SHA-256 a planned restore would give them; a hit
   * adds its own outputs to it. Downloads nothing.
   */
  async wouldHit(step: Step, notListed: (abs: string) => boolean, planned: Map<string, string>): Promise<CacheHit | null> {
    const hit = await this.lookup(step, notListed, planned);
    if (hit) {
      for (const o of hit.entry.outputs) {
        planned.set(absolutePath(this.ws, o.path), o.kind === 'file' ? o.sha256 : o.kind === 'dir' ? 'dir' : sha256(`symlink\0${o.target}`));
      }
    }
    return hit;
  }

  /** Brings every blob of a hit into the local content store (verified); false if one is missing. */
  async fetchBlobs(hit: CacheHit): Promise<boolean> {
    for (const o of hit.entry.outputs) {
      if (o.kind !== 'file' || this.content.has(o.hash)) continue;
      const bytes = this.remote?.usable ? await this.remote.getBlob(o.sha256) : null;
      if (!bytes) {
        this.warn(`the cache entry for ${o.path} names content the cache does not hold; the step runs instead`);
        return false;
      }
      const stored = await this.content.putBytes(bytes);
      if (stored !== o.hash) {
        this.warn(`the cached content of ${o.path} does not match its entry; the step runs instead`);
        return false;
      }
    }
    return true;
  }

  /** Records a successful, fully observed execution locally and on the remote. */
  async store(step: Step, execution: Execution, notListed: (abs: string) => boolean): Promise<void> {
    if (!execution.trusted || execution.status !== 'succeeded') return;
    const paths = (list: { path: string }[]) => [...new Set(list.map((f) => f.path))].sort();
    const body = { inputs: paths([...execution.inputs, ...execution.executed]), absent: [...execution.absent].sort(), listed: execution.listed.map((l) => l.path).sort() };
    const set: PathSet = { id: sha256(JSON.stringify(body)), ...body };
    const weak = this.weakKey(step);
    const own = new Set(execution.outputs.map((o) => absolutePath(this.ws, o.path)));
    const strong = this.strongKey(weak, set, (abs) => own.has(abs) || notListed(abs));
    if (!strong) return;
    const outputs: CacheEntry['outputs'] = [];
    for (const o of execution.outputs) {
      const abs = absolutePath(this.ws, o.path);
      if (!isInside(this.ws.root, abs) || !o.version) return; // an output outside the workspace cannot be restored elsewhere
      const kind = o.version.kind;
      if (kind === 'file' && o.hash) outputs.push({ kind, path: o.path, hash: o.hash, sha256: await sha256File(abs), size: o.version.size, mode: o.version.mode & 0o7777 });
      else if (kind === 'dir') outputs.push({ kind, path: o.path, mode: o.version.mode & 0o7777 });
      else if (kind === 'symlink') outputs.push({ kind, path: o.path, target: readlinkSync(abs) });
      else return; // a device or socket cannot be cached: the step runs
    }
    const entry: CacheEntry = { version: 1, step: step.name, definitionHash: execution.definitionHash, pathSetId: set.id, outputs, execution: { ...execution } };
    const json = JSON.stringify(entry);
    this.local.put(strong, json);
    const indexKey = this.indexKey(weak);
    const merge = (existing: WeakIndex | null): string => {
      const others = (existing?.pathSets ?? []).filter((s) => s.id !== set.id);
      return JSON.stringify({ version: 1, pathSets: [set, ...others].slice(0, MAX_PATH_SETS) } satisfies WeakIndex);
    };
    this.local.put(indexKey, merge(this.parse<WeakIndex>(this.local.get(indexKey), 'path-set index')));
    if (this.remote?.usable && !this.remote.readOnly) {
      for (const o of outputs) if (o.kind === 'file') await this.remote.putBlobFile(o.sha256, this.content.objectPath(o.hash));
      await this.remote.putEntry(strong, json);
      await this.remote.putEntry(indexKey, merge(this.parse<WeakIndex>(await this.remote.getEntry(indexKey), 'path-set index')));
    }
  }
}
