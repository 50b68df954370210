// Content hashing. The local checks use xxh64 (fast, 16 hex chars: has this file changed? who made
// this version?); stored content is named by SHA-256, locally and on a remote cache, where a crafted
// collision must be infeasible (DESIGN §4). One read of a file feeds both.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import xxhash from 'xxhash-wasm';
import { encodePath, fsPath, hasRawBytes, readdirPaths, readlinkPath } from '@prov-make/interposer/byte-path';
import { errnoCode, NotARegularFileError } from './errors.js';
import { sameVersion, versionFromStats, type FileVersion } from './version.js';

type XXHashAPI = Awaited<ReturnType<typeof xxhash>>;

/** 128 KiB reads: 1 MiB chunks measured slower on this machine (cache-unfriendly copies into wasm memory). */
export const HASH_CHUNK_BYTES = 128 * 1024;

/** A local content hash: 16 lowercase hex digits of xxh64. */
export const CONTENT_HASH_RE = /^[0-9a-f]{16}$/;
export const SHA256_RE = /^[0-9a-f]{64}$/;

// Different seeds per kind of "content", so a symlink whose target is "x", a directory listing and a
// file holding the bytes "x" hash differently. A prefix alone would not do: a file can hold any prefix.
const FILE_SEED = 0n;
const SYMLINK_SEED = 0x73796d6c696e6b00n; // "symlink\0"
const LISTING_SEED = 0x6c697374696e6700n; // "listing\0"
const SPECIAL_SEED = 0x7370656369616c00n; // "special\0"

// Instantiate the wasm module once per process; every caller shares the promise.
let api: Promise<XXHashAPI> | undefined;
function xx(): Promise<XXHashAPI> {
  return (api ??= xxhash());
}

/** A string holding names as xxh64's input: its bytes (a name's raw bytes are kept; xxh64 of a string would make each U+FFFD). */
async function h64Text(text: string, seed: bigint): Promise<string> {
  const h = await xx();
  return hex64(hasRawBytes(text) ? h.h64Raw(encodePath(text), seed) : h.h64(text, seed));
}

function hex64(n: bigint): string {
  return n.toString(16).padStart(16, '0');
}

export function isContentHash(value: unknown): value is string {
  return typeof value === 'string' && CONTENT_HASH_RE.test(value);
}

/** xxh64 of bytes, or of a string's UTF-8 bytes (same result as hashing the encoded buffer). */
export async function hashBytes(data: Uint8Array | string): Promise<string> {
  const h = await xx();
  return typeof data === 'string' ? hex64(h.h64(data, FILE_SEED)) : hex64(h.h64Raw(data, FILE_SEED));
}

// A symlink's "content" is its target text; a device's, FIFO's or socket's a stand-in of its type.
const symlinkText = (target: string) => `symlink\0${target}`;
const specialText = (mode: number) => `special\0${mode & 0o170000}`;

/** The hash a symlink with this target gets: its "content" is the target string. */
export async function hashSymlinkTarget(target: string): Promise<string> {
  return h64Text(symlinkText(target), SYMLINK_SEED);
}

/**
 * Hash of a directory's entry names (sorted by code unit, NUL-separated). A listing dependency only
 * cares which names exist; the entries' contents are dependencies of their own.
 */
export async function hashListing(names: readonly string[]): Promise<string> {
  const sorted = [...names].sort();
  return h64Text(`listing\0${sorted.join('\0')}`, LISTING_SEED);
}

/** hashListing of what is in `dir` now. */
export async function hashDirectoryListing(dir: string): Promise<string> {
  return hashListing(readdirPaths(dir));
}

/**
 * A stand-in hash for devices, FIFOs and sockets: reading them would block or never end, and their
 * "content" is not a build input anyway. Depends only on the file type bits.
 */
export async function hashSpecialFile(mode: number): Promise<string> {
  return hex64((await xx()).h64(specialText(mode), SPECIAL_SEED));
}

export interface HashedFile {
  hash: string;
  /** The version of the very file that was read (fstat on the open descriptor, or lstat for a symlink). */
  version: FileVersion;
  /** False when the file's tuple or ctime moved while it was being read: the hash may mix two versions. */
  stable: boolean;
}

/** Both digests of one content: xxh64 names it locally, SHA-256 wherever it leaves the machine. */
export interface Digests {
  xxh64: string;
  sha256: string;
}

/** Both digests over bytes that come in chunks (a copy's, a read's). */
export interface ContentDigest {
  update(chunk: Uint8Array): void;
  digests(): Digests;
}

/** The hashers ready for synchronous loops (a worker's): the wasm module is instantiated once, first. */
export interface Hasher {
  /** Both digests of bytes in memory. */
  digests(bytes: Uint8Array): Digests;
  begin(): ContentDigest;
  /** symlinkDigests and specialFileDigests, synchronously. */
  symlink(target: string): Digests;
  special(mode: number): Digests;
}

export async function loadHasher(): Promise<Hasher> {
  const h = await xx();
  return {
    digests: (bytes) => ({ xxh64: hex64(h.h64Raw(bytes, FILE_SEED)), sha256: sha256Bytes(bytes) }),
    symlink(target) {
      const bytes = encodePath(symlinkText(target)); // a target's raw bytes are hashed as they are
      return { xxh64: hex64(h.h64Raw(bytes, SYMLINK_SEED)), sha256: sha256Bytes(bytes) };
    },
    special: (mode) => ({ xxh64: hex64(h.h64(specialText(mode), SPECIAL_SEED)), sha256: sha256Bytes(specialText(mode)) }),
    begin() {
      const xxh = h.create64(FILE_SEED);
      const sha = createHash('sha256');
      return {
        update(chunk) {
          xxh.update(chunk); // copies into wasm memory: the caller may reuse its buffer
          sha.update(chunk);
        },
        digests: () => ({ xxh64: hex64(xxh.digest()), sha256: sha.digest('hex') }),
      };
    },
  };
}

export interface DigestedFile {
  digests: Digests;
  version: FileVersion;
  stable: boolean;
}

// O_NOFOLLOW: a symlink opens with ELOOP, so we learn it is one without an extra lstat on every file.
// O_NONBLOCK: opening a FIFO must not wait for a writer (it has no effect on regular files).
const OPEN_FLAGS = fs.constants.O_RDONLY | (fs.constants.O_NOFOLLOW ?? 0) | (fs.constants.O_NONBLOCK ?? 0);

interface ReadResult {
  xxh64: string;
  sha256: string | null;
  version: FileVersion;
  stable: boolean;
}

/** The digests of a symlink's "content", its target text (each with its own domain separation). */
export async function symlinkDigests(target: string): Promise<Digests> {
  return (await loadHasher()).symlink(target);
}

/** The stand-in digests of a device, FIFO or socket (see hashSpecialFile). */
export async function specialFileDigests(mode: number): Promise<Digests> {
  return (await loadHasher()).special(mode);
}

/** Digests of bytes fed in chunks (a file being read, a download being written). */
export interface Digester {
  update(chunk: Uint8Array): void;
  digest(): { xxh64: string; sha256: string | null };
}

export async function newDigester(withSha = true): Promise<Digester> {
  const xxh = (await xx()).create64(FILE_SEED);
  const sha = withSha ? createHash('sha256') : null;
  return {
    update(chunk) {
      xxh.update(chunk);
      sha?.update(chunk);
    },
    digest: () => ({ xxh64: hex64(xxh.digest()), sha256: sha ? sha.digest('hex') : null }),
  };
}

async function readSymlink(path: string, withSha: boolean): Promise<ReadResult> {
  const before = versionFromStats(await fs.promises.lstat(fsPath(path), { bigint: true }));
  if (before.kind !== 'symlink') throw new NotARegularFileError(path, before.kind);
  const target = readlinkPath(path);
  const after = versionFromStats(await fs.promises.lstat(fsPath(path), { bigint: true }));
  const stable = sameVersion(before, after);
  if (!withSha) return { xxh64: await hashSymlinkTarget(target), sha256: null, version: before, stable };
  const digests = await symlinkDigests(target);
  return { ...digests, version: before, stable };
}

// Files up to this size are read with synchronous calls into one shared buffer: six thread-pool round
// trips and a fresh 128 KiB buffer per file made hashing 20,000 small outputs take ~10 s (mostly waiting
// and garbage collection); synchronously it is one open, two fstats, one or two reads and a close.
// Larger files are read asynchronously so that a big one does not hold up the event loop.
const SYNC_READ_LIMIT = 4 * HASH_CHUNK_BYTES;
const syncBuffer = Buffer.allocUnsafe(HASH_CHUNK_BYTES);

/** Read `fd` to its end into `chunk`, synchronously (small files) or not (large ones). */
async function readAll(fd: number, size: bigint, chunk: (bytes: Uint8Array) => void): Promise<void> {
  if (size <= BigInt(SYNC_READ_LIMIT)) {
    // no await in this loop: nothing else can use syncBuffer meanwhile
    for (let n; (n = fs.readSync(fd, syncBuffer, 0, syncBuffer.length, null)) > 0; ) chunk(syncBuffer.subarray(0, n));
    return;
  }
  const buf = Buffer.allocUnsafe(HASH_CHUNK_BYTES);
  const read = () => new Promise<number>((resolve, reject) => fs.read(fd, buf, 0, buf.length, null, (err, n) => (err ? reject(err) : resolve(n))));
  for (let n; (n = await read()) > 0; ) chunk(buf.subarray(0, n));
}

/**
 * One read of a regular file (or a symlink's target) feeding xxh64 and, when asked, SHA-256, and the
 * version that was read. Throws NotARegularFileError for directories and special files, ENOENT when missing.
 */
async function readContent(path: string, withSha: boolean): Promise<ReadResult> {
  let fd: number;
  try {
    fd = fs.openSync(fsPath(path), OPEN_FLAGS);
  } catch (err) {
    if (errnoCode(err) === 'ELOOP' || errnoCode(err) === 'EMLINK') return readSymlink(path, withSha);
    throw err;
  }
  try {
    const st = fs.fstatSync(fd, { bigint: true });
    const version = versionFromStats(st);
    if (version.kind !== 'file') throw new NotARegularFileError(path, version.kind);
    const digester = await newDigester(withSha);
    await readAll(fd, st.size, (bytes) => digester.update(bytes)); // update copies, so the buffer can be reused
    const after = fs.fstatSync(fd, { bigint: true });
    const stable = sameVersion(version, versionFromStats(after)) && after.ctimeNs === st.ctimeNs;
    return { ...digester.digest(), version, stable };
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Stream-hash a regular file (or take a symlink's target as its content) and report which version was
 * read. Throws NotARegularFileError for directories and special files, ENOENT when missing.
 */
export async function hashFileVersioned(path: string): Promise<HashedFile> {
  const r = await readContent(path, false);
  return { hash: r.xxh64, version: r.version, stable: r.stable };
}

/** hashFileVersioned with the SHA-256 taken in the same read. */
export async function digestFileVersioned(path: string): Promise<DigestedFile> {
  const r = await readContent(path, true);
  return { digests: { xxh64: r.xxh64, sha256: r.sha256! }, version: r.version, stable: r.stable };
}

/** xxh64 of a file's content (a symlink's content is its target). 16 hex chars. */
export async function hashFile(path: string): Promise<string> {
  return (await hashFileVersioned(path)).hash;
}

/** SHA-256 hex of bytes or a string's UTF-8 bytes. */
export function sha256Bytes(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}
