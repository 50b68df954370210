/**
 * Where a cache entry may write, decided for the whole entry before anything is written (a refused
 * entry leaves nothing behind): every output path inside the workspace without `..`; every symlink
 * target relative and resolving inside it; nothing restored under another output that is a symlink
 * or a file; and, as the disk is now, no symlink or file on the way to an output, so nothing is
 * written through a link already there. Output paths are stored keys (workspace-key.ts): a name
 * that is not UTF-8 is checked as the path it stands for.
 */
import path from 'node:path';
import type { CachedOutput } from './cache-entry.js';
import type { FolderOps } from './workspace-path.js';
import { pathOfKey } from './workspace-key.js';
import { checkRestorePath } from './workspace-path.js';

/** What checking a disk needs: lstat (undefined when nothing is there). */
export type LstatOnly = Pick<FolderOps, 'lstat'>;

/**
 * Why a symlink at `linkRel` (relative to the workspace) may not point at `target`, or null. A
 * target is a run of `..` that stays inside the workspace, then names: `..` after a name could
 * climb from wherever a symlinked name leads, which text alone cannot tell.
 */
export function symlinkTargetProblem(linkRel: string, target: string): string | null {
  if (target.includes('\0')) return 'its target contains a NUL byte';
  if (path.isAbsolute(target)) return `its target ${target} is an absolute path`;
  const segments = target.split('/').filter((s) => s !== '' && s !== '.');
  const climbs = segments.findIndex((s) => s !== '..');
  const up = climbs === -1 ? segments.length : climbs;
  if (segments.slice(up).includes('..')) return `its target ${target} has ".." after a name`;
  const depth = path.dirname(linkRel).split('/').filter((s) => s !== '.' && s !== '').length;
  if (up > depth) return `its target ${target} leads outside the workspace`;
  return null;
}

function outputProblem(root: string, o: CachedOutput): string | null {
  const p = pathOfKey(o.path);
  if (path.isAbsolute(p)) return `output ${o.path} is an absolute path`;
  try {
    checkRestorePath(root, path.join(root, p));
  } catch (err) {
    return `output ${o.path} is not a safe path (${(err as Error).message})`;
  }
  if (path.normalize(p) !== p || p.endsWith('/')) return `output ${o.path} is not a normal path`;
  if (o.kind === 'symlink') {
    const problem = symlinkTargetProblem(p, o.target);
    if (problem) return `output ${o.path} is a symlink that may not be restored: ${problem}`;
  }
  return null;
}

/** What is on disk on the way to an output, as a problem, or null when every folder there is real. */
function diskProblem(root: string, o: CachedOutput, disk: LstatOnly): string | null {
  const segments = pathOfKey(o.path).split('/');
  let at = root;
  for (const [n, segment] of segments.entries()) {
    at = path.join(at, segment);
    const st = disk.lstat(at);
    if (st === undefined) return null; // made by the restore, as a real folder
    const last = n === segments.length - 1;
    const shown = segments.slice(0, n + 1).join('/'); // its raw bytes as they are: warnings are shown escaped
    if (!last && st.isSymbolicLink()) return `output ${o.path}: ${shown} is a symlink`;
    if (!last && !st.isDirectory()) return `output ${o.path}: ${shown} is not a folder`;
    if (last && o.kind !== 'dir' && st.isDirectory() && !st.isSymbolicLink()) return `output ${o.path} is a folder in the workspace`;
    if (last && o.kind === 'dir' && !st.isDirectory()) return `output ${o.path} is ${st.isSymbolicLink() ? 'a symlink' : 'a file'} in the workspace`;
  }
  return null;
}

/**
 * Why an entry's outputs may not be restored in the workspace at `root` as its disk is now, or
 * null. Checked again right before restoring: another step may have changed the disk since.
 */
export function cachedOutputsProblem(root: string, outputs: readonly CachedOutput[], disk: LstatOnly): string | null {
  const kinds = new Map<string, CachedOutput['kind']>();
  for (const o of outputs) {
    const problem = outputProblem(root, o);
    if (problem) return problem;
    const p = pathOfKey(o.path);
    if (kinds.has(p)) return `output ${o.path} is listed twice`;
    kinds.set(p, o.kind);
  }
  for (const o of outputs) {
    for (let dir = path.dirname(pathOfKey(o.path)); dir !== '.'; dir = path.dirname(dir)) {
      const kind = kinds.get(dir);
      if (kind && kind !== 'dir') return `output ${o.path} is under output ${dir}, a ${kind}`;
    }
    const problem = diskProblem(root, o, disk);
    if (problem) return problem;
  }
  return null;
}
