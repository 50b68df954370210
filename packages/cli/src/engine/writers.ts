/**
 * Who writes what: stored path -> the steps whose last execution wrote it. Listings leave out the
 * outputs of the listing step itself and of later steps, identically when recording, checking,
 * keying the cache and in the no-op snapshot: a listing is compared before the step runs (in a
 * fresh clone its own outputs do not exist yet), and later steps' outputs are the read-before-write
 * hazard, not a reason to rerun (Python's import cache lists the workspace).
 */
import { join } from 'node:path';
import { countedEntries, listingToken, toWorkspaceKey, type DepsLog, type Disk, type StepState } from '@prov-make/cache';

export class OutputWriters {
  private readonly byPath = new Map<string, Set<number>>();

  constructor(
    private readonly root: string,
    private readonly deps: DepsLog,
  ) {}

  add(i: number, st: StepState): void {
    for (const id of st.outputs.ids) {
      const p = this.deps.pathOf(id);
      let s = this.byPath.get(p);
      if (!s) this.byPath.set(p, (s = new Set()));
      s.add(i);
    }
  }

  remove(i: number, st: StepState): void {
    for (const id of st.outputs.ids) this.byPath.get(this.deps.pathOf(id))?.delete(i);
  }

  /** For step i's listings: true for outputs of step i and of later steps (absolute paths). */
  leftOut(i: number): (absPath: string) => boolean {
    return this.writtenBy((j) => j >= i);
  }

  /** Outputs of the steps after step i (recording step i's listings, with its own new outputs beside). */
  ofLaterSteps(i: number): (absPath: string) => boolean {
    return this.writtenBy((j) => j > i);
  }

  private writtenBy(which: (j: number) => boolean): (absPath: string) => boolean {
    return (abs) => {
      const w = this.byPath.get(toWorkspaceKey(this.root, abs));
      if (!w) return false;
      for (const j of w) if (which(j)) return true;
      return false;
    };
  }
}

/** A folder's listing as it is now: the names that count (not left out) and their token. */
export interface Listing {
  token: number;
  /** null: not a readable folder. */
  names: string[] | null;
}

/** The listing of a folder as it is now, counting what its rules count and leaving out what `leftOut` names. */
export function currentListing(disk: Disk, absDir: string, leftOut: (absPath: string) => boolean, rules?: readonly string[]): Listing {
  const names = countedEntries(disk, absDir, rules, (name) => leftOut(join(absDir, name)));
  return { token: listingToken(names), names };
}
