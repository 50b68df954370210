/**
 * `prov-make clean`: remove what steps produced, as their traces recorded it, and nothing else. A
 * recorded output is kept, and the reason said, when it is outside the workspace, when a step read
 * it as a source (a version no step made), when a step changed it in place (it was there before the
 * step's first execution that wrote it), or when it changed since the step wrote it (a hand edit).
 * Folders a step made go only when empty. The steps' states stay: the next run restores what the
 * cache holds instead of running.
 */
import { rmdirSync, unlinkSync } from 'node:fs';
import { fsPath } from '@prov-make/interposer/byte-path';
import { join } from 'node:path';
import { checkRestorePath, fromWorkspaceKey, tokenOf, type StepState, type WorkspaceStores } from '@prov-make/cache';

export interface CleanItem {
  /** Stored path (relative inside the workspace). */
  path: string;
  step: string;
  kind: 'file' | 'folder';
}

export interface KeptItem extends CleanItem {
  why: 'outside' | 'source' | 'updated' | 'edited' | 'not-empty';
  /** The step that read it as a source, for 'source'. */
  by?: string;
}

export interface CleanResult {
  removed: CleanItem[];
  kept: KeptItem[];
}

interface Output extends CleanItem {
  token: number;
  hash: string | null;
}

/** Removes (or, with `dryRun`, lists) the recorded outputs of `steps`; `allSteps` are searched for readers. */
export async function cleanOutputs(root: string, stores: WorkspaceStores, steps: readonly string[], allSteps: readonly string[], dryRun: boolean): Promise<CleanResult> {
  const outputs = recordedOutputs(stores, steps);
  const readVersions = readsOf(stores, allSteps);
  const written = writtenHashes(recordedOutputs(stores, allSteps));
  const removed: CleanItem[] = [];
  const kept: KeptItem[] = [];
  const keep = (o: Output, why: KeptItem['why'], by?: string) => kept.push({ path: o.path, step: o.step, kind: o.kind, why, ...(by ? { by } : {}) });
  for (const o of outputs.filter((x) => x.kind === 'file')) {
    const abs = insideWorkspace(root, o.path, stores);
    if (!abs) { keep(o, 'outside'); continue; }
    const st = stores.disk.lstat(abs);
    if (!st) continue; // gone already
    const reader = [...(readVersions.get(o.path) ?? [])].find(([, hash]) => hash === null || !written.get(o.path)?.has(hash));
    if (reader) { keep(o, 'source', reader[0]); continue; }
    if (firstWriterUpdated(stores, o.path)) { keep(o, 'updated'); continue; }
    if (tokenOf(st) !== o.token && (o.hash === null || (await stores.disk.hash(abs, st))?.xxh64 !== o.hash)) { keep(o, 'edited'); continue; }
    if (!dryRun) unlinkSync(fsPath(abs));
    removed.push({ path: o.path, step: o.step, kind: 'file' });
  }
  // deepest first, so a folder's emptied subfolders go before it
  for (const o of outputs.filter((x) => x.kind === 'folder').sort((a, b) => b.path.length - a.path.length)) {
    const abs = insideWorkspace(root, o.path, stores);
    if (!abs) { keep(o, 'outside'); continue; }
    const st = stores.disk.lstat(abs);
    if (!st?.isDirectory()) continue;
    const left = (stores.disk.readdir(abs) ?? []).filter((name) => !(dryRun && removed.some((r) => r.path === `${o.path}/${name}`)));
    if (left.length) { keep(o, 'not-empty'); continue; }
    if (!dryRun) rmdirSync(fsPath(abs));
    removed.push({ path: o.path, step: o.step, kind: 'folder' });
  }
  return { removed, kept };
}

function recordedOutputs(stores: WorkspaceStores, steps: readonly string[]): Output[] {
  const out: Output[] = [];
  for (const step of steps) {
    const st: StepState | undefined = stores.deps.get(step);
    if (!st) continue;
    const hashes = stores.deps.getHashes(step);
    const { ids, tokens } = st.outputs;
    for (let k = 0; k < ids.length; k++) {
      const folder = ((hashes?.outputModes[k] ?? 0) & 0o170000) === 0o040000;
      out.push({ path: stores.deps.pathOf(ids[k]), step, kind: folder ? 'folder' : 'file', token: tokens[k], hash: hashes?.outputs[k] ?? null });
    }
  }
  return out;
}

/** Stored path -> (step -> the hash of the version it read). */
function readsOf(stores: WorkspaceStores, steps: readonly string[]): Map<string, Map<string, string | null>> {
  const reads = new Map<string, Map<string, string | null>>();
  for (const step of steps) {
    const st = stores.deps.get(step);
    if (!st) continue;
    const hashes = stores.deps.getHashes(step);
    st.inputs.ids.forEach((id, k) => {
      const path = stores.deps.pathOf(id);
      if (!reads.has(path)) reads.set(path, new Map());
      reads.get(path)!.set(step, hashes?.inputs[k] ?? null);
    });
  }
  return reads;
}

/** Stored path -> the contents steps recorded writing there. */
function writtenHashes(outputs: Output[]): Map<string, Set<string>> {
  const m = new Map<string, Set<string>>();
  for (const o of outputs) if (o.hash) (m.get(o.path) ?? m.set(o.path, new Set()).get(o.path)!).add(o.hash);
  return m;
}

/** Was the path there before any step wrote it: did the first execution that wrote it change it in place? */
function firstWriterUpdated(stores: WorkspaceStores, path: string): boolean {
  const first = stores.history.writersOf(path)[0];
  return first?.updated?.includes(path) ?? false;
}

/**
 * The absolute path when the stored one lies inside the workspace: not absolute, no "..", and no
 * symlinked folder on the way (removing through one could reach outside). Else null.
 */
function insideWorkspace(root: string, stored: string, stores: WorkspaceStores): string | null {
  const abs = fromWorkspaceKey(root, stored);
  let rel: string;
  try {
    rel = checkRestorePath(root, abs);
  } catch {
    return null;
  }
  const parts = rel.split('/').slice(0, -1);
  for (let i = 1; i <= parts.length; i++) {
    if (stores.disk.lstat(join(root, ...parts.slice(0, i)))?.isSymbolicLink()) return null;
  }
  return abs;
}
