/**
 * Loading a pipeline file the way the commands and a long-lived process do: the parse is kept in
 * `.prov-make/` under the hash of the file's bytes (a 5,000-step, 14 MB pipeline.yml took 0.5 s to
 * parse on every no-op run; the JSON, a tenth), and the no-op fast path needs only that hash, or
 * not even that: a stamp of the file's stat, taken with its bytes, vouches for them (stampOf).
 */
import { createHash } from 'node:crypto';
import { accessSync, constants, readFileSync, statSync, type BigIntStats } from 'node:fs';
import { join } from 'node:path';
import { isWithinRacyWindow, RACY_WINDOW_NS } from '@prov-make/cache/version-token';
import { isStreamPath, readPipelineFile } from './pipeline-file.js';
import type { Pipeline } from './types.js';

/** A pipeline not parsed yet: the no-op fast path needs only the content key of its bytes. */
export interface PipelineSource {
  file: string;
  /** A readable regular file (else load() says what is wrong). */
  readable(): boolean;
  /** The file's stamp now (see stampOf), or undefined. */
  stamp(): string | undefined;
  /** SHA-256 of the file's path and bytes (read on first call); undefined when it cannot be read. */
  contentKey(): string | undefined;
  load(): Promise<Pipeline>;
}

function contentKeyOf(file: string, bytes: Buffer): string {
  return createHash('sha256').update(file).update('\0').update(bytes).digest('hex');
}

/**
 * What the bytes of a file depend on, as stat says: the same stamp means the same bytes, as long as
 * the stamp was taken with the bytes and not racily soon after a write (see readStamped).
 */
function stampOf(st: BigIntStats): string {
  return `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}:${st.mode}`;
}

/** The bytes and, when they cannot have changed unseen since, the stamp that names them (none for a pipe). */
function readStamped(file: string): { bytes: Buffer; stamp: string | undefined } {
  if (isStreamPath(file)) return { bytes: readPipelineFile(file), stamp: undefined };
  const before = statSync(file, { bigint: true });
  const bytes = readPipelineFile(file);
  const after = statSync(file, { bigint: true });
  const now = BigInt(Date.now()) * 1_000_000n;
  const settled = !isWithinRacyWindow(after.mtimeNs, now, RACY_WINDOW_NS) && !isWithinRacyWindow(after.ctimeNs, now, RACY_WINDOW_NS);
  return { bytes, stamp: settled && stampOf(before) === stampOf(after) ? stampOf(after) : undefined };
}

/** The pipeline file as a source: its stamp or content key when asked, the parse only if asked for. */
export function pipelineSource(file: string, stateDir: string): PipelineSource {
  let key: { value: string | undefined } | null = null;
  return {
    file,
    readable() {
      if (isStreamPath(file)) return true;
      try {
        accessSync(file, constants.R_OK);
        return statSync(file).isFile();
      } catch {
        return false;
      }
    },
    stamp() {
      if (isStreamPath(file)) return undefined;
      try {
        return stampOf(statSync(file, { bigint: true }));
      } catch {
        return undefined;
      }
    },
    contentKey() {
      if (key) return key.value;
      try {
        key = { value: contentKeyOf(file, readPipelineFile(file)) };
      } catch {
        key = { value: undefined }; // load() reports the problem
      }
      return key.value;
    },
    load: async () => (await import('./foreach.js')).expandForeach(await loadPipelineCached(file, stateDir)),
  };
}

/**
 * The shape of the parse kept in pipeline.json: raise it whenever `Pipeline` or `Step` gains or changes
 * a field, so a parse written by an older build is never read as a newer one (it once crashed a run
 * after an upgrade with a step missing `passEnv`).
 */
const PARSED_PIPELINE_FORMAT = 2;

/**
 * The parsed pipeline, from `<stateDir>/pipeline.json` when it holds the parse of these very bytes,
 * written by a build with the same parse format.
 * Step definition hashes are kept with it. Errors are never cached: a bad file is parsed again.
 */
async function loadPipelineCached(file: string, stateDir: string): Promise<Pipeline> {
  // The parser (and the yaml package) load only when the cache cannot answer.
  const parse = async () => (await import('./pipeline.js')).loadPipeline(file);
  let read: { bytes: Buffer; stamp: string | undefined };
  try {
    read = readStamped(file);
  } catch {
    return parse(); // it reports the missing file
  }
  const key = contentKeyOf(file, read.bytes);
  const cacheFile = join(stateDir, 'pipeline.json');
  try {
    const cached = JSON.parse(readFileSync(cacheFile, 'utf8')) as { format?: number; key: string; pipeline: Pipeline };
    if (cached.format === PARSED_PIPELINE_FORMAT && cached.key === key) return { ...cached.pipeline, contentKey: key, sourceStamp: read.stamp };
  } catch {
    /* no cache yet, or a stale or broken one */
  }
  const pipeline: Pipeline = { ...(await parse()), contentKey: key };
  const [{ fileDefinitionHash }, { writeFileAtomic }] = await Promise.all([import('./definition.js'), import('@prov-make/cache/atomic-write')]);
  for (const step of pipeline.steps) fileDefinitionHash(step);
  try {
    writeFileAtomic(cacheFile, JSON.stringify({ format: PARSED_PIPELINE_FORMAT, key, pipeline }));
  } catch {
    /* a read-only workspace: parse every time */
  }
  return { ...pipeline, sourceStamp: read.stamp };
}
