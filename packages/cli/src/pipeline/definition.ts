/**
 * A step's identity (DESIGN 3.1), apart from the YAML parser: the no-op path needs definition
 * hashes, not the parser (loading the yaml package alone measured ~100 ms). Two parts: what the
 * pipeline file decides (command, folder, env values, shell), hashed once per parse and kept with
 * it, and the caller's variables the step sees (step-env.ts), looked at on every run.
 */
import * as path from 'node:path';
import { canonicalDefinition as canonical, combineDefinitionHash, hashFileDefinition, type StepDefinition } from '@prov-make/cache/definition';
import { inheritedEnv, keptEnv } from './step-env.js';
import type { Step } from './types.js';

export type { StepDefinition };

/**
 * The definition of a step: its command, its working folder normalised and relative ("./sub/dir/" and
 * "sub/dir" are the same definition, and it survives a clone at another path), its env sorted with
 * secrets hashed, its shell, and (when given) the variables it inherits.
 */
export function definitionOf(step: Step, inherited?: Readonly<Record<string, string>>): StepDefinition {
  const def: StepDefinition = { run: step.run, cwd: normaliseRelative(step.cwdRelative), env: keptEnv(step.env), shell: step.shell };
  if (inherited) def.inherited = keptEnv(inherited);
  return def;
}

/** The canonical encoding of the file's part of a step's definition. */
export function canonicalDefinition(step: Step): string {
  return canonical(definitionOf(step));
}

/** SHA-256 of the file's part of the definition, computed once per parsed step. */
export function fileDefinitionHash(step: Step): string {
  return (step.fileDefinitionHash ??= hashFileDefinition(definitionOf(step)));
}

/** A step as one run sees it: the environment it runs with, its definition and that definition's hash. */
export interface StepIdentity {
  /** Every variable the step sees (inherited, then its env: over them). */
  env: Record<string, string>;
  inherited: Record<string, string>;
  definition: StepDefinition;
  hash: string;
}

/**
 * Step identities under one caller environment. Steps with the same passEnv and env names inherit
 * the same variables: those are found and hashed once.
 */
export class StepIdentities {
  private readonly inheritedMemo = new Map<string, { inherited: Record<string, string>; kept: Record<string, string> }>();

  constructor(private readonly from: NodeJS.ProcessEnv) {}

  of(step: Step): StepIdentity {
    const key = `${step.passEnv.join('\0')}\u0001${Object.keys(step.env).join('\0')}`;
    let memo = this.inheritedMemo.get(key);
    if (!memo) {
      const inherited = inheritedEnv(step.passEnv, step.env, this.from);
      this.inheritedMemo.set(key, (memo = { inherited, kept: keptEnv(inherited) }));
    }
    const definition = { ...definitionOf(step), inherited: memo.kept };
    return { env: { ...memo.inherited, ...step.env }, inherited: memo.inherited, definition, hash: combineDefinitionHash(fileDefinitionHash(step), memo.kept) };
  }
}

export function normaliseRelative(rel: string): string {
  let n = path.posix.normalize(rel.split(path.sep).join('/'));
  while (n.length > 1 && n.endsWith('/')) n = n.slice(0, -1);
  return n === '' ? '.' : n;
}
