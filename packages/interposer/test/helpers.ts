/**
 * Test helpers: temp workspaces, C programs compiled for a test, and traces of real commands
 * under the real interposer, viewed relative to the workspace.
 */
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, expect } from 'vitest';
import { LOG_LAYOUT, startTrace, type TraceOptions, type TraceResult, type UntracedProgram } from '../src/index.js';
import { newTraceLogHeader } from '../src/logs.js';

const execFileP = promisify(execFile);

const made: string[] = [];
afterAll(() => {
  for (const d of made) rmSync(d, { recursive: true, force: true });
});

/** A fresh workspace, its path fully resolved (traces report resolved paths). */
export function workspace(files: Record<string, string> = {}): string {
  const dir = realpathSync(mkdtempSync(join(tmpdir(), 'pm-interposer-')));
  made.push(dir);
  for (const [p, content] of Object.entries(files)) write(dir, p, content);
  return dir;
}

export function write(dir: string, rel: string, content: string): string {
  const p = join(dir, rel);
  mkdirSync(dirname(p), { recursive: true });
  writeFileSync(p, content);
  return p;
}

/** Compiles C programs (name -> source) into `dir` with gcc, in parallel; returns name -> path. */
export async function compileC(
  dir: string,
  programs: Record<string, string>,
  flags: Record<string, string[]> = {},
): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  await Promise.all(
    Object.entries(programs).map(async ([name, source]) => {
      const src = join(dir, `${name}.c`);
      writeFileSync(src, source);
      const bin = join(dir, name);
      await execFileP('gcc', ['-O2', '-Wall', '-o', bin, src, ...(flags[name] ?? [])]);
      rmSync(src);
      out[name] = bin;
    }),
  );
  return out;
}

/** The lists of a trace, restricted to paths inside the workspace and made relative to it. */
export interface WorkspaceView {
  reads: string[];
  writes: string[];
  deleted: string[];
  absent: string[];
  listed: string[];
  executed: string[];
  untraced: UntracedProgram[];
}

export interface Traced {
  result: TraceResult;
  stdout: string;
  stderr: string;
  /** Lists inside the workspace, relative to it (`'.'` for the workspace itself). */
  ws: WorkspaceView;
}

export function inWorkspace(dir: string, paths: readonly string[]): string[] {
  return paths
    .filter((p) => p === dir || p.startsWith(dir + '/'))
    .map((p) => (p === dir ? '.' : p.slice(dir.length + 1)));
}

const LISTS = ['reads', 'writes', 'deleted', 'absent', 'listed', 'executed'] as const;

/** Traces `command` in `dir`, capturing stdout and stderr, and checks what holds for every trace. */
export async function trace(command: string | string[], dir: string, options: Partial<TraceOptions> = {}): Promise<Traced> {
  const logDir = options.logDir ?? join(mkdtempSync(join(tmpdir(), 'pm-interposer-logs-')), 'logs');
  made.push(dirname(logDir));
  const running = startTrace(command, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'], ...options, logDir });
  let stdout = '';
  let stderr = '';
  running.child.stdout?.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  running.child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const result = await running.result;
  checkInvariants(result, logDir);
  const d = result.deps;
  const ws = {
    reads: inWorkspace(dir, d.reads),
    writes: inWorkspace(dir, d.writes),
    deleted: inWorkspace(dir, d.deleted),
    absent: inWorkspace(dir, d.absent),
    listed: inWorkspace(dir, d.listed),
    executed: inWorkspace(dir, d.executed),
    untraced: d.untraced
      .filter((u) => u.path.startsWith(dir + '/'))
      .map((u) => ({ path: u.path.slice(dir.length + 1), reason: u.reason })),
  };
  return { result, stdout, stderr, ws };
}

/** What every trace must satisfy: sorted unique absolute paths, nothing from /proc, /sys, /dev or the logs. */
export function checkInvariants(result: TraceResult, logDir?: string): void {
  const bad = (p: string) =>
    !p.startsWith('/') || /^\/(proc|sys|dev)(\/|$)/.test(p) || (logDir !== undefined && (p === logDir || p.startsWith(logDir + '/')));
  for (const k of LISTS) {
    const list = result.deps[k];
    for (let i = 0; i < list.length; i++) {
      // loops, not spreads: a list can hold a million paths
      if (i > 0 && !(list[i - 1] < list[i])) expect.fail(`${k} is not sorted and unique at ${list[i - 1]}, ${list[i]}`);
      if (bad(list[i])) expect.fail(`${k} holds ${list[i]} (relative, kernel, device or log path)`);
    }
  }
  for (const u of result.deps.untraced) if (bad(u.path)) expect.fail(`untraced holds ${u.path}`);
  expect(result.fullyObserved).toBe(result.problems.length === 0 && result.deps.untraced.length === 0);
}

/** Runs `command` untraced in `dir` (same environment minus tracing), for comparison. */
export function runPlain(command: string[], dir: string): { status: number | null; signal: string | null; stdout: string; stderr: string } {
  const env = { ...process.env };
  delete env.LD_PRELOAD;
  delete env.PROV_MAKE_LOG_DIR;
  const r = spawnSync(command[0], command.slice(1), { cwd: dir, env, encoding: 'utf8' });
  return { status: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

/** The real file behind the C library and the dynamic loader, as traces report them. */
export const LIBC = realpathSync('/lib/x86_64-linux-gnu/libc.so.6');
export const LD_SO = realpathSync('/lib64/ld-linux-x86-64.so.2');

/** The python3 interpreter itself (python3 on PATH may be a wrapper script, e.g. a pyenv shim, that probes the workspace). */
export const PYTHON = execFileSync('python3', ['-c', 'import sys; print(sys.executable)'], { encoding: 'utf8' }).trim();

/** A window of a trace log: the writer's pid (null: no header, as a kill can leave it), its text, its size in pages. */
export type LogWindow = [number | null, string, number];

/** A window's bytes, as a writer leaves them. */
export function logWindow([pid, text, pages]: LogWindow): Buffer {
  const { window: W, page } = LOG_LAYOUT;
  const w = Buffer.alloc(pages * page);
  if (pid !== null) {
    w.writeUInt32LE(LOG_LAYOUT.windowMagic, W.magic);
    w.writeUInt32LE(pages * page, W.size);
    w.writeUInt32LE(pid, W.pid);
  }
  w.write(text, W.bytes);
  return w;
}

/** A trace log as the interposer leaves it, in a new log folder: the header, then the windows. */
export function writeTraceLog(windows: LogWindow[], header = newTraceLogHeader()): string {
  const bytes = Buffer.concat([header, ...windows.map(logWindow)]);
  bytes.writeBigUInt64LE(BigInt(bytes.length), LOG_LAYOUT.header.next);
  const dir = mkdtempSync(join(tmpdir(), 'pm-interposer-logs-'));
  made.push(dir);
  writeFileSync(join(dir, LOG_LAYOUT.file), bytes);
  return dir;
}
