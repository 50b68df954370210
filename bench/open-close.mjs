#!/usr/bin/env node
// open-close.mjs - cost of tracing open()+close(): bench/src/openloop.c opens and closes 100,000
// distinct existing files, traced (traceCommand) and untraced (plain spawn), interleaved; the loop
// is timed by the program itself (loop-bench.mjs). Target: traced/untraced <= 1.15 (loop).
//
//   node bench/open-close.mjs [--files N] [--rounds N] [--warmup N] [--json] [--no-preload] [--untraced-only]
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { BenchSetupError, progress, repoRoot, which } from './lib.mjs';
import { loopBenchmark, loopMain, printLoopResult } from './loop-bench.mjs';

export const TARGETS = { loop: { op: '<=', value: 1.15 } };

/** Builds bench/src/openloop.c into workDir; returns the binary's path. */
export function compileOpenloop(workDir) {
  const cc = process.env.CC || (which('gcc') ? 'gcc' : 'cc');
  const bin = join(workDir, 'openloop');
  const src = join(repoRoot, 'bench/src/openloop.c');
  const r = spawnSync(cc, ['-O2', '-Wall', '-o', bin, src], { encoding: 'utf8' });
  if (r.error || r.status !== 0) {
    throw new BenchSetupError(`cannot compile ${src} with ${cc}: ${r.error?.message ?? r.stderr.trim()}`);
  }
  return bin;
}

export function run(opts = {}) {
  const files = opts.files ?? 100_000;
  return loopBenchmark({
    name: 'open-close',
    description: `open()+close() of ${files} distinct existing files`,
    metric: `loop (${files} open+close, in-program clock)`,
    target: TARGETS.loop,
    prepare: (work, resultFile) => {
      const bin = compileOpenloop(work);
      const dataDir = join(work, 'files');
      mkdirSync(dataDir);
      progress(opts.quiet, `open-close: creating ${files} files in ${dataDir}\n`);
      const created = spawnSync(bin, ['create', dataDir, String(files)], { stdio: 'inherit' });
      if (created.status !== 0) throw new Error('openloop create failed');
      return { cmd: [bin, 'loop', dataDir, String(files), resultFile], readsIn: dataDir, expectedReads: files };
    },
  }, opts);
}

export const printResult = printLoopResult;

await loopMain(import.meta.url, 'open-close', run, 100_000);
