/**
 * Blobs as the engine and the step cache move them between the workspace and the content store, by
 * SHA-256: read workspace files (keeping their bytes), restore blobs to workspace paths. The real one
 * is the content store; engine unit tests keep blobs beside their in-memory disk. Calls take many
 * files at once, so the content store can spread them over its workers.
 */
import type { ContentStore } from './content-store.js';
import type { ReadFile, RestoreRequest } from './file-ops.js';
import type { HashState } from './hash-state.js';
import { nowNs, type FileVersion } from './version.js';

export type { ReadFile, RestoreRequest };

export interface BlobStore {
  has(sha256: string): boolean;
  /**
   * Reads workspace files once each: version, both digests, a symlink's target; when `keep`, regular
   * files' bytes are kept from the same read. In the order given.
   */
  readFiles(absPaths: string[], keep: boolean): Promise<ReadFile[]>;
  /** Keeps the bytes of workspace files whose SHA-256 is known ([path, sha256]): read only when not kept yet. */
  keep(files: [string, string][]): Promise<void>;
  /** Keeps bytes (a step's output); returns their SHA-256. */
  keepBytes(bytes: Uint8Array): Promise<string>;
  /** Keeps bytes as they arrive (a download) when their SHA-256 is `sha256`: it, or null (nothing kept). */
  keepStream(chunks: AsyncIterable<Uint8Array>, sha256: string): Promise<string | null>;
  /** A blob's bytes, checked against its name. */
  read(sha256: string): Promise<Buffer>;
  /** A kept blob as a Blob that is read as it is sent (an upload). */
  blob(sha256: string): Promise<Blob>;
  /**
   * Writes blobs at workspace paths with their modes (masked, atomically; refusing a path outside the
   * workspace or under a symlinked folder; checking the bytes); the versions written, in order.
   */
  restore(files: RestoreRequest[]): Promise<FileVersion[]>;
}

/**
 * The content store as a BlobStore for the workspace at `root`; digests read are remembered in
 * `hashes`; restored files are copied first into `tempDir` (the workspace's `.prov-make/tmp`), where
 * no step looks.
 */
export function contentBlobs(content: ContentStore, root: string, hashes: HashState, tempDir?: string): BlobStore {
  return {
    has: (hash) => content.has(hash),
    readFiles: async (absPaths, keep) => {
      const recordedAtNs = nowNs(); // before any of them is read
      const read = await content.readFiles(absPaths, keep);
      read.forEach((r, k) => hashes.rememberRead(absPaths[k], r, recordedAtNs));
      return read;
    },
    keep: (files) => content.keepKnown(files),
    keepBytes: (bytes) => content.putBytes(bytes),
    keepStream: (chunks, sha256) => content.putStream(chunks, sha256),
    read: (hash) => content.read(hash),
    blob: (hash) => content.blob(hash),
    // Restored files are racily clean: a memo entry for them could never be trusted, so none is written.
    restore: (files) => content.restoreFiles(files, root, tempDir),
  };
}
