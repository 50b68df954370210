/**
 * Blobs as the engine and the step cache move them between the workspace and the content store:
 * keep a workspace file's bytes, restore them to a workspace path. The real one is the content
 * store; engine unit tests keep blobs beside their in-memory disk.
 */
import type { ContentStore } from './content-store.js';
import type { HashState } from './hash-state.js';

export interface BlobStore {
  has(hash: string): boolean;
  /** Keeps the bytes of a workspace file whose xxh64 is `hash` (trusted, not re-read when already kept). */
  keep(absPath: string, hash: string): Promise<void>;
  /** Keeps bytes (a step's output); returns their xxh64. */
  keepBytes(bytes: Uint8Array): Promise<string>;
  /** Keeps bytes as they arrive (a download) when their SHA-256 is `sha256`: their xxh64, or null. */
  keepStream(chunks: AsyncIterable<Uint8Array>, sha256: string): Promise<string | null>;
  read(hash: string): Promise<Buffer>;
  /** A kept blob as a Blob that is read as it is sent (an upload). */
  blob(hash: string): Promise<Blob>;
  /**
   * Writes blob `hash` at `absPath` with `mode` (masked, atomically; refusing a path outside the
   * workspace or under a symlinked folder; verifying the bytes, and their SHA-256 when given).
   */
  restore(hash: string, absPath: string, mode: number, sha256?: string): Promise<void>;
}

/**
 * The content store as a BlobStore for the workspace at `root`; restored files are remembered in
 * `hashes`, and copied first into `tempDir` (the workspace's `.prov-make/tmp`), where no step looks.
 */
export function contentBlobs(content: ContentStore, root: string, hashes: HashState, tempDir?: string): BlobStore {
  return {
    has: (hash) => content.has(hash),
    keep: async (absPath, hash) => {
      await content.put(absPath, { hash });
    },
    keepBytes: (bytes) => content.putBytes(bytes),
    keepStream: (chunks, sha256) => content.putStream(chunks, sha256),
    read: (hash) => content.read(hash),
    blob: (hash) => content.blob(hash),
    restore: async (hash, absPath, mode, sha256) => {
      const version = await content.restore(hash, absPath, { workspaceRoot: root, mode, sha256, tempDir });
      await hashes.remember(absPath, version, hash, undefined, sha256);
    },
  };
}
