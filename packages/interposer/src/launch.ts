/**
 * Starting a command under the interposer, waiting for it, and reducing its logs.
 */
import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { createHash } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statfsSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LogCollector } from './collector.js';
import { LOG_LAYOUT, newTraceLogHeader, readTraceLog, type TraceLog, type TraceStatus } from './logs.js';
import { formatIdentity, isRunning, parseIdentity, thisProcess } from './process-identity.js';
import { programEscape, supervisorTraces } from './program.js';
import { realPathOf } from './byte-path.js';
import { reduceEvents } from './reduce.js';
import { liveDisk, recordEvents, traceStats, type DiskView } from './trace-events.js';
import type { StepDependencies, TraceProblem, TraceResult, TraceStats, UntracedProgram } from './types.js';

/** Absolute path of the compiled interposer (built at install by scripts/build-native.mjs). */
export const interposerLibrary = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'native', 'build', 'libprovmake.so');

/** The no-op fast path's file checker (native/pm-check.c), built with the interposer. */
export const fileCheckProgram = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'native', 'build', 'pm-check');

/** The ptrace + seccomp supervisor for programs LD_PRELOAD cannot enter (native/supervisor.h). */
export const supervisorProgram = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'native', 'build', 'pm-supervise');

export interface TraceOptions {
  /** Working folder of the command. */
  cwd: string;
  /** Environment of the command (default: this process's). */
  env?: NodeJS.ProcessEnv;
  stdio?: StdioOptions;
  /** Folder for the trace log (created, then removed after reading unless keepLogs). */
  logDir?: string;
  keepLogs?: boolean;
  /** Paths never to report, on top of /proc, /sys, /dev and the logs. */
  ignore?: (path: string) => boolean;
  /** Cap on the step's trace log, in bytes (tests use it to simulate a full disk). */
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

/**
 * The library as LD_PRELOAD can name it: ld.so splits the variable at spaces and colons, so an
 * install path holding either is loaded from a copy under a plain name.
 */
let preloadable: string | undefined;
function preloadablePath(): string {
  if (preloadable) return preloadable;
  if (!/[ :]/.test(interposerLibrary)) return (preloadable = interposerLibrary);
  const bytes = readFileSync(interposerLibrary);
  const copy = join(tmpdir(), `prov-make-${createHash('sha256').update(bytes).digest('hex').slice(0, 16)}.so`);
  if (!existsSync(copy)) {
    const tmp = `${copy}.${process.pid}.tmp`;
    writeFileSync(tmp, bytes, { mode: 0o755 });
    renameSync(tmp, copy);
  }
  return (preloadable = copy);
}

/** The environment that makes a command traced. */
export function tracedEnv(base: NodeJS.ProcessEnv, logDir: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...base };
  const library = preloadablePath();
  const others = (base.LD_PRELOAD ?? '').split(/[: ]/).filter((p) => p && p !== interposerLibrary && p !== library);
  env.LD_PRELOAD = [library, ...others].join(':');
  env.PROV_MAKE_LOG_DIR = logDir;
  if (existsSync(supervisorProgram)) env.PROV_MAKE_SUPERVISOR = supervisorProgram;
  else delete env.PROV_MAKE_SUPERVISOR;
  // the first process installs what holds for the whole step (io_uring refused: native/syscall.c)
  env.PROV_MAKE_STEP_ROOT = '1';
  return env;
}

/** pm-supervise's environment: the program's LD_PRELOAD renamed, so that it does not enter pm-supervise. */
function supervisorEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const { LD_PRELOAD, ...rest } = env;
  return { ...rest, PROV_MAKE_PRELOAD: LD_PRELOAD };
}

/**
 * Where trace logs go: memory (tmpfs) when there is one: every traced process maps and grows the
 * log, which costs microseconds on tmpfs and up to a millisecond on ext4 under load.
 * PROV_MAKE_LOG_BASE overrides it.
 */
export function logBase(): string {
  const chosen = process.env.PROV_MAKE_LOG_BASE;
  if (chosen) return chosen;
  try {
    const st = statSync('/dev/shm');
    // Only with room to spare (Docker gives containers 64 MiB): a full log is a lost trace.
    const fs = statfsSync('/dev/shm');
    if (st.isDirectory() && (st.mode & 0o002) !== 0 && fs.bavail * fs.bsize >= 512 * 1024 * 1024) return '/dev/shm';
  } catch {
    /* no /dev/shm */
  }
  return tmpdir();
}

const LOG_PREFIX = 'prov-make-trace-';

/**
 * Creates a log folder with an empty trace log (capped at `capBytes` when given). One made here is
 * named by this process (removeAbandonedLogs), so that a kill -9 does not leave it for ever.
 */
export function prepareLogDir(logDir?: string, capBytes?: number): string {
  const dir = logDir ?? mkdtempSync(join(logBase(), `${LOG_PREFIX}${formatIdentity(thisProcess())}-`));
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, LOG_LAYOUT.file), newTraceLogHeader(capBytes));
  return dir;
}

/** Removes the log folders of processes that are gone (killed before they could remove them). */
export function removeAbandonedLogs(base = logBase()): void {
  let names: string[];
  try {
    names = readdirSync(base);
  } catch {
    return;
  }
  for (const name of names) {
    if (!name.startsWith(LOG_PREFIX)) continue;
    const owner = parseIdentity(name.slice(LOG_PREFIX.length).split('-')[0]);
    if (owner && !isRunning(owner)) rmSync(join(base, name), { recursive: true, force: true });
  }
}

/** Starts `command` (a shell command line, or an argv) under the interposer. */
export function startTrace(command: string | readonly string[], options: TraceOptions): RunningTrace {
  if (!existsSync(interposerLibrary)) {
    throw new Error(`the interposer is not built (${interposerLibrary} is missing): run \`pnpm install\` at the repository root`);
  }
  const logDir = prepareLogDir(options.logDir, options.logMaxBytes);
  const env = tracedEnv(options.env ?? process.env, logDir);
  const [file, args] = typeof command === 'string' ? ['/bin/sh', ['-c', command]] : [command[0], command.slice(1)];
  // The command's own program is started by this process: no exec wrapper looks at it, so a program
  // LD_PRELOAD cannot enter goes to the supervisor here, and one nobody can trace is marked untraced.
  const escapes = typeof command === 'string' ? null : programEscape(file, options.cwd, options.env ?? process.env);
  const supervised = escapes && supervisorTraces(escapes.reason) && env.PROV_MAKE_SUPERVISOR ? escapes.path : null;
  const escaped = supervised ? null : escapes;
  const [program, argv] = supervised ? [supervisorProgram, [supervised, file, ...args]] : [file, args];
  const startedAt = Date.now();
  const child = spawn(program, argv, { cwd: options.cwd, env: supervised ? supervisorEnv(env) : env, stdio: options.stdio ?? 'inherit', detached: options.detached });
  const collector = new LogCollector(logDir);
  // a trace reduced on a given disk view is read here (collectTrace)
  if (!options.disk) collector.watch();
  const result = new Promise<TraceResult>((resolvePromise, reject) => {
    let spawnError: Error | null = null;
    child.once('error', (err) => { spawnError = err; });
    child.once('close', (code, signal) => {
      const finishedAt = Date.now();
      const collected = spawnError && code === null && signal === null ? Promise.reject(spawnError) : collectTrace(logDir, options, collector);
      collected
        .then(({ deps, problems, stats }) => {
          if (escaped && !(options.ignore?.(escaped.path) ?? false)) addUntraced(deps, escaped);
          // A supervisor that died killed its programs (PTRACE_O_EXITKILL): the step failed, even when
          // a shell around them went on and exited 0.
          const killed = problems.some((p) => p.kind === 'supervisor-died');
          const exitCode = spawnError ? 127 : killed && code === 0 ? 1 : code;
          const fullyObserved = problems.length === 0 && deps.untraced.length === 0;
          resolvePromise({ exitCode, signal, deps, problems, fullyObserved, ...(stats ? { stats } : {}), startedAt, finishedAt });
        }, reject)
        .finally(() => {
          // off the critical path: the next step starts while the logs go (Node waits for it at exit)
          if (!options.keepLogs) rm(logDir, { recursive: true, force: true }).catch(() => undefined);
        });
    });
  });
  return { child, result };
}

/** Runs `command` under the interposer and returns what it did. */
export function traceCommand(command: string | readonly string[], options: TraceOptions): Promise<TraceResult> {
  return startTrace(command, options).result;
}

/**
 * Reads and reduces a finished trace's log, reporting anything that makes it incomplete, with what
 * lstat said of its paths after the step: a big log through pm-collect (collector.ts); a small one,
 * or one reduced on a given disk view (tests), here.
 */
export async function collectTrace(
  logDir: string,
  options: Pick<TraceOptions, 'ignore' | 'disk'> = {},
  collector = new LogCollector(logDir),
): Promise<{ deps: StepDependencies; problems: TraceProblem[]; stats?: TraceStats }> {
  const userIgnore = options.ignore;
  const ignore = (p: string) => p === interposerLibrary || p === preloadablePath() || p === supervisorProgram || p === logDir || p.startsWith(logDir + '/') || (userIgnore ? userIgnore(p) : false);
  const summary = options.disk ? null : await collector.finish();
  if (summary) return { deps: reduceEvents(summary, { ignore }), problems: traceProblems(summary.status), stats: traceStats(summary) };
  const { records, status, error } = readTraceLog(logDir);
  const events = recordEvents(records, options.disk ?? liveDisk);
  return { deps: reduceEvents(events, { ignore }), problems: traceProblems(status, error), stats: traceStats(events) };
}

/** What makes a trace incomplete, from its log's counters (null: no log) or why it could not be read. */
function traceProblems(status: TraceStatus | null, error?: TraceLog['error']): TraceProblem[] {
  const problems: TraceProblem[] = [];
  if (error?.kind === 'missing') {
    problems.push({ kind: 'log-missing', message: `the trace log is missing (${error.message}): it was removed while the command ran` });
  } else if (error) {
    problems.push({ kind: 'log-unreadable', message: `the trace log could not be read (${error.message}): the trace is incomplete` });
  } else if (status!.lost > 0) {
    problems.push({ kind: 'log-lost', message: `${status!.lost} trace record(s) could not be written (log full or unwritable, or made by a signal handler that interrupted the interposer): the trace is incomplete` });
  } else if (status!.processes === 0) {
    problems.push({ kind: 'log-missing', message: 'the command left no trace: it ran without the interposer, or could not open its log' });
  }
  if (status && status.malformed > 0) {
    problems.push({ kind: 'log-malformed', message: `${status.malformed} trace record(s) could not be read (cut short by a kill, or not records: the log was written over while the command ran): the trace is incomplete` });
  }
  if (status && status.supervisorsFinished < status.supervisors) {
    problems.push({ kind: 'supervisor-died', message: 'the ptrace supervisor of a static or Go program ended before the programs it traced (it was killed, and took them with it), or they outlived the command: the trace is incomplete' });
  }
  return problems;
}

/** Adds a program that escaped to the trace's untraced and executed lists (sorted, as reduced). */
function addUntraced(deps: StepDependencies, program: UntracedProgram): void {
  if (!deps.untraced.some((u) => u.path === program.path)) {
    deps.untraced = [...deps.untraced, program].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  }
  const names = new Set([...deps.executed, program.path]);
  try {
    names.add(realPathOf(program.path));
  } catch {
    // gone since
  }
  deps.executed = [...names].sort();
}
