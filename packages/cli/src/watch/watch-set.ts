/**
 * What watch mode watches, derived from the traces after each run: every input, program, output
 * and absent path of the steps, the folders they listed, the folders foreach globs walked, and the
 * pipeline file; and, for an event on one of them, whether it is a change the engine would act
 * on. The test is the engine's own (check.ts): the version token the step recorded, confirmed by
 * content hash when it differs, so a step's own output, a touch, or a save of the same bytes runs
 * nothing. Any doubt is a change: the run that follows decides, with the same rules as `run`.
 */
import { dirname } from 'node:path';
import picomatch from 'picomatch';
import { ABSENT, fromWorkspaceKey, tokenOf, toWorkspaceKey, UNTRUSTED, type DepsLog, type Disk, type StepState } from '@prov-make/cache';
import { pipelineSource } from '../pipeline/load.js';
import type { Pipeline } from '../pipeline/types.js';

/** One recorded version of a path: its token, and where to find the hash that confirms it. */
interface Recorded {
  token: number;
  /** The step (index into the derived steps) that recorded it, and the place in its input or output list; -1: absent, no hash. */
  step: number;
  list: 'inputs' | 'outputs';
  k: number;
}

/**
 * What the steps recorded, by deps-log id: a million dependencies over 50,000 files are mostly one
 * token per file, kept in typed arrays; other tokens of a file (and untrusted ones, each confirmed
 * by its own hash) go in `more`.
 */
class Recordings {
  private readonly token: Float64Array;
  private readonly step: Int32Array;
  private readonly k: Int32Array;
  private readonly output: Uint8Array;
  private readonly more = new Map<number, Recorded[]>();

  constructor(size: number) {
    this.token = new Float64Array(size).fill(NaN);
    this.step = new Int32Array(size);
    this.k = new Int32Array(size);
    this.output = new Uint8Array(size);
  }

  note(id: number, token: number, step: number, list: 'inputs' | 'outputs', k: number): void {
    const first = this.token[id];
    if (first !== first) {
      this.token[id] = token;
      this.step[id] = step;
      this.k[id] = k;
      this.output[id] = list === 'outputs' ? 1 : 0;
    } else if (token !== first || token === UNTRUSTED) {
      const more = this.more.get(id);
      if (!more) this.more.set(id, [{ token, step, list, k }]);
      else if (token === UNTRUSTED || !more.some((r) => r.token === token)) more.push({ token, step, list, k });
    }
  }

  /** The ids noted. */
  *ids(): Generator<number> {
    for (let id = 0; id < this.token.length; id++) if (this.token[id] === this.token[id]) yield id;
  }

  of(id: number): Recorded[] {
    const first: Recorded = { token: this.token[id], step: this.step[id], list: this.output[id] ? 'outputs' : 'inputs', k: this.k[id] };
    return [first, ...(this.more.get(id) ?? [])];
  }
}

/** Why a path event is worth a run: said to people ("raw/a.csv changed"). */
export type Change = { path: string; what: 'changed' | 'appeared' | 'deleted' | 'entries' | 'pipeline' | 'folder' };

export class WatchSet {
  /** Watched path -> its deps-log id in `recorded`. */
  private readonly files = new Map<string, number>();
  private recorded = new Recordings(0);
  private steps: readonly string[] = [];
  /** Folders whose entries a step listed (null), or a foreach glob walked (its globs' matcher). */
  private readonly listed = new Map<string, ((rel: string) => boolean) | null>();
  private readonly outputs = new Set<string>();
  private readonly hashes = new Map<string, { inputs: (string | null)[]; outputs: (string | null)[] } | undefined>();
  private byFolder: Map<string, string[]> | null = null;

  private constructor(
    readonly root: string,
    readonly pipelineFile: string,
    private readonly deps: DepsLog | null,
    private readonly disk: Disk | null,
    /** The content key of the pipeline the steps were run with (undefined: any event on it is a change). */
    private readonly pipelineKey?: string,
  ) {}

  /** Only the pipeline file (nothing has run yet, or the pipeline does not load). */
  static pipelineOnly(root: string, pipelineFile: string): WatchSet {
    return new WatchSet(root, pipelineFile, null, null);
  }

  /** The same paths, for a run of the pipeline file with content key `key` (undefined: any event on it is a change). */
  withPipelineKey(key: string | undefined): WatchSet {
    const set = new WatchSet(this.root, this.pipelineFile, this.deps, this.disk, key);
    for (const [p, id] of this.files) set.files.set(p, id);
    set.recorded = this.recorded;
    set.steps = this.steps;
    for (const [p, g] of this.listed) set.listed.set(p, g);
    for (const p of this.outputs) set.outputs.add(p);
    return set;
  }

  /**
   * From the states of `steps` in the deps log, and the pipeline's foreach folders. `ranWith`: the
   * content key of the pipeline file as the run read it (it may have been edited since).
   */
  static derive(root: string, pipeline: Pipeline, steps: readonly string[], deps: DepsLog, disk: Disk, ranWith: string | undefined): WatchSet {
    const set = new WatchSet(root, pipeline.file, deps, disk, ranWith);
    set.steps = steps;
    set.recorded = new Recordings(deps.fileCount + 1);
    steps.forEach((name, i) => {
      const st = deps.get(name);
      if (st) set.addState(i, st);
    });
    for (const id of set.recorded.ids()) {
      const path = deps.pathOf(id);
      if (path !== undefined) set.files.set(fromWorkspaceKey(root, path), id);
    }
    const globs = new Map<string, string[]>();
    for (const [dir, , glob] of pipeline.foreachListings ?? []) globs.set(dir, [...(globs.get(dir) ?? []), glob]);
    for (const [dir, list] of globs) {
      const abs = fromWorkspaceKey(root, dir);
      if (!set.listed.has(abs)) set.listed.set(abs, picomatch(list));
    }
    return set;
  }

  private addState(step: number, st: StepState): void {
    for (const list of ['inputs', 'outputs'] as const) {
      const { ids, tokens } = st[list];
      for (let k = 0; k < ids.length; k++) this.recorded.note(ids[k], tokens[k], step, list, k);
    }
    for (const id of st.outputs.ids) this.outputs.add(fromWorkspaceKey(this.root, this.deps!.pathOf(id)));
    for (const id of st.absent) this.recorded.note(id, ABSENT, -1, 'inputs', -1);
    for (const id of st.listed.ids) this.listed.set(fromWorkspaceKey(this.root, this.deps!.pathOf(id)), null);
  }

  get size(): number {
    return this.files.size + this.listed.size + 1;
  }

  /** The folders to watch (each one holding a watched path, each listed one, the pipeline file's), with the watched paths in each. */
  folders(): Map<string, string[]> {
    if (this.byFolder) return this.byFolder;
    const out = new Map<string, string[]>([[dirname(this.pipelineFile), [this.pipelineFile]]]);
    for (const p of this.files.keys()) {
      const list = out.get(dirname(p));
      if (list) list.push(p);
      else out.set(dirname(p), [p]);
    }
    for (const p of this.listed.keys()) if (!out.has(p)) out.set(p, []);
    return (this.byFolder = out);
  }

  /** The watched paths in `folder`: to check a folder watched only now, or one that went away. */
  pathsIn(folder: string): string[] {
    return this.folders().get(folder) ?? [];
  }

  /**
   * Is this event a change to act on? `entry`: the event was about an entry coming, going or being
   * renamed (inotify's create, delete and move), not about its content.
   */
  async changeAt(abs: string, entry: boolean): Promise<Change | null> {
    if (abs === this.pipelineFile) return this.pipelineKey !== undefined && pipelineKeyOf(abs) === this.pipelineKey ? null : { path: abs, what: 'pipeline' };
    const id = this.files.get(abs);
    if (id !== undefined) {
      const what = await this.differs(abs, this.recorded.of(id));
      if (what) return { path: abs, what };
    }
    if (!entry) return null;
    const folder = dirname(abs);
    if (this.listed.has(folder) && !this.outputs.has(abs)) {
      // a listing counts every entry (the engine decides); a foreach folder only names its glob matches
      const glob = this.listed.get(folder);
      if (!glob || glob(toWorkspaceKey(this.root, abs))) return { path: folder, what: 'entries' };
    }
    if (this.listed.has(abs)) return { path: abs, what: 'folder' };
    return null;
  }

  /** How the path now differs from every version the steps recorded, or null when one of them matches it. */
  private async differs(abs: string, recorded: Recorded[]): Promise<Change['what'] | null> {
    const st = this.disk!.lstat(abs);
    const now = tokenOf(st);
    for (const r of recorded) {
      if (r.token === now) continue;
      if (now === ABSENT) return 'deleted';
      if (r.token === ABSENT) return 'appeared';
      if (st!.isDirectory()) continue; // a folder output: made again, its mtime says nothing
      const before = r.step < 0 ? null : this.hashOf(r);
      if (before === null) return 'changed';
      if ((await this.disk!.hash(abs, st))?.xxh64 !== before) return 'changed';
    }
    return null;
  }

  private hashOf(r: Recorded): string | null {
    const step = this.steps[r.step];
    if (!this.hashes.has(step)) this.hashes.set(step, this.deps!.getHashes(step));
    return this.hashes.get(step)?.[r.list][r.k] ?? null;
  }
}

/** The content key of the pipeline file's bytes now (as the parse cache computes it). */
export function pipelineKeyOf(file: string): string | undefined {
  return pipelineSource(file, dirname(file)).contentKey();
}
