/**
 * Where a workspace keeps things: the pipeline file's folder (steps run there, stored paths are
 * relative to it) and prov-make's state in `.prov-make/` beside the pipeline file, so the state
 * survives a move or a fresh clone at another path.
 */
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fromWorkspaceKey, pathOfKey, toWorkspaceKey } from '@prov-make/cache/workspace-key';
import { displayPath } from '../format/terminal-text.js';
import { workspaceRootOf } from '../pipeline/pipeline-file.js';

/** What `prov-make run` reads when no pipeline file is named. */
export const DEFAULT_PIPELINE_FILE = 'pipeline.yml';

export const STATE_DIR_NAME = '.prov-make';

export interface WorkspacePaths {
  /** Absolute folder of the pipeline file: steps run here, stored paths are relative to it. */
  root: string;
  pipelineFile: string;
  /** `.prov-make/`: the stores, the lock, the no-op snapshot, the parse cache. */
  stateDir: string;
  /** Content-addressed store of outputs (movable with --cache-dir or PROV_MAKE_CACHE_DIR). */
  cacheDir: string;
  /** Per-run files of the local step runner: step notes, the process groups of running steps. */
  runDir: string;
  /** The Slurm runner's ids of the jobs it has in flight: what the next run cancels after a kill -9. */
  slurmJobsFile: string;
}

export interface PathOptions {
  cacheDir?: string;
  /** Elsewhere than `.prov-make/` beside the pipeline file (tests on an in-memory disk). */
  stateDir?: string;
}

/** The paths of the workspace of `pipelineFile` (nothing is made on disk: see makeStateDirs). */
export function workspacePaths(pipelineFile: string, options: PathOptions = {}): WorkspacePaths {
  const file = resolve(pipelineFile);
  const root = workspaceRootOf(file);
  const stateDir = resolve(options.stateDir ?? join(root, STATE_DIR_NAME));
  const cacheDir = resolve(options.cacheDir ?? process.env.PROV_MAKE_CACHE_DIR ?? join(stateDir, 'cache'));
  return { root, pipelineFile: file, stateDir, cacheDir, runDir: join(stateDir, 'run'), slurmJobsFile: join(stateDir, 'run', 'slurm-jobs') };
}

export function makeStateDirs(paths: WorkspacePaths): void {
  mkdirSync(paths.runDir, { recursive: true });
}

/** Path as stored: relative inside the workspace ("data/raw.csv"), absolute outside it. */
export function storedPath(ws: Pick<WorkspacePaths, 'root'>, abs: string): string {
  return toWorkspaceKey(ws.root, abs);
}

export function absolutePath(ws: Pick<WorkspacePaths, 'root'>, stored: string): string {
  return fromWorkspaceKey(ws.root, stored);
}

/**
 * A stored or absolute path as the terminal shows it: control characters and bytes that are not
 * UTF-8 escaped (`in\xff.txt`, `a\nb`), so a name can neither break a line of output nor send the
 * terminal an escape sequence.
 */
export function shownPath(key: string): string {
  return displayPath(pathOfKey(key));
}
