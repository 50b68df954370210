/**
 * Starting a command under the interposer, waiting for it, and reducing its logs.
 */
import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readLogDir } from './logs.js';
import { reduceRecords, type DiskView } from './reduce.js';
import type { StepDependencies, TraceProblem, TraceResult } from './types.js';

/** Absolute path of the compiled interposer (built at install by scripts/build-native.mjs). */
export const interposerLibrary = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'native', 'build', 'libprovmake.so');

export interface TraceOptions {
  /** Working folder of the command. */
  cwd: string;
  /** Environment of the command (default: this process's). */
  env?: NodeJS.ProcessEnv;
  stdio?: StdioOptions;
  /** Folder for the logs (created, then removed after reading unless keepLogs). */
  logDir?: string;
  keepLogs?: boolean;
  /** Paths never to report, on top of /proc, /sys, /dev and the logs. */
  ignore?: (path: string) => boolean;
  /** Cap on each thread's log, in bytes (tests use it to simulate a full disk). */
  logMaxBytes?: number;
  /** Start the command in its own process group, so the whole tree can be signalled. */
  detached?: boolean;
  /** Disk view for the reduction (tests). */
  disk?: DiskView;
}

export interface RunningTrace {
  child: ChildProcess;
  result: Promise<TraceResult>;
}

/** The environment that makes a command traced. */
export function tracedEnv(base: NodeJS.ProcessEnv, logDir: string, logMaxBytes?: number): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...base };
  const others = (base.LD_PRELOAD ?? '').split(/[: ]/).filter((p) => p && p !== interposerLibrary);
  env.LD_PRELOAD = [interposerLibrary, ...others].join(':');
  env.PROVMAKE_LOG_DIR = logDir;
  if (logMaxBytes) env.PROVMAKE_LOG_MAX = String(logMaxBytes);
  else delete env.PROVMAKE_LOG_MAX;
  return env;
}

/** Creates a log folder with its zeroed status page (event counter, lost records, processes). */
export function prepareLogDir(logDir?: string): string {
  const dir = logDir ?? mkdtempSync(join(tmpdir(), 'prov-make-trace-'));
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'status'), Buffer.alloc(4096));
  return dir;
}

/** Starts `command` (a shell command line, or an argv) under the interposer. */
export function startTrace(command: string | readonly string[], options: TraceOptions): RunningTrace {
  if (!existsSync(interposerLibrary)) {
    throw new Error(`the interposer is not built (${interposerLibrary} is missing): run \`pnpm install\` at the repository root`);
  }
  const logDir = prepareLogDir(options.logDir);
  const env = tracedEnv(options.env ?? process.env, logDir, options.logMaxBytes);
  const [file, args] = typeof command === 'string' ? ['/bin/sh', ['-c', command]] : [command[0], command.slice(1)];
  const startedAt = Date.now();
  const child = spawn(file, args, { cwd: options.cwd, env, stdio: options.stdio ?? 'inherit', detached: options.detached });
  const result = new Promise<TraceResult>((resolvePromise, reject) => {
    let spawnError: Error | null = null;
    child.once('error', (err) => { spawnError = err; });
    child.once('close', (code, signal) => {
      const finishedAt = Date.now();
      try {
        if (spawnError && code === null && signal === null) throw spawnError;
        const { deps, problems } = collectTrace(logDir, options);
        const exitCode = spawnError ? 127 : code;
        resolvePromise({
          exitCode,
          signal,
          deps,
          problems,
          fullyObserved: problems.length === 0 && deps.untraced.length === 0,
          startedAt,
          finishedAt,
        });
      } catch (err) {
        reject(err);
      } finally {
        if (!options.keepLogs) rmSync(logDir, { recursive: true, force: true });
      }
    });
  });
  return { child, result };
}

/** Runs `command` under the interposer and returns what it did. */
export function traceCommand(command: string | readonly string[], options: TraceOptions): Promise<TraceResult> {
  return startTrace(command, options).result;
}

/** Reads and reduces a finished trace's logs, reporting anything that makes it incomplete. */
export function collectTrace(logDir: string, options: Pick<TraceOptions, 'ignore' | 'disk'> = {}): { deps: StepDependencies; problems: TraceProblem[] } {
  const problems: TraceProblem[] = [];
  const { records, status, logFiles } = readLogDir(logDir);
  if (!status) {
    problems.push({ kind: 'log-missing', message: `the trace's status page in ${logDir} is missing: the logs were removed while the command ran` });
  } else if (status.lost > 0) {
    problems.push({ kind: 'log-lost', message: `${status.lost} trace record(s) could not be written (log full or unwritable): the trace is incomplete` });
  }
  if (logFiles === 0) {
    problems.push({ kind: 'log-missing', message: 'the command left no trace log: it ran without the interposer, or its logs could not be created' });
  }
  const userIgnore = options.ignore;
  const ignore = (p: string) => p === interposerLibrary || p === logDir || p.startsWith(logDir + '/') || (userIgnore ? userIgnore(p) : false);
  return { deps: reduceRecords(records, { ignore, disk: options.disk }), problems };
}
