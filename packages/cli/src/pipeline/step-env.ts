/**
 * The environment a step sees (DESIGN 3.1), as Turborepo's strict mode: not prov-make's own, but a
 * clean one made of a small allowlist, the names or globs of `passEnv:` (pipeline-wide and per step)
 * taken from the caller's environment, and the step's `env:` values over them. The value of every
 * variable a step can see is part of its identity, so `PATH=... prov-make run` reruns what it
 * changes, and a variable the step cannot see cannot make an output stale.
 *
 * Values of variables whose names say they are secret are kept as a SHA-256, never in clear, in
 * the state, the history and the cache entries (which leave the machine): a change still reruns.
 * Light on purpose: the no-op fast path checks the environment before anything heavy is loaded.
 */
import { createHash } from 'node:crypto';

/** What every step sees from the caller's environment, besides `passEnv`. */
export const ALLOWED_ENV: readonly string[] = ['PATH', 'HOME', 'USER', 'LANG', 'LC_*', 'TZ', 'TERM', 'TMPDIR'];

/** Names that say their value is a secret (GITHUB_TOKEN, AWS_SECRET_ACCESS_KEY, DB_PASSWORD, API_KEY...). */
const SECRET_NAME = /TOKEN|SECRET|PASSW(OR)?D|PASSPHRASE|CREDENTIAL|PRIVATE|(^|_)(API_?)?KEY$|(^|_)AUTH($|_)/i;

export function isSecretName(name: string): boolean {
  return SECRET_NAME.test(name);
}

/** How a secret's value is kept: a SHA-256 of the name and value (the name, so two secrets never share one). */
export function hiddenValue(name: string, value: string): string {
  return `sha256:${createHash('sha256').update(`${name}\0${value}`).digest('hex')}`;
}

/** A value as the definition keeps it. */
export function keptValue(name: string, value: string): string {
  return isSecretName(name) ? hiddenValue(name, value) : value;
}

/** A `passEnv` entry: a variable name, or a glob of names with `*` and `?`. */
export const PASS_ENV_PATTERN = /^[^=\0\s]+$/;

function globRegExp(pattern: string): RegExp {
  const source = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${source}$`);
}

/** A test for names matching any of `patterns` (names or globs). */
export function nameMatcher(patterns: readonly string[]): (name: string) => boolean {
  const exact = new Set(patterns.filter((p) => !/[*?]/.test(p)));
  const globs = patterns.filter((p) => /[*?]/.test(p)).map(globRegExp);
  return (name) => exact.has(name) || globs.some((g) => g.test(name));
}

/** The names every step of a pipeline may see from the caller, given all its `passEnv` entries. */
export function visiblePatterns(passEnv: readonly string[]): string[] {
  return [...new Set([...ALLOWED_ENV, ...passEnv])].sort();
}

/** The caller's variables a step sees (not overridden by its `env:`), sorted by name. */
export function inheritedEnv(passEnv: readonly string[], declared: Readonly<Record<string, string>>, from: NodeJS.ProcessEnv): Record<string, string> {
  const visible = nameMatcher(visiblePatterns(passEnv));
  const names = Object.keys(from).filter((n) => from[n] !== undefined && visible(n) && !Object.hasOwn(declared, n)).sort();
  return Object.fromEntries(names.map((n) => [n, from[n]!]));
}

/** inheritedEnv as the definition keeps it: secrets hashed. */
export function keptEnv(env: Readonly<Record<string, string>>): Record<string, string> {
  return Object.fromEntries(Object.keys(env).sort().map((n) => [n, keptValue(n, env[n])]));
}

/**
 * One key for the values of every variable that `patterns` lets through: the no-op snapshot keeps
 * it, and any difference (a value changed, a matching variable set or unset) falls back to the engine.
 */
export function environmentKey(patterns: readonly string[], from: NodeJS.ProcessEnv): string {
  const visible = nameMatcher(patterns);
  const hash = createHash('sha256');
  for (const n of Object.keys(from).filter((k) => from[k] !== undefined && visible(k)).sort()) hash.update(`${n}=${from[n]}\0`);
  return hash.digest('hex');
}
