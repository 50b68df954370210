/** Which workspace a command works on: from its arguments, or the nearest pipeline.yml. */
import { existsSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { STDIN_PATH, workspaceRootOf } from '../pipeline/pipeline-file.js';
import { DEFAULT_PIPELINE_FILE, STATE_DIR_NAME } from '../workspace/paths.js';
import { openWorkspace, type Workspace } from '../workspace/workspace.js';
import { hasRawBytes } from '@prov-make/interposer/byte-path';
import { displayPath } from '../format/terminal-text.js';
import { UsageError } from '../usage.js';

/**
 * Splits positionals into the pipeline file (-f, or the first one naming a .yml/.yaml or an existing
 * file; else the nearest pipeline.yml, as findPipelineFile) and the rest. A file found in a parent
 * folder is said on stderr, so nobody runs another workspace by surprise.
 */
export function pipelineFileAndRest(positionals: string[], fileFlag?: string): { file: string; rest: string[] } {
  let file = fileFlag;
  const rest = [...positionals];
  if (!file && rest.length && (/\.ya?ml$/.test(rest[0]) || isFile(rest[0]))) file = rest.shift();
  const found = findPipelineFile(process.cwd(), file);
  if (file) return { file: found, rest };
  if (dirname(found) !== resolve(process.cwd())) process.stderr.write(`prov-make: using ${relative(process.cwd(), found)}\n`);
  return { file: found, rest };
}

/** A pipeline file as named on the command line: `-` is standard input. */
function pipelinePath(text: string): string {
  return text === '-' ? STDIN_PATH : resolve(text);
}

function isFile(p: string): boolean {
  return existsSync(p) && statSync(p).isFile();
}

/** -f FILE, or ./pipeline.yml, or the nearest one in a parent folder. */
export function findPipelineFile(start: string, explicit?: string): string {
  refuseNonUtf8Folder(explicit ?? start);
  if (explicit) return pipelinePath(explicit);
  for (let dir = resolve(start); ; dir = dirname(dir)) {
    const candidate = join(dir, DEFAULT_PIPELINE_FILE);
    if (existsSync(candidate)) return candidate;
    if (dirname(dir) === dir) break;
  }
  throw new UsageError(`no ${DEFAULT_PIPELINE_FILE} in ${resolve(start)} or any parent folder`, 'run this inside a workspace, name the pipeline file (prov-make run path/to/pipeline.yml), or write one: prov-make init');
}

/**
 * Steps run in the workspace folder, and Node hands a child its working folder as UTF-8 only (it
 * reads ours as UTF-8 too, each other byte as U+FFFD): a workspace path must be UTF-8. Names
 * inside it may be any bytes.
 */
function refuseNonUtf8Folder(path: string): void {
  if (!hasRawBytes(path) && !path.includes('\ufffd')) return;
  throw new UsageError(`the path ${displayPath(path)} is not UTF-8: prov-make needs a workspace whose path is UTF-8`, 'rename the folder (files inside it may have any names)');
}

/** For the commands that read history (log, show, diff, graph): a workspace that has recorded something. */
export function openRecorded(file?: string, cacheDir?: string): Workspace {
  const pipelineFile = findPipelineFile(process.cwd(), file);
  if (!existsSync(join(workspaceRootOf(pipelineFile), STATE_DIR_NAME))) {
    throw new UsageError(`nothing recorded yet for ${pipelineFile}`, 'run `prov-make run` first');
  }
  return openWorkspace(pipelineFile, { cacheDir });
}
