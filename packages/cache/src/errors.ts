// Typed errors, so callers (the CLI) can tell a refused path or a corrupt object from an I/O failure
// with `instanceof` or `err.code` instead of parsing messages.

/** Base class: every error this package throws on purpose carries a stable `code`. */
export class CacheError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** A restore was refused because its destination could lead outside the workspace. */
export class UnsafePathError extends CacheError {
  constructor(
    readonly path: string,
    readonly reason: string,
  ) {
    super('E_UNSAFE_PATH', `refusing to write ${path}: ${reason}`);
  }
}

/** The content store has no object for this hash. */
export class MissingObjectError extends CacheError {
  constructor(readonly hash: string) {
    super('E_MISSING_OBJECT', `the content cache has no object ${hash}`);
  }
}

/** An object's bytes no longer hash to its name (disk corruption, a crash before data reached disk). */
export class CorruptObjectError extends CacheError {
  constructor(
    readonly hash: string,
    readonly actual: string,
  ) {
    super('E_CORRUPT_OBJECT', `cache object ${hash} is corrupt (its content hashes to ${actual}); it was removed`);
  }
}

/** The operation needs a regular file and got a directory, symlink, device, FIFO or socket. */
export class NotARegularFileError extends CacheError {
  constructor(
    readonly path: string,
    readonly kind: string,
  ) {
    super('E_NOT_A_FILE', `${path} is a ${kind}, not a regular file`);
  }
}

/** A string that should be a content hash is not one (also stops path tricks through hash strings). */
export class InvalidHashError extends CacheError {
  constructor(readonly hash: string) {
    super('E_INVALID_HASH', `not a content hash: ${JSON.stringify(hash)}`);
  }
}

/** The errno-style code of a Node system error, or undefined. */
export function errnoCode(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string'
    ? err.code
    : undefined;
}

/** An object is the content a cache entry names by SHA-256, but not by the short hash it names too (a forged entry). */
export class DigestMismatchError extends CacheError {
  constructor(
    readonly sha256: string,
    readonly xxh64: string,
  ) {
    super('E_DIGEST_MISMATCH', `cache object ${sha256.slice(0, 12)} is not the content the cache entry names (xxh64 ${xxh64})`);
  }
}
