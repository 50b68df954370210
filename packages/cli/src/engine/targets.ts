/** Steps named on the command line, as indexes into the pipeline. */
import type { Pipeline } from '../pipeline/types.js';

/** A named step is not in the pipeline: a usage error (exit 2). Tell it by `code` without loading this module. */
export class UnknownStepError extends Error {
  readonly code = 'E_UNKNOWN_STEP';
}

export function stepIndexes(pipeline: Pick<Pipeline, 'file' | 'steps'>, targets: readonly string[] = []): number[] {
  const index = new Map(pipeline.steps.map((s, i) => [s.name, i]));
  const unknown = targets.filter((t) => !index.has(t));
  if (unknown.length) {
    throw new UnknownStepError(`no step named "${unknown[0]}" in ${pipeline.file} (steps: ${pipeline.steps.map((s) => s.name).join(', ')})`);
  }
  return targets.map((t) => index.get(t)!);
}
