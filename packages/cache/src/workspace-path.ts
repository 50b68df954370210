// Where a restore may write. A cache entry (possibly from a shared remote cache) names the paths it
// restores, so a crafted or stale entry must never make us write outside the workspace (DESIGN §4):
// no `..`, nothing outside the root, and no symlinked folder on the way that could point elsewhere.
import fs from 'node:fs';
import { fsPath } from '@prov-make/interposer/byte-path';
import path from 'node:path';
import { errnoCode, UnsafePathError } from './errors.js';
import { escapes } from './workspace-key.js';

/**
 * Lexical checks only: dest is absolute, has no `..` segment, and is strictly inside the root after
 * normalisation. Returns the path relative to the root.
 */
export function checkRestorePath(workspaceRoot: string, destAbsPath: string): string {
  if (!path.isAbsolute(workspaceRoot)) throw new UnsafePathError(destAbsPath, 'the workspace root is not absolute');
  if (!path.isAbsolute(destAbsPath)) throw new UnsafePathError(destAbsPath, 'the path is not absolute');
  // Refuse `..` outright, even when it would normalise back inside: it only appears in crafted entries.
  if (destAbsPath.split(/[\\/]/).includes('..')) throw new UnsafePathError(destAbsPath, 'the path contains ".."');
  if (destAbsPath.includes('\0')) throw new UnsafePathError(destAbsPath, 'the path contains a NUL byte');
  const rel = path.relative(path.resolve(workspaceRoot), path.resolve(destAbsPath));
  if (rel === '' || escapes(rel)) {
    throw new UnsafePathError(destAbsPath, `it is not inside the workspace ${workspaceRoot}`);
  }
  return rel;
}

/** What making folders for a restore needs of a file system (the node one, or the engine's Disk). */
export interface FolderOps {
  lstat(path: string): { isDirectory(): boolean; isSymbolicLink(): boolean } | undefined;
  /** Makes one folder (its parent exists); may throw EEXIST. */
  mkdir(path: string): void;
}

const nodeFolders: FolderOps = {
  lstat: (p) => fs.lstatSync(fsPath(p), { throwIfNoEntry: false }),
  mkdir: (p) => fs.mkdirSync(fsPath(p)),
};

/**
 * Make sure every folder between the workspace root and `destAbsPath` is a real directory (creating
 * missing ones one level at a time) and none is a symlink. Returns the normalised destination.
 * The root itself is trusted and may be reached through symlinks. A process racing us to swap a folder
 * for a symlink between this check and the write is outside what Node's API lets us prevent (no openat).
 */
export async function prepareRestorePath(workspaceRoot: string, destAbsPath: string): Promise<string> {
  const root = path.resolve(workspaceRoot);
  checkRestorePath(workspaceRoot, destAbsPath);
  const rootStat = await fs.promises.stat(root).catch(() => null);
  if (!rootStat?.isDirectory()) throw new UnsafePathError(destAbsPath, `the workspace ${workspaceRoot} is not a directory`);
  return prepareRestoreFolders(nodeFolders, workspaceRoot, destAbsPath);
}

/** prepareRestorePath on any file system, for a root known to be a folder. */
export function prepareRestoreFolders(ops: FolderOps, workspaceRoot: string, destAbsPath: string): string {
  const rel = checkRestorePath(workspaceRoot, destAbsPath);
  const root = path.resolve(workspaceRoot);
  let dir = root;
  for (const segment of rel.split(path.sep).slice(0, -1)) {
    dir = path.join(dir, segment);
    let st = ops.lstat(dir);
    if (st === undefined) {
      try {
        ops.mkdir(dir); // one level: never creates through a symlink someone else made
      } catch (err) {
        if (errnoCode(err) !== 'EEXIST') throw err; // lost a race with another creator: check what is there
      }
      st = ops.lstat(dir);
      if (st === undefined) throw new UnsafePathError(destAbsPath, `${dir} could not be made`);
    }
    if (st.isSymbolicLink()) throw new UnsafePathError(destAbsPath, `${dir} is a symlink`);
    if (!st.isDirectory()) throw new UnsafePathError(destAbsPath, `${dir} is not a directory`);
  }
  return path.join(root, rel);
}
