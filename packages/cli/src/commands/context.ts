/**
 * Opening a workspace's recorded state for the commands that only read it (why, log, graph, show,
 * diff): the pipeline file is ./pipeline.yml, or the nearest one in a parent folder, or -f FILE.
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { HashState, ProvenanceStore, ContentStore } from '@prov-make/cache';
import { DEFAULT_PIPELINE_FILE } from '../pipeline/definition.js';
import type { Pipeline } from '../pipeline/pipeline.js';
import { loadPipelineCached } from './pipeline-args.js';
import { openWorkspace, STATE_DIR_NAME, type Workspace } from '../engine/workspace.js';
import { UsageError } from '../usage.js';
import type { LineageContext } from '../provenance/lineage.js';

export interface ReadContext extends LineageContext {
  ws: Workspace;
  content: ContentStore;
  pipeline: Pipeline | null;
  close(): Promise<void>;
}

export function findPipelineFile(start: string, explicit?: string): string {
  if (explicit) return resolve(explicit);
  for (let dir = resolve(start); ; dir = dirname(dir)) {
    const candidate = join(dir, DEFAULT_PIPELINE_FILE);
    if (existsSync(candidate)) return candidate;
    if (dirname(dir) === dir) break;
  }
  throw new UsageError(`no ${DEFAULT_PIPELINE_FILE} here or in any parent folder`, 'run this inside a workspace, or name the pipeline file with -f FILE');
}

export async function openReadContext(file?: string, cacheDir?: string): Promise<ReadContext> {
  const pipelineFile = findPipelineFile(process.cwd(), file);
  if (!existsSync(join(dirname(pipelineFile), STATE_DIR_NAME))) {
    throw new UsageError(`nothing recorded yet for ${pipelineFile}`, 'run `prov-make run` first');
  }
  const ws = openWorkspace(pipelineFile, { cacheDir });
  let pipeline: Pipeline | null = null;
  try {
    pipeline = await loadPipelineCached(pipelineFile);
  } catch {
    pipeline = null; // a broken pipeline file must not hide the history
  }
  const history = ProvenanceStore.open(ws.stateDir);
  const hashState = HashState.open(ws.stateDir);
  return {
    ws,
    history,
    hashState,
    pipeline,
    content: new ContentStore(ws.cacheDir),
    async close() {
      await hashState.close();
      await history.close();
    },
  };
}
