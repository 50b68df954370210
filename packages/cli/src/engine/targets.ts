/** Steps named on the command line, as indexes into the pipeline: a foreach step's name stands for all its items. */
import { suggest } from '../pipeline/suggest.js';
import type { Pipeline } from '../pipeline/types.js';

/** A named step is not in the pipeline: a usage error (exit 2). Tell it by `code` without loading this module. */
export class UnknownStepError extends Error {
  readonly code = 'E_UNKNOWN_STEP';
}

export function stepIndexes(pipeline: Pick<Pipeline, 'file' | 'steps'>, targets: readonly string[] = []): number[] {
  const index = new Map<string, number[]>();
  const add = (name: string, i: number) => index.set(name, [...(index.get(name) ?? []), i]);
  pipeline.steps.forEach((s, i) => {
    add(s.name, i);
    if (s.item) add(s.item.step, i);
  });
  const unknown = targets.find((t) => !index.has(t));
  if (unknown !== undefined) {
    const names = [...index.keys()];
    const guess = suggest(unknown, names);
    const listed = names.length > 20 ? `${names.slice(0, 20).join(', ')}, …` : names.join(', ');
    throw new UnknownStepError(`no step named "${unknown}" in ${pipeline.file}${guess ? `. Did you mean "${guess}"?` : ` (steps: ${listed})`}`);
  }
  return [...new Set(targets.flatMap((t) => index.get(t)!))];
}
