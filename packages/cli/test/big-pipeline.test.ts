/**
 * A pipeline of 20,000 steps (issue 12, item 2, at a reduced dependency count): planning it must
 * stay linear in memory, so `status` fits in a heap far smaller than the quadratic graph of every
 * never-run step waiting for every earlier one would need (20,000^2 / 2 entries).
 */
import { describe, expect, it } from 'vitest';
import { runJson, workspace } from './cli-helpers.js';

const STEPS = 20_000;
const FILES = 100;
const DEPS = 3;

/** Step k cats DEPS of the FILES inputs (spread over them) into out/k.txt. */
function bigPipeline(): Record<string, string> {
  const files: Record<string, string> = {};
  for (let f = 0; f < FILES; f++) files[`in/f${f}.txt`] = `input ${f}\n`;
  const lines = ['steps:'];
  for (let k = 0; k < STEPS; k++) {
    const inputs = Array.from({ length: DEPS }, (_, d) => `in/f${(k * 7 + d * 31) % FILES}.txt`).join(' ');
    lines.push(`  s${k}:`, `    run: mkdir -p out && cat ${inputs} > out/${k}.txt`);
  }
  files['pipeline.yml'] = lines.join('\n') + '\n';
  return files;
}

describe('20,000 steps', () => {
  it('status of a never-run pipeline lists every step, in a 160 MB heap', () => {
    const ws = workspace(bigPipeline());
    const r = runJson(ws, [], 'status', { NODE_OPTIONS: '--max-old-space-size=160' });
    expect(r.code, r.stderr).toBe(0);
    expect(r.steps).toHaveLength(STEPS);
    expect(r.steps.every((s) => s.status === 'would-run' && s.reason === 'it has never run')).toBe(true);
    expect(r.steps[STEPS - 1].name).toBe(`s${STEPS - 1}`);
  });
});
