#!/usr/bin/env node
// byte-paths.mjs - issue 11 (2): what keeping names as bytes costs on the paths every trace takes,
// this build side by side with another (--baseline ROOT: a checkout whose packages are built),
// interleaved round by round on the same trace log of N opens of distinct files (UTF-8 names):
//   read     readTraceLog of the log (the decode: one isUtf8 check per chunk, then as before)
//   reduce   reduceRecords of those records (one lstat per path, through fsPath)
//   keys     toWorkspaceKey of every path (one more scan per path for a raw byte)
// Target: each within noise of the baseline (ratio <= 1.05).
//
//   node bench/byte-paths.mjs --baseline /work/main [--files N] [--rounds N]
import { readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { compileOpenloop } from './open-close.mjs';
import { interleavedRounds, makeTempDir, median, repoRoot } from './lib.mjs';
import { spawnSync } from 'node:child_process';

const { values } = parseArgs({ options: { baseline: { type: 'string' }, files: { type: 'string', default: '100000' }, rounds: { type: 'string', default: '7' } } });
if (!values.baseline) throw new Error('usage: node bench/byte-paths.mjs --baseline ROOT');
const files = Number(values.files);

const load = async (root) => ({
  tracer: await import(pathToFileURL(join(root, 'packages/interposer/dist/index.js')).href),
  keys: await import(pathToFileURL(join(root, 'packages/cache/dist/workspace-key.js')).href),
});
const builds = { this: await load(repoRoot), baseline: await load(values.baseline) };

const work = makeTempDir('pm-bench-bytes-');
const bin = compileOpenloop(work);
const ws = join(work, 'ws');
spawnSync('mkdir', ['-p', join(ws, 'files')]);
if (spawnSync(bin, ['create', join(ws, 'files'), String(files)], { stdio: 'inherit' }).status !== 0) throw new Error('openloop create failed');
const logDir = join(tmpdir(), `pm-bench-bytes-log-${process.pid}`);
await builds.this.tracer.traceCommand([bin, 'loop', 'files', String(files), 'result.txt'], { cwd: ws, stdio: 'ignore', logDir, keepLogs: true });
const logBytes = readFileSync(join(logDir, 'trace.log')).length;

const time = (f) => {
  const t = process.hrtime.bigint();
  const r = f();
  return [Number(process.hrtime.bigint() - t) / 1e6, r];
};
const variant = (b) => () => {
  const [read, log] = time(() => b.tracer.readTraceLog(logDir));
  const [reduce, deps] = time(() => b.tracer.reduceRecords(log.records));
  const [keys] = time(() => { for (const p of deps.reads) b.keys.toWorkspaceKey(ws, p); });
  if (deps.reads.length < files) throw new Error(`only ${deps.reads.length} reads`);
  return { read, reduce, keys };
};
const samples = await interleavedRounds({ this: variant(builds.this), baseline: variant(builds.baseline) }, { rounds: Number(values.rounds), warmup: 1 });
rmSync(logDir, { recursive: true, force: true });
rmSync(work, { recursive: true, force: true });

console.log(`byte-paths: ${files} distinct opens, log ${(logBytes / 2 ** 20).toFixed(1)} MiB, median of ${values.rounds} rounds, load ${loadavg()[0].toFixed(1)}`);
console.log('metric   this (ms)  baseline (ms)  this/baseline');
for (const m of ['read', 'reduce', 'keys']) {
  const a = median(samples.this[m]);
  const b = median(samples.baseline[m]);
  console.log(`${m.padEnd(8)} ${a.toFixed(1).padStart(9)}  ${b.toFixed(1).padStart(13)}  ${(a / b).toFixed(3).padStart(13)}`);
}
