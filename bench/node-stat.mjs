#!/usr/bin/env node
// node-stat.mjs - cost of the syscall() wrapper where Node pays it: libuv stats through
// syscall(SYS_statx). A Node script runs 100,000 fs.statSync (20,000 existing files, five times
// each, as module resolution probes the same paths again), traced (traceCommand) and untraced
// (plain spawn), interleaved; the loop is timed by the script itself (loop-bench.mjs).
// Target: traced/untraced <= 1.15 (loop).
//
//   node bench/node-stat.mjs [--files N] [--rounds N] [--warmup N] [--json] [--no-preload] [--untraced-only]
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loopBenchmark, loopMain, printLoopResult } from './loop-bench.mjs';

export const TARGETS = { loop: { op: '<=', value: 1.15 } };
const PASSES = 5;

const SCRIPT = `const fs = require('fs');
const [dir, n, out] = process.argv.slice(1);
const start = process.hrtime.bigint(), cpu = process.cpuUsage();
for (let pass = 0; pass < ${PASSES}; pass++) for (let i = 0; i < Number(n); i++) fs.statSync(dir + '/' + i);
const used = process.cpuUsage(cpu);
fs.writeFileSync(out, 'loop_ns=' + (process.hrtime.bigint() - start) + ' loop_cpu_ns=' + (used.user + used.system) * 1000);`;

export function run(opts = {}) {
  const files = opts.files ?? 20_000;
  return loopBenchmark({
    name: 'node-stat',
    description: `node: ${files * PASSES} fs.statSync (${files} files, ${PASSES} passes)`,
    metric: `loop (${files * PASSES} fs.statSync, in-script clock)`,
    target: TARGETS.loop,
    prepare: (work, resultFile) => {
      const dataDir = join(work, 'files');
      mkdirSync(dataDir);
      for (let i = 0; i < files; i++) writeFileSync(join(dataDir, String(i)), '');
      return { cmd: [process.execPath, '-e', SCRIPT, dataDir, String(files), resultFile], readsIn: dataDir, expectedReads: files };
    },
  }, opts);
}

export const printResult = printLoopResult;

await loopMain(import.meta.url, 'node-stat', run, 20_000);
