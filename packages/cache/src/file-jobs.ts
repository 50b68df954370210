/**
 * Batches of per-file work (file-ops.ts) as plain data, so a worker thread or the main thread runs
 * the same batch: each item's outcome is a value or an error that crosses a thread as plain data and
 * is thrown again as the typed error it was.
 */
import { CacheError, CorruptObjectError, errnoCode, MissingObjectError, UnsafePathError } from './errors.js';
import { checkedFolders, type FileOps, type ReadFile, type RestoreJob, type StoreLayout } from './file-ops.js';
import type { FileVersion } from './version.js';

export type FileJob =
  /** Read workspace files (version, digests), copying regular ones into the store when `keep`. */
  | { op: 'read'; paths: string[]; keep: boolean }
  /** `tempDir`: where copies are made before they are renamed into place (the workspace's `.prov-make/tmp`). */
  | { op: 'restore'; requests: RestoreJob[]; root: string; tempDir?: string }
  | { op: 'verify'; hashes: string[] };

export interface JobResults {
  read: ReadFile;
  restore: FileVersion;
  verify: boolean | null;
}

export type Outcome<T> = { value: T } | { error: PlainError };

interface PlainError {
  message: string;
  code?: string;
  hash?: string;
  actual?: string;
  path?: string;
  reason?: string;
}

/** What a batch of `job`'s items is sent as. */
export interface JobMessage {
  id: number;
  layout: StoreLayout;
  umask: number;
  job: FileJob;
}

export function jobLength(job: FileJob): number {
  switch (job.op) {
    case 'read': return job.paths.length;
    case 'restore': return job.requests.length;
    case 'verify': return job.hashes.length;
  }
}

/** Items [from, to) of a job, as a job of their own. */
export function jobSlice(job: FileJob, from: number, to: number): FileJob {
  switch (job.op) {
    case 'read': return { ...job, paths: job.paths.slice(from, to) };
    case 'restore': return { ...job, requests: job.requests.slice(from, to) };
    case 'verify': return { ...job, hashes: job.hashes.slice(from, to) };
  }
}

/** Runs every item of a batch; an item's failure is its outcome, not the batch's. */
export function runJob(ops: FileOps, job: FileJob): Outcome<unknown>[] {
  const each = <T>(items: T[], f: (item: T) => unknown): Outcome<unknown>[] => items.map((item) => {
    try {
      return { value: f(item) };
    } catch (err) {
      return { error: plain(err) };
    }
  });
  switch (job.op) {
    case 'read': return each(job.paths, (p) => ops.read(p, job.keep));
    case 'restore': {
      const folders = checkedFolders();
      return each(job.requests, (r) => ops.restore(r, job.root, folders, job.tempDir));
    }
    case 'verify': return each(job.hashes, (h) => ops.verify(h));
  }
}

function plain(err: unknown): PlainError {
  const e = err as Partial<PlainError> & { message?: string };
  return { message: String(e?.message ?? err), code: errnoCode(err), hash: e.hash, actual: e.actual, path: e.path, reason: e.reason };
}

/** The error an item's outcome carried, as the class it was thrown as. */
export function revive(e: PlainError): Error {
  switch (e.code) {
    case 'E_MISSING_OBJECT': return new MissingObjectError(e.hash!);
    case 'E_CORRUPT_OBJECT': return new CorruptObjectError(e.hash!, e.actual!);
    case 'E_UNSAFE_PATH': return new UnsafePathError(e.path!, e.reason!);
  }
  if (e.code?.startsWith('E_')) return new CacheError(e.code, e.message);
  return Object.assign(new Error(e.message), e.code ? { code: e.code } : {}, e.path ? { path: e.path } : {});
}
