// A step's definition is its identity (DESIGN §3 check 1, and the weak key of the cache in §4).
import { sha256Bytes } from './hash.js';

export interface StepDefinition {
  /** The shell command, run through `/bin/sh -c`. */
  run: string;
  /** Working directory, relative to the workspace (so the key survives a clone at another path). */
  cwd: string;
  /** Environment values declared in the pipeline file (global `env` merged with the step's). */
  env: Record<string, string>;
}

/**
 * SHA-256 of a canonical encoding (env sorted by name), so key order in the YAML does not matter and the
 * result can double as a remote-cache key, where collisions must be infeasible.
 */
export function hashDefinition(def: StepDefinition): string {
  const env = Object.keys(def.env)
    .sort()
    .map((k) => [k, def.env[k]]);
  return sha256Bytes(JSON.stringify(['prov-make/step/v1', def.run, def.cwd, env]));
}
