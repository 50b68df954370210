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
  /** Keeps bytes (a step's output, a download); returns their xxh64. */
  keepBytes(bytes: Uint8Array): Promise<string>;
  read(hash: string): Promise<Buffer>;
  /**
   * Writes blob `hash` at `absPath` with `mode` (atomically; refusing a path outside the workspace or
   * under a symlinked folder; verifying the bytes).
   */
  restore(hash: string, absPath: string, mode: number): Promise<void>;
}

/** The content store as a BlobStore for the workspace at `root`; restored files are remembered in `hashes`. */
export function contentBlobs(content: ContentStore, root: string, hashes: HashState): BlobStore {
  return {
    has: (hash) => content.has(hash),
    keep: async (absPath, hash) => {
      await content.put(absPath, { hash });
    },
    keepBytes: (bytes) => content.putBytes(bytes),
    read: (hash) => content.read(hash),
    restore: async (hash, absPath, mode) => {
      const version = await content.restore(hash, absPath, { workspaceRoot: root, mode });
      await hashes.remember(absPath, version, hash);
    },
  };
}
