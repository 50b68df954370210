/**
 * `@prov-make/cache/light`: what the no-op fast path loads. No lmdb, no wasm, no more modules than
 * it needs: it answers a no-op in about the time Node takes to start, lmdb alone takes 35-75 ms to
 * load, and each module costs the fast path about half a millisecond. Step definitions and atomic
 * writes, needed off that path only, are `@prov-make/cache/definition` and `/atomic-write`.
 */
export * from './version-token.js';
export * from './disk.js';
export * from './workspace-key.js';
export type { FileStat, FileVersion, FileKind } from './version.js';
