/** Content hashing as the engine sees it: one call, memoised by (path, stat) in the hash state. */
import type { BigIntStats } from 'node:fs';

export interface FileHasher {
  /** Content hash of a file (or a symlink's target text); `st` is its lstat when known. */
  hashOf(absPath: string, st?: BigIntStats): Promise<string | null>;
}
