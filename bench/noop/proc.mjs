/** Process timing helpers for the no-op benchmark: wall time spawn -> exit, peak RSS, stats. */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';

/**
 * Runs a command; resolves { ms, code, stdout, stderr } where ms is the wall time from just
 * before spawn to the 'close' event (process exited and its pipes drained).
 * onStdoutLine, if given, is called with each complete stdout line as it arrives.
 */
export function timed(cmd, args, { cwd, env, onStdoutLine } = {}) {
  return new Promise((resolve, reject) => {
    const out = [];
    const err = [];
    let partial = '';
    const t0 = process.hrtime.bigint();
    const child = spawn(cmd, args, { cwd, env: env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.on('data', (b) => {
      out.push(b);
      if (onStdoutLine) {
        const lines = (partial + b.toString('utf8')).split('\n');
        partial = lines.pop();
        for (const l of lines) onStdoutLine(l);
      }
    });
    child.stderr.on('data', (b) => err.push(b));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      resolve({ ms, code: code ?? signal, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') });
    });
  });
}

export const HAVE_TIME = existsSync('/usr/bin/time');

/** Peak RSS in KiB of one run of cmd (via /usr/bin/time -f %M), or null if unavailable. */
export async function peakRssKiB(cmd, args, opts) {
  if (!HAVE_TIME) return { kib: null };
  const f = join(tmpdir(), `noop-bench-rss-${process.pid}-${Date.now()}`);
  const r = await timed('/usr/bin/time', ['-f', '%M', '-o', f, cmd, ...args], opts);
  let kib = null;
  try {
    kib = Number(readFileSync(f, 'utf8').trim().split('\n').pop());
  } finally {
    rmSync(f, { force: true });
  }
  return { ...r, kib };
}

export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export const min = (xs) => Math.min(...xs);

export function fmtMs(ms) {
  return ms >= 10_000 ? `${(ms / 1000).toFixed(1)} s` : ms >= 1000 ? `${(ms / 1000).toFixed(3)} s` : `${ms.toFixed(1)} ms`;
}
