/**
 * The keys that say how a step runs, read from the YAML for the loader (pipeline-wide and per
 * step): `passEnv` (step-env.ts: the caller's variables the steps see) and `shell` (shell.ts).
 */
import { isScalar, isSeq, type Pair } from 'yaml';
import type { NodeReader } from './node-reader.js';
import { parseShell } from './shell.js';
import { PASS_ENV_PATTERN } from './step-env.js';

/** `passEnv`: names or globs (`*`, `?`) of the caller's variables the steps see. */
export function readPassEnv(r: NodeReader, pair: Pair<unknown, unknown>, owner: string): string[] {
  const value = r.deref(pair.value);
  if (r.isMissing(value)) return [];
  const example = 'e.g. passEnv: [CC, "AWS_*"]';
  const items = isSeq(value) ? value.items : isScalar(value) ? [value] : null;
  if (!items) r.fail('bad-pass-env', value, `passEnv in ${owner} is ${r.describe(value)}; it must be a list of variable names or globs`, `write the names to pass from your environment, ${example}`);
  return items.map((item) => {
    const entry = r.deref(item);
    const name = isScalar(entry) && !r.isMissing(entry) ? r.text(entry) : '';
    if (!PASS_ENV_PATTERN.test(name)) {
      r.fail('bad-pass-env', item ?? value, `invalid passEnv entry ${isScalar(entry) ? JSON.stringify(name) : r.describe(entry)} in ${owner}`,
        `each entry is a variable name or a glob of names (* and ?), without "=" or spaces, ${example}`);
    }
    return name;
  });
}

/** `shell`: sh, bash, or an absolute path with arguments; the words before the command. */
export function readShell(r: NodeReader, pair: Pair<unknown, unknown>, owner: string): string[] {
  const value = r.deref(pair.value);
  if (r.isMissing(value) || !isScalar(value) || typeof value.value !== 'string') {
    r.fail('bad-shell', r.isMissing(value) ? r.valuePosition(pair) : value, `shell in ${owner} is ${r.describe(value)}; it must be sh, bash or a path`,
      'write shell: sh (the default), shell: bash, or the absolute path of a shell with its arguments');
  }
  const parsed = parseShell(value.value);
  if ('problem' in parsed) r.fail('bad-shell', value, `${parsed.problem} (in ${owner})`, parsed.fix);
  return parsed.words;
}
