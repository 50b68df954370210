// A step's definition is its identity (DESIGN §3 check 1, and the weak key of the cache in §4).
import { createHash } from 'node:crypto';

export interface StepDefinition {
  /** The shell command, run through `/bin/sh -c`. */
  run: string;
  /** Working directory relative to the workspace, normalised, '/'-separated, '.' for the workspace itself. */
  cwd: string;
  /** Environment values declared in the pipeline file (global `env` merged with the step's). */
  env: Record<string, string>;
}

/**
 * The canonical encoding: key order fixed (run, cwd, env) and env keys sorted, so key order in the
 * YAML does not matter.
 */
export function canonicalDefinition(def: StepDefinition): string {
  // fromEntries defines own properties, so a variable named "__proto__" stays an ordinary key.
  const env = Object.fromEntries(Object.keys(def.env).sort().map((k) => [k, def.env[k]]));
  return JSON.stringify({ run: def.run, cwd: def.cwd, env });
}

/** SHA-256 of the canonical encoding: it doubles as a remote-cache key, where collisions must be infeasible. */
export function hashDefinition(def: StepDefinition): string {
  return createHash('sha256').update(canonicalDefinition(def)).digest('hex');
}
