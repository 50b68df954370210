/**
 * A step's identity (DESIGN 3.1), apart from the YAML parser: the no-op path needs definition
 * hashes, not the parser (loading the yaml package alone measured ~100 ms).
 */
import * as path from 'node:path';
import { canonicalDefinition as canonical, hashDefinition, type StepDefinition } from '@prov-make/cache/definition';
import type { Step } from './types.js';

export type { StepDefinition };

/**
 * The definition of a step: its command, its working folder normalised and relative ("./sub/dir/" and
 * "sub/dir" are the same definition, and it survives a clone at another path), its env sorted.
 */
export function definitionOf(step: Step): StepDefinition {
  const keys = Object.keys(step.env).sort();
  // fromEntries defines own properties, so a variable named "__proto__" stays an ordinary key.
  const env = Object.fromEntries(keys.map((k) => [k, step.env[k]])) as Record<string, string>;
  return { run: step.run, cwd: normaliseRelative(step.cwdRelative), env };
}

/** The canonical encoding of a step's definition: hash this to get its definition key. */
export function canonicalDefinition(step: Step): string {
  return canonical(definitionOf(step));
}

/** SHA-256 of the step's definition, computed once per parsed step. */
export function definitionHash(step: Step): string {
  return (step.definitionHash ??= hashDefinition(definitionOf(step)));
}

export function normaliseRelative(rel: string): string {
  let n = path.posix.normalize(rel.split(path.sep).join('/'));
  while (n.length > 1 && n.endsWith('/')) n = n.slice(0, -1);
  return n === '' ? '.' : n;
}
