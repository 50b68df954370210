// The local action cache: small JSON documents (cache entries and path-set indexes) under
// `<cacheDir>/ac/<key[0..2]>/<key>`, beside the content store's objects, so the whole cache is one
// plain folder that CI can save and restore. Keys are SHA-256 hex, as on the remote (Bazel layout).
import fs from 'node:fs';
import path from 'node:path';
import { SHA256_RE } from './hash.js';
import { InvalidHashError } from './errors.js';
import { writeFileAtomic } from './atomic-write.js';

/** Small documents by SHA-256 key: what the step cache needs of a local action cache. */
export interface ActionDocuments {
  get(key: string): Buffer | null;
  put(key: string, bytes: Uint8Array | string): void;
}

export class LocalActionCache implements ActionDocuments {
  constructor(readonly dir: string) {}

  private file(key: string): string {
    if (!SHA256_RE.test(key)) throw new InvalidHashError(key);
    return path.join(this.dir, 'ac', key.slice(0, 2), key);
  }

  get(key: string): Buffer | null {
    try {
      return fs.readFileSync(this.file(key));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
  }

  /** Atomic: a reader sees the old document or the new one, never a part. */
  put(key: string, bytes: Uint8Array | string): void {
    writeFileAtomic(this.file(key), bytes);
  }

  /** Number of documents and their total size. */
  stats(): { entries: number; bytes: number } {
    let entries = 0;
    let bytes = 0;
    for (const file of this.files()) {
      entries++;
      bytes += fs.statSync(file).size;
    }
    return { entries, bytes };
  }

  /** Every document's bytes (cache entries and path-set indexes alike). */
  *documents(): Generator<Buffer> {
    for (const file of this.files()) {
      try {
        yield fs.readFileSync(file);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
    }
  }

  private *files(): Generator<string> {
    const root = path.join(this.dir, 'ac');
    if (!fs.existsSync(root)) return;
    for (const sub of fs.readdirSync(root)) {
      for (const name of fs.readdirSync(path.join(root, sub))) if (!name.endsWith('.tmp')) yield path.join(root, sub, name);
    }
  }
}
