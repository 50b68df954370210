// Stored paths: relative to the workspace inside it (so records and cache keys survive a clone at
// another path), absolute outside it.
import path from 'node:path';

// A relative path leaves its base when it climbs (a file named "..data" does not).
export function escapes(rel: string): boolean {
  return rel === '..' || rel.startsWith(`..${path.sep}`) || path.isAbsolute(rel);
}

const SLASH = 47;
/** A `.` or `..` segment, an empty segment, or a trailing slash: path.relative must normalise it. */
const NOT_NORMAL = /(^|\/)\.\.?(\/|$)|\/\/|\/$/;

/** Whether `absPath` is `folder` or inside it (both normalised). */
export function isInsideFolder(folder: string, absPath: string): boolean {
  return absPath === folder || absPath.startsWith(folder.endsWith('/') ? folder : `${folder}/`);
}

/**
 * How paths are stored in records: relative to the workspace when inside it (so keys survive a clone
 * at another path), absolute otherwise.
 */
export function toWorkspaceKey(workspaceRoot: string, absPath: string): string {
  // The common case without path.relative (it runs once per traced path): a normalised path below the root.
  if (absPath.charCodeAt(workspaceRoot.length) === SLASH && absPath.startsWith(workspaceRoot) && !workspaceRoot.endsWith('/')) {
    const tail = absPath.slice(workspaceRoot.length + 1);
    if (tail !== '' && !NOT_NORMAL.test(tail)) return tail;
  }
  const rel = path.relative(workspaceRoot, absPath);
  if (rel === '') return '.';
  return escapes(rel) ? path.normalize(absPath) : rel;
}

/** Inverse of toWorkspaceKey. */
export function fromWorkspaceKey(workspaceRoot: string, key: string): string {
  return path.isAbsolute(key) ? key : path.join(workspaceRoot, key);
}
