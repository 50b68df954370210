/**
 * The recorded no-op benchmark workspace (bench/noop.mjs, bench/watch.mjs): generated once per
 * folder and size, recorded with one traced `prov-make run` (minutes at full size), then reused
 * while the marker file says it matches.
 */
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { generate } from './gen.mjs';
import { fmtMs, timed } from './proc.mjs';

const CLI = resolve(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '../../packages/cli/bin/prov-make.js');

/**
 * Generates (or reuses) <dir>/prov and <dir>/ninja for `params` ({ steps, files, deps }) and records
 * the prov-make one. Returns { provDir, ninjaDir, setup } (setup: the untimed phases' durations).
 */
export async function recordedWorkspace(dir, params, { setupJobs = 1, log, fail, label = 'bench/noop' }) {
  const provDir = join(dir, 'prov');
  const ninjaDir = join(dir, 'ninja');
  const markerFile = join(dir, 'bench-noop.json');
  let marker = null;
  try {
    marker = JSON.parse(readFileSync(markerFile, 'utf8'));
  } catch {}
  const same = marker && marker.steps === params.steps && marker.files === params.files && marker.deps === params.deps && existsSync(join(provDir, 'pipeline.yml'));
  const setup = {};
  if (same && marker.recorded && existsSync(join(provDir, '.prov-make'))) {
    log(`${label}: reusing the recorded workspace in ${dir}`);
    return { provDir, ninjaDir, setup };
  }
  if (same) {
    log(`${label}: reusing the generated workspace in ${dir}; resuming the recording`);
  } else {
    const t0 = Date.now();
    rmSync(markerFile, { force: true });
    const { edges } = generate(dir, params);
    setup.generateMs = Date.now() - t0;
    writeFileSync(markerFile, JSON.stringify({ ...params, recorded: false }) + '\n');
    log(`${label}: generated ${params.files} files (x2: prov/ and ninja/), ${params.steps} steps, ${edges} edges in ${fmtMs(setup.generateMs)}`);
  }
  log(`${label}: recording: prov-make run -j ${setupJobs} (executes ${params.steps} traced steps)…`);
  let done = 0;
  let last = Date.now();
  const start = Date.now();
  const every = Math.max(1, Math.round(params.steps / 20));
  const rec = await timed(process.execPath, [CLI, 'run', 'pipeline.yml', '-j', String(setupJobs)], {
    cwd: provDir,
    onStdoutLine: (l) => {
      if (!/^\[[^\]]+\] (done in|up to date|FAILED|blocked|restored)/.test(l)) return;
      done++;
      if (/FAILED|blocked/.test(l)) log(`  ${l}`);
      if (done % every === 0 || Date.now() - last > 15000 || done === params.steps) {
        last = Date.now();
        const s = (Date.now() - start) / 1000;
        log(`  ${done}/${params.steps} steps  ${s.toFixed(0)} s  (${(done / s).toFixed(1)} steps/s)`);
      }
    },
  });
  setup.recordMs = rec.ms;
  if (rec.code !== 0) fail(`recording run exited ${rec.code}\n${rec.stdout.slice(-2000)}\n${rec.stderr.slice(-2000)}`);
  log(`${label}: recording run: ${fmtMs(rec.ms)}; ${rec.stdout.trim().split('\n').pop()}`);
  writeFileSync(markerFile, JSON.stringify({ ...params, recorded: true }) + '\n');
  return { provDir, ninjaDir, setup };
}
