/**
 * Whether an input changed while its step ran. Its ctime moving during the step is a change to
 * confirm, as between runs (DESIGN 2, the version's ctime): metadata alone (a chmod by anyone, a
 * hard link the step made to it, which moves its link count) leaves the bytes the step read, and is
 * never a reason to distrust the execution.
 *
 * - The bytes before the step are known (the previous execution read this version): the same hash
 *   now is the same content.
 * - Unknown (a first run, a changed input): a content write moves the mtime, unless it is put back
 *   (cp -p, touch -r). Only the step's own new name for the file (ln, cp -l) explains a moved ctime
 *   then; a racing writer that puts the mtime back in the same step goes unseen there, as on a file
 *   the step writes itself (observe.ts).
 */
import type { FileStat } from '@prov-make/cache';
import type { BuildState } from './build-state.js';
import { CLOCK_MARGIN_MS } from './outputs.js';

export interface StepWindow {
  /** When the step started, in ms. */
  startedAt: number;
  /** Content hashes before the step (outputs.ts, hashesBeforeStep): absolute path -> xxh64. */
  before: Map<string, string>;
  /** Paths the step wrote, as the trace has them. */
  written: readonly string[];
}

/** For one execution: `st` and `hash` are an input's as the step left it. */
export function changedWhileRunning(b: BuildState, step: StepWindow): (abs: string, st: FileStat, hash: string | null) => boolean {
  const startNs = BigInt(step.startedAt) * 1_000_000n;
  let ownNames: Set<string> | undefined; // the files the step wrote, by device and inode: looked at once, when needed
  return (abs, st, hash) => {
    if (st.ctimeNs < startNs) return false;
    const known = step.before.get(abs);
    if (known !== undefined) return hash !== known;
    if (st.mtimeNs >= startNs - BigInt(CLOCK_MARGIN_MS) * 1_000_000n) return true; // written now
    ownNames ??= new Set(step.written.map((p) => b.disk.lstat(p)).filter((w) => w?.isFile()).map((w) => inode(w!)));
    return !ownNames.has(inode(st));
  };
}

const inode = (st: FileStat) => `${st.dev}:${st.ino}`;
