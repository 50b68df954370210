// Stored paths: relative to the workspace inside it (so records and cache keys survive a clone at
// another path), absolute outside it. A path holding bytes that are not UTF-8 (lone surrogates, see
// @prov-make/interposer/byte-path) is stored in valid Unicode, which every store keeps: a marker that
// no normalised key can start with ("./" relative, "//" absolute), then the path with each such
// byte as \xHH and each backslash doubled ("./data/in\xff.txt"). msgpack (lmdb's values), UTF-8
// encoders and hashes of strings would all lose them (each becomes U+FFFD).
import path from 'node:path';
import { decodePath, encodePath, hasRawBytes } from '@prov-make/interposer/byte-path';

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

const RELATIVE_BYTES = './';
const ABSOLUTE_BYTES = '//';

/**
 * A normalised path (relative or absolute; or names joined by NULs) as stored: itself, or its
 * escaped form when it holds raw bytes. pathOfKey is its inverse.
 */
export function keyOf(p: string): string {
  if (!hasRawBytes(p)) return p;
  const escaped = p.replace(/[\\\udc80-\udcff]/gu, (c) => (c === '\\' ? '\\\\' : `\\x${(c.charCodeAt(0) - 0xdc00).toString(16).padStart(2, '0')}`));
  return path.isAbsolute(p) ? ABSOLUTE_BYTES + escaped.slice(1) : RELATIVE_BYTES + escaped;
}

/** The path a key stands for (relative or absolute, raw bytes as lone surrogates): the inverse of keyOf. */
export function pathOfKey(key: string): string {
  const relative = key.startsWith(RELATIVE_BYTES);
  if (!relative && !key.startsWith(ABSOLUTE_BYTES)) return key;
  const escaped = relative ? key.slice(RELATIVE_BYTES.length) : key.slice(ABSOLUTE_BYTES.length - 1);
  const raw = escaped.replace(/\\(\\|x([0-9a-f]{2}))/g, (_, e: string, hex?: string) => (hex ? String.fromCharCode(0xdc00 + parseInt(hex, 16)) : e));
  // canonical: escaped bytes that make valid UTF-8 together (only a crafted key has them) are that character
  return decodePath(encodePath(raw));
}

/**
 * How paths are stored in records: relative to the workspace when inside it (so keys survive a clone
 * at another path), absolute otherwise.
 */
export function toWorkspaceKey(workspaceRoot: string, absPath: string): string {
  // The common case without path.relative (it runs once per traced path): a normalised path below the root.
  if (absPath.charCodeAt(workspaceRoot.length) === SLASH && absPath.startsWith(workspaceRoot) && !workspaceRoot.endsWith('/')) {
    const tail = absPath.slice(workspaceRoot.length + 1);
    if (tail !== '' && !NOT_NORMAL.test(tail)) return keyOf(tail);
  }
  const rel = path.relative(workspaceRoot, absPath);
  if (rel === '') return '.';
  return keyOf(escapes(rel) ? path.normalize(absPath) : rel);
}

/** Inverse of toWorkspaceKey. */
export function fromWorkspaceKey(workspaceRoot: string, key: string): string {
  const p = pathOfKey(key);
  return path.isAbsolute(p) ? p : path.join(workspaceRoot, p);
}
