/**
 * The documents of the step cache (step-cache.ts) as they travel: path-set indexes and cache
 * entries, JSON in the local `ac/` folder and on a shared remote. Whatever comes back is checked
 * against these schemas (valibot) before any field is used: a document of another shape is a miss
 * with a warning, never a crash, and keys the schemas do not name are dropped.
 */
import * as v from 'valibot';
import { CONTENT_HASH_RE, SHA256_RE } from './hash.js';
import { keyOf, pathOfKey } from './workspace-key.js';

export interface PathSet {
  id: string;
  inputs: string[];
  absent: string[];
  listed: string[];
  /** Listing rules of the listings they narrowed, by path (listing-rules.ts). */
  listedRules?: Record<string, string[]>;
}

export interface WeakIndex {
  version: 1;
  pathSets: PathSet[];
}

export type CachedOutput =
  | { kind: 'file'; path: string; hash: string; sha256: string; size: number; mode: number }
  | { kind: 'dir'; path: string; mode: number }
  | { kind: 'symlink'; path: string; target: string };

/** The execution that made an entry's outputs, as far as adopting it needs (cache-entry schema). */
export interface CachedExecution {
  id: string;
  definitionHash: string;
  startedAt: number;
  finishedAt: number;
  signal: string | null;
  fullyObserved: boolean;
  inputs: { path: string }[];
  executed: { path: string }[];
  deleted: string[];
  untraced: { path: string; reason: string }[];
  annotations: string[];
  /** The output log's object (SHA-256). */
  outputLogHash: string | null;
  /** The execution that first made these outputs, when this one was itself adopted from a cache. */
  adoptedFrom?: string;
}

export interface CacheEntry {
  version: 1;
  step: string;
  definitionHash: string;
  pathSetId: string;
  /** Files (restored from blobs), folders (made again) and symlinks (made again from their target). */
  outputs: CachedOutput[];
  /** The execution that made the outputs, for the restoring workspace's history. */
  execution: CachedExecution;
}

/** Longer paths are refused by Linux anyway (PATH_MAX). */
const MAX_PATH = 4096;

/**
 * A path as records store it: `.` (the workspace), relative to the workspace (no `.` or `..`
 * segment, no empty one) or absolute and normal, never with a NUL byte.
 */
export function isStoredPath(key: string): boolean {
  if (key === '.') return true; // the workspace itself (a listing of its root)
  if (key.length === 0 || key.length > MAX_PATH * 4) return false; // \xHH: a raw byte takes 4 characters
  // a name that is not UTF-8 is stored escaped (workspace-key.ts): the path it stands for is checked,
  // and the key must be that path's own one, so no two keys name one file
  const p = pathOfKey(key);
  if (keyOf(p) !== key || p.length > MAX_PATH || p.includes('\0')) return false;
  const segments = (p.startsWith('/') ? p.slice(1) : p).split('/');
  return p === '/' || segments.every((s) => s !== '' && s !== '.' && s !== '..');
}

const storedPath = v.pipe(v.string(), v.check(isStoredPath, 'is not a normal path'));
const sha256 = v.pipe(v.string(), v.regex(SHA256_RE));
const xxh64 = v.pipe(v.string(), v.regex(CONTENT_HASH_RE));
const count = v.pipe(v.number(), v.safeInteger(), v.minValue(0));
const mode = v.pipe(v.number(), v.safeInteger(), v.minValue(0), v.maxValue(0o7777));
const text = v.pipe(v.string(), v.maxLength(64 * 1024));
const time = v.pipe(v.number(), v.finite());

const pathSetSchema = v.object({
  id: sha256,
  inputs: v.array(storedPath),
  absent: v.array(storedPath),
  listed: v.array(storedPath),
  listedRules: v.optional(v.record(storedPath, v.array(text))),
});

const weakIndexSchema = v.object({ version: v.literal(1), pathSets: v.array(pathSetSchema) });

/** Where an output may go is cachedOutputsProblem's to say (cache-entry-paths.ts), with the reason. */
const outputPath = v.pipe(v.string(), v.minLength(1), v.maxLength(MAX_PATH));
const cachedOutputSchema = v.variant('kind', [
  v.object({ kind: v.literal('file'), path: outputPath, hash: xxh64, sha256, size: count, mode }),
  v.object({ kind: v.literal('dir'), path: outputPath, mode }),
  v.object({ kind: v.literal('symlink'), path: outputPath, target: v.pipe(v.string(), v.minLength(1), v.maxLength(MAX_PATH)) }),
]);

const pathOnly = v.object({ path: storedPath });

const executionId = v.pipe(v.string(), v.regex(/^[0-9a-z-]{1,64}$/i));
const executionSchema = v.object({
  id: executionId,
  adoptedFrom: v.optional(executionId),
  definitionHash: sha256,
  startedAt: time,
  finishedAt: time,
  signal: v.nullable(v.pipe(v.string(), v.regex(/^[A-Z0-9]{1,16}$/))),
  fullyObserved: v.boolean(),
  inputs: v.array(pathOnly),
  executed: v.array(pathOnly),
  deleted: v.array(storedPath),
  untraced: v.array(v.object({ path: storedPath, reason: text })),
  annotations: v.array(text),
  outputLogHash: v.nullable(sha256),
});

const cacheEntrySchema = v.object({
  version: v.literal(1),
  step: v.pipe(v.string(), v.maxLength(1024)),
  definitionHash: sha256,
  pathSetId: sha256,
  outputs: v.array(cachedOutputSchema),
  execution: executionSchema,
});

export type Parsed<T> = { value: T; problem?: undefined } | { value?: undefined; problem: string };

/** JSON bytes checked against a schema; the problem names the first field at fault. */
function parseDocument<T>(bytes: Uint8Array, schema: v.GenericSchema<unknown, T>): Parsed<T> {
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'));
  } catch {
    return { problem: 'it is not valid JSON' };
  }
  const result = v.safeParse(schema, json);
  if (result.success) return { value: result.output };
  const issue = result.issues[0];
  const where = v.getDotPath(issue);
  return { problem: `it is not a prov-make cache document (${where ? `${where}: ` : ''}${issue.message})` };
}

export function parseCacheEntry(bytes: Uint8Array): Parsed<CacheEntry> {
  return parseDocument(bytes, cacheEntrySchema) as Parsed<CacheEntry>;
}

export function parseWeakIndex(bytes: Uint8Array): Parsed<WeakIndex> {
  return parseDocument(bytes, weakIndexSchema);
}
