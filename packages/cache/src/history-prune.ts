/**
 * Trimming history (`prov-make log --prune`): forget old executions, and the content-store objects
 * that only they used (output logs, kept inputs, old outputs). Never forgotten: each step's current
 * execution (the one its state in the deps log comes from) and its newest succeeded one, which
 * `why` names as the producer of what is on disk. Never removed from the store: an object that a
 * remaining execution or a step's current state names, that a local cache entry restores (so a
 * revert is still restored from the cache; an execution taken from it may then have no output log),
 * or that holds a user's edit kept before a restore.
 */
import { parseCacheEntry } from './cache-entry.js';
import type { ExecutionRecord } from './provenance-store.js';
import type { WorkspaceStores } from './workspace-stores.js';
import type { LocalActionCache } from './action-cache.js';

export interface PruneRule {
  /** Keep each step's newest `keep` executions. */
  keep?: number;
  /** Forget executions that finished before this time (ms since the epoch). */
  finishedBefore?: number;
}

export interface PruneResult {
  /** Ids of the executions forgotten (or that would be, on a dry run). */
  removed: string[];
  /** Executions left. */
  kept: number;
  /** Content-store objects removed (or that would be). */
  objects: string[];
  freedBytes: number;
}

export async function pruneHistory(stores: WorkspaceStores, localCache: LocalActionCache, rule: PruneRule, dryRun = false): Promise<PruneResult> {
  const all = stores.history.allExecutions();
  const protect = protectedIds(stores);
  const rank = newestFirstRank(all);
  const removed = all.filter((e) => !protect.has(e.id) && isPruned(e, rule, rank.get(e)!));
  const removedIds = new Set(removed.map((e) => e.id));
  const stillUsed = new Set<string>();
  for (const e of all) if (!removedIds.has(e.id)) for (const h of objectsOf(e)) stillUsed.add(h);
  for (const name of stores.deps.stepNames()) {
    const hashes = stores.deps.getHashes(name);
    for (const h of hashes?.outputSha256 ?? []) if (h) stillUsed.add(h);
  }
  for (const h of cachedObjects(localCache)) stillUsed.add(h);
  for (const k of stores.history.keptEdits()) if (k.sha256) stillUsed.add(k.sha256); // a user's kept edit is theirs
  const objects = [...new Set(removed.flatMap(objectsOf))].filter((h) => !stillUsed.has(h) && stores.content.has(h)).sort();
  let freedBytes = 0;
  if (!dryRun) {
    stores.history.remove(removedIds);
    freedBytes = await stores.content.remove(objects);
  }
  return { removed: removed.map((e) => e.id), kept: all.length - removed.length, objects, freedBytes };
}

function protectedIds(stores: WorkspaceStores): Set<string> {
  const ids = new Set<string>();
  for (const name of stores.deps.stepNames()) {
    const id = stores.deps.get(name)?.executionId;
    if (id) ids.add(id);
  }
  for (const step of stores.history.steps()) {
    for (const e of [stores.history.latestForStep(step), stores.history.latestSuccessfulForStep(step)]) if (e) ids.add(e.id);
  }
  return ids;
}

/** Each execution's place among its step's executions, newest first (0: the newest). `all` is oldest first. */
function newestFirstRank(all: ExecutionRecord[]): Map<ExecutionRecord, number> {
  const seen = new Map<string, number>();
  const rank = new Map<ExecutionRecord, number>();
  for (let k = all.length - 1; k >= 0; k--) {
    const n = seen.get(all[k].step) ?? 0;
    rank.set(all[k], n);
    seen.set(all[k].step, n + 1);
  }
  return rank;
}

function isPruned(e: ExecutionRecord, rule: PruneRule, rank: number): boolean {
  if (rule.finishedBefore !== undefined && e.finishedAt < rule.finishedBefore) return true;
  return rule.keep !== undefined && rank >= rule.keep;
}

/** The content-store objects an execution names: its output log, kept inputs, outputs. */
function objectsOf(e: ExecutionRecord): string[] {
  const out: string[] = [];
  if (e.outputLogHash) out.push(e.outputLogHash);
  for (const f of [...e.inputs, ...e.outputs]) if (f.sha256) out.push(f.sha256);
  return out;
}

/** Objects the local action cache's entries restore (their outputs; not the logs of the executions they name). */
function* cachedObjects(local: LocalActionCache): Generator<string> {
  for (const doc of local.documents()) {
    // path-set indexes and documents of another shape name no object
    for (const o of parseCacheEntry(doc).value?.outputs ?? []) if (o.kind === 'file') yield o.sha256;
  }
}
