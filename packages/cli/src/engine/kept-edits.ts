/**
 * No user edit is overwritten without its bytes being kept first (DESIGN 2). A step's pure outputs
 * are its own: one edited by hand is restored from the cache, or rewritten when the step runs. Just
 * before either, an edited one is kept in the content store and recorded in history, and
 * `prov-make log` names the command that brings it back. (An output that is an input too is never
 * replaced over an edit: the step runs on it.)
 */
import { newExecutionId, storedTarget, targetOf } from '@prov-make/cache';
import type { BuildState } from './build-state.js';

/** Keeps the hand-edited pure outputs of step i; returns their stored paths. */
export async function keepEditedOutputs(b: BuildState, i: number): Promise<string[]> {
  const state = b.state(i);
  const hashes = state && b.deps.getHashes(b.steps[i].name);
  if (!state || !hashes) return [];
  const inputs = new Set(state.inputs.ids);
  const kept: string[] = [];
  const { ids, tokens } = state.outputs;
  for (let k = 0; k < ids.length; k++) {
    if (inputs.has(ids[k]) || b.tokens.current(ids[k]) === tokens[k]) continue;
    const path = b.deps.pathOf(ids[k]);
    const abs = b.abs(path);
    const st = b.disk.lstat(abs);
    if (!st || st.isDirectory()) continue;
    const edit = { id: newExecutionId(), step: b.steps[i].name, path, size: Number(st.size), keptAt: Date.now() };
    if (st.isSymbolicLink()) {
      const target = b.disk.readlink(abs);
      if (target === targetOf(hashes.outputTargets?.[k])) continue;
      b.stores.history.keepEdit({ ...edit, hash: null, target: storedTarget(target) });
    } else {
      const digests = await b.disk.hash(abs, st);
      if (!digests || digests.xxh64 === hashes.outputs[k]) continue;
      await b.stores.blobs.keep([[abs, digests.sha256]]);
      b.stores.history.keepEdit({ ...edit, hash: digests.xxh64, sha256: digests.sha256 });
    }
    kept.push(path);
  }
  return kept;
}
