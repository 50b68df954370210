/** Which workspace a command works on: from its arguments, or the nearest pipeline.yml. */
import { existsSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { DEFAULT_PIPELINE_FILE, STATE_DIR_NAME } from '../workspace/paths.js';
import { openWorkspace, type Workspace } from '../workspace/workspace.js';
import { UsageError } from '../usage.js';

/** Splits positionals into the pipeline file (first one naming a .yml/.yaml or an existing file) and the rest. */
export function pipelineFileAndRest(positionals: string[], fileFlag?: string): { file: string; rest: string[] } {
  let file = fileFlag;
  const rest = [...positionals];
  if (!file && rest.length && (/\.ya?ml$/.test(rest[0]) || isFile(rest[0]))) file = rest.shift();
  return { file: resolve(file ?? DEFAULT_PIPELINE_FILE), rest };
}

function isFile(p: string): boolean {
  return existsSync(p) && statSync(p).isFile();
}

/** -f FILE, or ./pipeline.yml, or the nearest one in a parent folder. */
export function findPipelineFile(start: string, explicit?: string): string {
  if (explicit) return resolve(explicit);
  for (let dir = resolve(start); ; dir = dirname(dir)) {
    const candidate = join(dir, DEFAULT_PIPELINE_FILE);
    if (existsSync(candidate)) return candidate;
    if (dirname(dir) === dir) break;
  }
  throw new UsageError(`no ${DEFAULT_PIPELINE_FILE} here or in any parent folder`, 'run this inside a workspace, or name the pipeline file with -f FILE');
}

/** For the commands that read history (log, show, diff, graph): a workspace that has recorded something. */
export function openRecorded(file?: string, cacheDir?: string): Workspace {
  const pipelineFile = findPipelineFile(process.cwd(), file);
  if (!existsSync(join(dirname(pipelineFile), STATE_DIR_NAME))) {
    throw new UsageError(`nothing recorded yet for ${pipelineFile}`, 'run `prov-make run` first');
  }
  return openWorkspace(pipelineFile, { cacheDir });
}
