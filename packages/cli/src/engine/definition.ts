/** A step's identity (DESIGN 3.1): its command, working folder and declared env values. */
import { createHash } from 'node:crypto';
import { canonicalDefinition, definitionOf, type StepDefinition } from '../pipeline/definition.js';
import type { Step } from '../pipeline/pipeline.js';
import type { DepsLog } from './deps-log.js';

export function definitionHash(step: Step): string {
  return (step.definitionHash ??= createHash('sha256').update(canonicalDefinition(step)).digest('hex'));
}

/** What changed between the definition of the last execution and the one in the file. */
export function describeDefinitionChange(ctx: { log: DepsLog }, step: Step): string {
  const old = ctx.log.get(step.name)?.definition;
  if (!old) return 'its definition changed';
  return describeChange(old, definitionOf(step));
}

export function describeChange(old: StepDefinition, now: StepDefinition): string {
  if (old.run !== now.run) return 'its command changed';
  if (old.cwd !== now.cwd) return `its working folder changed (${old.cwd} -> ${now.cwd})`;
  const keys = new Set([...Object.keys(old.env), ...Object.keys(now.env)]);
  for (const k of [...keys].sort()) {
    if (old.env[k] !== now.env[k]) {
      if (old.env[k] === undefined) return `env ${k} was added (${k}=${now.env[k]})`;
      if (now.env[k] === undefined) return `env ${k} was removed`;
      return `env ${k} changed (${old.env[k]} -> ${now.env[k]})`;
    }
  }
  return 'its definition changed';
}
