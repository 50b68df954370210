/** Arguments shared by the commands that read a pipeline. */
import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { DEFAULT_PIPELINE_FILE, loadPipeline, type Pipeline } from '../pipeline/pipeline.js';

/** Splits positionals into the pipeline file (first one naming a .yml/.yaml or an existing file) and the rest. */
export function pipelineAndRest(positionals: string[], fileFlag?: string): { pipeline: Pipeline; rest: string[] } {
  let file = fileFlag;
  const rest = [...positionals];
  if (!file && rest.length && (/\.ya?ml$/.test(rest[0]) || isFile(rest[0]))) file = rest.shift();
  return { pipeline: loadPipeline(resolve(file ?? DEFAULT_PIPELINE_FILE)), rest };
}

function isFile(p: string): boolean {
  return existsSync(p) && statSync(p).isFile();
}
