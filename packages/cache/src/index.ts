/**
 * @prov-make/cache: file versions, hashing, the hash memo, the content store, the deps log, the
 * provenance store and the step cache (DESIGN.md §3-5), behind one facade that opens a workspace's
 * stores. lmdb is imported here and nowhere else. All paths given to the stores are absolute unless noted.
 *
 * Subpaths load one light module each, without lmdb or wasm (the no-op fast path and the pipeline
 * loader use them): /version-token, /listing-rules, /disk, /workspace-key, /definition, /atomic-write.
 *
 * Facade (workspace-stores.ts)
 *   WorkspaceStores.open({ root, stateDir, cacheDir }, { disk?, blobs?, remote?, warn? })
 *     .deps .hashes .history .content .disk .blobs .steps; commit(record); close()
 *   collectGarbage(locations, maxBytes)               keeps every step's last outputs
 *   pruneHistory(stores, localCache, { keep?, finishedBefore? }, dryRun?)  old executions and what only they used
 *
 * Observations (step-record.ts, distrust.ts)
 *   StepRecord (inputs, outputs, absent, listed: path, id, version, digests) -> stepStateOf / executionRecordOf
 *   Distrust: untraced-program | trace-incomplete | input-changed-while-running
 *
 * Versions (version.ts, version-token.ts)
 *   FileStat (what lstat says), FileVersion, statVersion(Sync), sameVersion, isRacilyClean, nowNs
 *   tokenOf(stat), tokenToRecord(stat, recordedAtNs), versionToken(version), listingToken(names, leftOut)
 *
 * Listing rules (listing-rules.ts): which entries a narrowed listing counts (Python's import system)
 * Disk (disk.ts): the workspace's files as the engine reaches them; nodeDisk(digestSource)
 *
 * Hashing (hash.ts) — xxh64 for the local checks, SHA-256 names stored content; one read for both
 *   hashFile, hashFileVersioned, digestFileVersioned, hashBytes, sha256Bytes, ...
 *
 * Hash memo (hash-state.ts): HashState.open(stateDir); hashOf(path, version?); digestsOf(path, version?)
 * Content store (content-store.ts): objects by SHA-256 under `<cacheDir>/cas`, verified when read; BlobStore
 *   (blob-store.ts); the per-file work on worker threads (file-pool.ts, file-ops.ts, file-jobs.ts)
 * Deps log (deps-log.ts): per step, ids with version tokens (TokenList) and the hashes that confirm them
 * Provenance (provenance-store.ts): every execution, indexed by step, writer, producer and reader
 * Step cache (step-cache.ts): BuildXL's two-level keys over the local action cache and the remote one;
 *   its documents checked against schemas (cache-entry.ts) and where an entry may write
 *   (cache-entry-paths.ts: cachedOutputsProblem, symlinkTargetProblem); restorableMode (restore-mode.ts)
 * Definitions (definition.ts): StepDefinition, canonicalDefinition, hashDefinition
 * Ids (execution-id.ts): newExecutionId, newRunId.  Atomic writes (atomic-write.ts): writeFileAtomic
 * Stored paths (workspace-key.ts): toWorkspaceKey, fromWorkspaceKey, isInsideFolder
 * Restore safety (workspace-path.ts): checkRestorePath, prepareRestorePath, prepareRestoreFolders
 * Errors (errors.ts): CacheError { code } > UnsafePathError, MissingObjectError, CorruptObjectError,
 *   NotARegularFileError, InvalidHashError
 */
export * from './version.js';
export * from './version-token.js';
export * from './listing-rules.js';
export * from './hash.js';
export * from './hash-state.js';
export * from './disk.js';
export * from './content-store.js';
export * from './blob-store.js';
export * from './workspace-key.js';
export * from './workspace-path.js';
export * from './definition.js';
export * from './execution-id.js';
export * from './atomic-write.js';
export * from './provenance-store.js';
export * from './deps-log.js';
export * from './distrust.js';
export * from './step-record.js';
export * from './cache-entry.js';
export * from './cache-entry-paths.js';
export * from './restore-mode.js';
export * from './step-cache.js';
export * from './workspace-stores.js';
export * from './history-prune.js';
export * from './errors.js';
export * from './action-cache.js';
export * from './remote-cache.js';
