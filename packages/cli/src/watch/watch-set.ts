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
  /** The step that recorded it and the place in its input or output list (null: absent, no hash). */
  step: string | null;
  list: 'inputs' | 'outputs';
  k: number;
}

/** Why a path event is worth a run: said to people ("raw/a.csv changed"). */
export type Change = { path: string; what: 'changed' | 'appeared' | 'deleted' | 'entries' | 'pipeline' | 'folder' };

export class WatchSet {
  private readonly files = new Map<string, Recorded[]>();
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

  /** The same paths, but any event on the pipeline file is a change (it failed to load). */
  withPipelineInDoubt(): WatchSet {
    const set = new WatchSet(this.root, this.pipelineFile, this.deps, this.disk);
    for (const [p, r] of this.files) set.files.set(p, r);
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
    const byId = new Map<number, Recorded[]>();
    for (const name of steps) {
      const st = deps.get(name);
      if (st) set.addState(name, st, byId);
    }
    for (const [id, recorded] of byId) {
      const path = deps.pathOf(id);
      if (path !== undefined) set.files.set(fromWorkspaceKey(root, path), recorded);
    }
    const globs = new Map<string, string[]>();
    for (const [dir, , glob] of pipeline.foreachListings ?? []) globs.set(dir, [...(globs.get(dir) ?? []), glob]);
    for (const [dir, list] of globs) {
      const abs = fromWorkspaceKey(root, dir);
      if (!set.listed.has(abs)) set.listed.set(abs, picomatch(list));
    }
    return set;
  }

  private addState(step: string, st: StepState, byId: Map<number, Recorded[]>): void {
    const note = (id: number, r: Recorded) => {
      const list = byId.get(id);
      if (!list) byId.set(id, [r]);
      // one entry per trusted token is enough; untrusted ones are confirmed by their own hashes
      else if (r.token === UNTRUSTED || !list.some((x) => x.token === r.token)) list.push(r);
    };
    for (const list of ['inputs', 'outputs'] as const) {
      const { ids, tokens } = st[list];
      for (let k = 0; k < ids.length; k++) note(ids[k], { token: tokens[k], step, list, k });
    }
    for (const id of st.outputs.ids) this.outputs.add(fromWorkspaceKey(this.root, this.deps!.pathOf(id)));
    for (const id of st.absent) note(id, { token: ABSENT, step: null, list: 'inputs', k: -1 });
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
    const recorded = this.files.get(abs);
    if (recorded) {
      const what = await this.differs(abs, recorded);
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
      const before = r.step === null ? null : this.hashOf(r);
      if (before === null) return 'changed';
      if ((await this.disk!.hash(abs, st))?.xxh64 !== before) return 'changed';
    }
    return null;
  }

  private hashOf(r: Recorded): string | null {
    if (!this.hashes.has(r.step!)) this.hashes.set(r.step!, this.deps!.getHashes(r.step!));
    return this.hashes.get(r.step!)?.[r.list][r.k] ?? null;
  }
}

/** The content key of the pipeline file's bytes now (as the parse cache computes it). */
export function pipelineKeyOf(file: string): string | undefined {
  return pipelineSource(file, dirname(file)).contentKey();
}
