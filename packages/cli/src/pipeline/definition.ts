/**
 * A step's identity (DESIGN 3.1), apart from the YAML parser: the no-op path needs definition
 * hashes, not the parser (loading the yaml package alone measured ~100 ms).
 */
import * as path from 'node:path';
import type { Step } from './pipeline.js';

/** What `prov-make run` reads when no pipeline file is named. */
export const DEFAULT_PIPELINE_FILE = 'pipeline.yml';

/** What makes a step's identity: a change to any of it makes the step stale (DESIGN.md 3, check 1). */
export interface StepDefinition {
  run: string;
  /** Relative to the workspace, normalised, '/'-separated, '.' for the workspace itself. */
  cwd: string;
  /** Merged env with keys sorted, so equal definitions serialise identically. */
  env: Record<string, string>;
}

/**
 * The canonical definition of a step. Key order is fixed (run, cwd, env) and env keys are sorted, so
 * `JSON.stringify(definitionOf(step))` is a stable input for a definition hash. The cwd is normalised
 * ("./sub/dir/" and "sub/dir" are the same definition) and relative, so the definition survives a clone
 * at another path.
 */
export function definitionOf(step: Step): StepDefinition {
  const keys = Object.keys(step.env).sort();
  // fromEntries defines own properties, so a variable named "__proto__" stays an ordinary key.
  const env = Object.fromEntries(keys.map((k) => [k, step.env[k]])) as Record<string, string>;
  return { run: step.run, cwd: normaliseRelative(step.cwdRelative), env };
}

/** `JSON.stringify(definitionOf(step))`: hash this to get a step's definition key. */
export function canonicalDefinition(step: Step): string {
  return JSON.stringify(definitionOf(step));
}

export function normaliseRelative(rel: string): string {
  let n = path.posix.normalize(rel.split(path.sep).join('/'));
  while (n.length > 1 && n.endsWith('/')) n = n.slice(0, -1);
  return n === '' ? '.' : n;
}
