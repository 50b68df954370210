// A step's definition is its identity (DESIGN §3 check 1, and the weak key of the cache in §4).
import { createHash } from 'node:crypto';

export interface StepDefinition {
  /** The shell command, run by `shell`. */
  run: string;
  /** Working directory relative to the workspace, normalised, '/'-separated, '.' for the workspace itself. */
  cwd: string;
  /** Environment values declared in the pipeline file (global `env` merged with the step's); secrets hashed. */
  env: Record<string, string>;
  /** The words before the command (`/bin/sh -e -c`). Absent in records made before it was kept: sh without -e. */
  shell?: string[];
  /**
   * The caller's variables the step saw (the allowlist and `passEnv`), secrets hashed. Absent in
   * records made before it was kept.
   */
  inherited?: Record<string, string>;
}

function sortedEnv(env: Readonly<Record<string, string>> | undefined): Record<string, string> {
  // fromEntries defines own properties, so a variable named "__proto__" stays an ordinary key.
  return Object.fromEntries(Object.keys(env ?? {}).sort().map((k) => [k, env![k]]));
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/**
 * The canonical encoding of what the pipeline file decides: key order fixed (run, cwd, env, shell)
 * and env keys sorted, so key order in the YAML does not matter.
 */
export function canonicalDefinition(def: StepDefinition): string {
  return JSON.stringify({ run: def.run, cwd: def.cwd, env: sortedEnv(def.env), shell: def.shell ?? null });
}

/** SHA-256 of canonicalDefinition: computed once per parsed step and kept with the parse. */
export function hashFileDefinition(def: StepDefinition): string {
  return sha256(canonicalDefinition(def));
}

/** The identity of a definition from the file's part (hashFileDefinition) and the inherited variables. */
export function combineDefinitionHash(fileHash: string, inherited: Readonly<Record<string, string>> | undefined): string {
  return sha256(`${fileHash}\0${JSON.stringify(sortedEnv(inherited))}`);
}

/** SHA-256 of the whole definition: it doubles as a remote-cache key, where collisions must be infeasible. */
export function hashDefinition(def: StepDefinition): string {
  return combineDefinitionHash(hashFileDefinition(def), def.inherited);
}
