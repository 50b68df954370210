/**
 * The engine's view of @prov-make/cache: the hash state (stat -> hash memo), the content store
 * of outputs and captured logs, and the provenance store keeping every execution.
 */
import type { BigIntStats } from 'node:fs';
import { ContentStore, HashState, LocalActionCache, ProvenanceStore, RemoteCache, versionFromStats, type RemoteCacheOptions } from '@prov-make/cache';
import { SharedCache } from './shared-cache.js';
import type { FileHasher } from './hasher.js';
import type { Execution } from './execute.js';
import type { Workspace } from './workspace.js';

export interface Stores {
  hasher: FileHasher;
  hasBlob(hash: string): boolean;
  storeBlob(absPath: string, hash: string): Promise<void>;
  storeBytes(bytes: Buffer): Promise<string>;
  restoreBlob(hash: string, absPath: string, mode: number): Promise<void>;
  recordExecution(execution: Execution): void;
  shared: SharedCache;
  close(): Promise<void>;
}

export async function openStores(ws: Workspace, options: { remote?: RemoteCacheOptions; warn?: (m: string) => void } = {}): Promise<Stores> {
  const hashState = HashState.open(ws.stateDir);
  const content = new ContentStore(ws.cacheDir);
  const history = ProvenanceStore.open(ws.stateDir);
  const warn = options.warn ?? ((m: string) => process.stderr.write(`prov-make: warning: ${m}\n`));
  const remote = options.remote ? new RemoteCache({ ...options.remote, warn }) : null;
  const shared = new SharedCache(ws, new LocalActionCache(ws.cacheDir), content, remote, warn);
  return {
    hasher: { hashOf: (abs: string, st?: BigIntStats) => hashState.hashOf(abs, st ? versionFromStats(st) : undefined) },
    hasBlob: (h) => content.has(h),
    storeBlob: async (p, h) => { await content.put(p, { hash: h }); },
    storeBytes: (b) => content.putBytes(b),
    restoreBlob: async (h, p, mode) => {
      const version = await content.restore(h, p, { workspaceRoot: ws.root, mode });
      await hashState.remember(p, version, h);
    },
    recordExecution: (e) => history.put(e),
    shared,
    close: async () => {
      await hashState.close();
      await history.close();
    },
  };
}
