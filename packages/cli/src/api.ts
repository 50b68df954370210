/**
 * One-shot calls for a script or another tool: open the workspace, do one thing, close it. A
 * long-lived caller (watch mode) keeps an openWorkspace() handle instead.
 */
import type { RunReport } from './engine/report.js';
import type { Pipeline } from './pipeline/types.js';
import type { WhyAnswer } from './provenance/why.js';
import type { WatchOptions, WatchView } from './watch/watch-loop.js';
import { openWorkspace, type OpenOptions, type PlanOptions, type RunOptions, type Workspace } from './workspace/workspace.js';

async function once<T>(pipelineFile: string, options: OpenOptions, f: (ws: Workspace) => Promise<T>): Promise<T> {
  const ws = openWorkspace(pipelineFile, options);
  try {
    return await f(ws);
  } finally {
    await ws.close();
  }
}

/** `prov-make run`: brings the pipeline up to date. */
export function runPipeline(pipelineFile: string, options: RunOptions & OpenOptions = {}): Promise<RunReport> {
  return once(pipelineFile, options, (ws) => ws.runPipeline(options));
}

/** `prov-make status`: what a run would do, and why. */
export function planPipeline(pipelineFile: string, options: PlanOptions & OpenOptions = {}): Promise<RunReport> {
  return once(pipelineFile, options, (ws) => ws.planPipeline(options));
}

/** `prov-make why FILE`: which step made the file, from what, and whether it is stale. */
export function explainFile(pipelineFile: string, path: string, options: OpenOptions = {}): Promise<WhyAnswer> {
  return once(pipelineFile, options, (ws) => ws.explainFile(path));
}

/** `prov-make watch`: runs, then again on every change of what the traces depend on, until `options.signal` aborts. */
export async function watchPipeline(ws: Workspace, options: WatchOptions, view: WatchView): Promise<void> {
  return (await import('./watch/watch-loop.js')).watchPipeline(ws, options, view);
}

/** Reads and checks a pipeline file (PipelineError, with file:line:col, on the first problem); foreach steps come as their items. */
export async function loadPipeline(file: string): Promise<Pipeline> {
  const [{ loadPipeline: parse }, { expandForeach }] = await Promise.all([import('./pipeline/pipeline.js'), import('./pipeline/foreach.js')]);
  return expandForeach(parse(file));
}
