/**
 * @prov-make/cache: file versions, content hashing, the hash memo, the content-addressed store and the
 * provenance store (DESIGN.md §3-5). All paths given to the stores are absolute unless noted.
 *
 * Versions (version.ts)
 *   interface FileVersion { dev; ino: string; mtimeNs: string; ctimeNs: string; size; mode; kind: FileKind }
 *   statVersion(path, { followSymlinks? }): Promise<FileVersion | null>     null = ENOENT/ENOTDIR
 *   statVersionSync(path, { followSymlinks? }): FileVersion | null
 *   versionFromStats(bigintStats): FileVersion
 *   sameVersion(a, b): boolean                       dev, ino, mtimeNs, size
 *   isRacilyClean(version, recordedAtNs, windowNs = RACY_WINDOW_NS) (window 2 s): boolean
 *   nowNs(): string;  describeVersion(v): "10.2 kB, modified 2026-11-22 23:14:05";  formatBytes(n)
 *
 * Hashing (hash.ts) — xxh64, 16 hex chars; sha256 for anything that leaves the machine
 *   hashFile(path): Promise<string>                  a symlink's content is its target (own seed)
 *   hashFileVersioned(path): Promise<{ hash, version, stable }>
 *   hashBytes(bytes | string): Promise<string>;  hashSymlinkTarget(target); hashListing(names);
 *   hashDirectoryListing(dir); hashSpecialFile(mode); isContentHash(s)
 *   sha256File(path): Promise<string>;  sha256Bytes(bytes | string): string
 *
 * Hash memo (hash-state.ts) — DVC's state trick, `<stateDir>/hash-state.lmdb`
 *   HashState.open(stateDir, { racyWindowNs?, readOnly? }): HashState
 *   state.hashOf(absPath, version? | bigint lstat?): Promise<string | null>   reads only when needed
 *   state.peek(absPath, version): string | null               trusted memo only, never reads
 *   state.remember(absPath, version, hash, recordedAtNs?): Promise<boolean>
 *   state.entry(absPath); state.forget(absPath); state.flush(); state.close()
 *
 * Content store (content-store.ts) — `<dir>/objects/<hh>/<hash>`, default `.prov-make/cache`
 *   new ContentStore(dir);  ContentStore.defaultDir(workspaceRoot)
 *   put(path, { hash? }): Promise<string>;  putBytes(bytes | string): Promise<string>
 *   has(hash): boolean;  objectPath(hash);  read(hash): Promise<Buffer>
 *   restore(hash, destAbsPath, { workspaceRoot, mode?, verify? }): Promise<FileVersion>
 *   stats(): { objects, bytes };  verify(): removed hashes;  gc(maxBytes, keep?): GcResult
 *
 * Workspace paths (workspace-path.ts)
 *   toWorkspaceKey(root, abs) / fromWorkspaceKey(root, key);  checkRestorePath(root, dest);
 *   prepareRestorePath(root, dest): Promise<string>
 *
 * Step definitions (definition.ts)
 *   interface StepDefinition { run; cwd; env };  hashDefinition(def): sha256 hex
 *
 * Provenance (provenance-store.ts) — `<stateDir>/provenance.lmdb`
 *   ProvenanceStore.open(stateDir, { readOnly? });  newExecutionId(nowMs?)
 *   put(record): void / putMany(records): void (one durable transaction each call);  get(id);  latestForStep(step);
 *   latestSuccessfulForStep(step);  executionsForStep(step);  allExecutions();  count();  steps();
 *   producerOf(path, hash?);  writersOf(path);  readersOf(path);  getMeta(key);  setMeta(key, value);
 *   close()
 *
 * Errors (errors.ts): CacheError { code } > UnsafePathError, MissingObjectError, CorruptObjectError,
 *   NotARegularFileError, InvalidHashError
 */
export * from './version.js';
export * from './hash.js';
export * from './hash-state.js';
export * from './content-store.js';
export * from './workspace-path.js';
export * from './definition.js';
export * from './provenance-store.js';
export * from './errors.js';
export * from './action-cache.js';
export * from './remote-cache.js';
