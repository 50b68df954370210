/**
 * Loading a pipeline file the way the commands and a long-lived process do: the parse is kept in
 * `.prov-make/` under the hash of the file's bytes (a 5,000-step, 14 MB pipeline.yml took 0.5 s to
 * parse on every no-op run; the JSON, a tenth), and the no-op fast path needs only that hash.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '@prov-make/cache/light';
import { definitionHash } from './definition.js';
import type { Pipeline } from './types.js';

/** A pipeline not parsed yet: the no-op fast path needs only the content key of its bytes. */
export interface PipelineSource {
  file: string;
  /** SHA-256 of the file's path and bytes; undefined when it cannot be read (load() says why). */
  contentKey: string | undefined;
  load(): Promise<Pipeline>;
}

function contentKeyOf(file: string, bytes: Buffer): string {
  return createHash('sha256').update(file).update('\0').update(bytes).digest('hex');
}

/** The pipeline file as a source: its content key now, the parse only if asked for. */
export function pipelineSource(file: string, stateDir: string): PipelineSource {
  let contentKey: string | undefined;
  try {
    contentKey = contentKeyOf(file, readFileSync(file));
  } catch {
    contentKey = undefined; // load() reports the problem
  }
  return { file, contentKey, load: () => loadPipelineCached(file, stateDir) };
}

/**
 * The parsed pipeline, from `<stateDir>/pipeline.json` when it holds the parse of these very bytes.
 * Step definition hashes are kept with it. Errors are never cached: a bad file is parsed again.
 */
export async function loadPipelineCached(file: string, stateDir: string): Promise<Pipeline> {
  // The parser (and the yaml package) load only when the cache cannot answer.
  const parse = async () => (await import('./pipeline.js')).loadPipeline(file);
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch {
    return parse(); // it reports the missing file
  }
  const key = contentKeyOf(file, bytes);
  const cacheFile = join(stateDir, 'pipeline.json');
  try {
    const cached = JSON.parse(readFileSync(cacheFile, 'utf8')) as { key: string; pipeline: Pipeline };
    if (cached.key === key) return { ...cached.pipeline, contentKey: key };
  } catch {
    /* no cache yet, or a stale or broken one */
  }
  const pipeline: Pipeline = { ...(await parse()), contentKey: key };
  for (const step of pipeline.steps) definitionHash(step);
  try {
    writeFileAtomic(cacheFile, JSON.stringify({ key, pipeline }));
  } catch {
    /* a read-only workspace: parse every time */
  }
  return pipeline;
}
