/**
 * State written by an older build of prov-make: a parse of pipeline.yml cached in an older shape is
 * parsed again, never trusted (it once crashed every run with exit 70 until pipeline.yml changed).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runJson, statuses, workspace } from './cli-helpers.js';

describe('state from an older build', () => {
  it('a cached parse of pipeline.yml without the current format is parsed again', () => {
    const ws = workspace({ 'pipeline.yml': 'steps:\n  greet:\n    run: echo "$GREETING" > out.txt\n    env:\n      GREETING: hello\n' });
    expect(statuses(runJson(ws))).toEqual({ greet: 'ran' });
    const cacheFile = join(ws, '.prov-make', 'pipeline.json');
    const cached = JSON.parse(readFileSync(cacheFile, 'utf8')) as { format?: number; pipeline: { steps: Record<string, unknown>[] } };
    // as an older build wrote it: no format, steps without the fields added since
    delete cached.format;
    for (const step of cached.pipeline.steps) for (const field of ['passEnv', 'shell', 'env']) delete step[field];
    writeFileSync(cacheFile, JSON.stringify(cached));
    const r = runJson(ws);
    expect(r.code).toBe(0);
    expect(statuses(r)).toEqual({ greet: 'skipped' });
    expect(readFileSync(join(ws, 'out.txt'), 'utf8')).toBe('hello\n');
  });
});
