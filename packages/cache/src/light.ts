/**
 * `@prov-make/cache/light`: what the no-op fast path may load. No lmdb, no wasm: the fast path
 * answers a no-op in about the time Node takes to start, and lmdb alone takes 35-75 ms to load.
 */
export * from './version-token.js';
export * from './definition.js';
export * from './disk.js';
export * from './atomic-write.js';
export { toWorkspaceKey, fromWorkspaceKey, isInsideFolder } from './workspace-key.js';
export type { FileStat, FileVersion, FileKind } from './version.js';
