/** Test helpers: temp workspaces and the real `prov-make` CLI as a child process. */
import { execFileSync, spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { chmodSync, closeSync, cpSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, realpathSync, statSync, writeFileSync, writeSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll } from 'vitest';

export const CLI = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'bin', 'prov-make.js');

const made: string[] = [];
afterAll(() => {
  for (const d of made) rmSync(d, { recursive: true, force: true });
});

/** A fresh workspace folder with the given files (path -> content). */
export function workspace(files: Record<string, string> = {}): string {
  const dir = realpathSync(mkdtempSync(join(tmpdir(), 'pm-cli-')));
  made.push(dir);
  for (const [p, content] of Object.entries(files)) write(dir, p, content);
  return dir;
}

export const EXAMPLE = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'fixtures', 'example');
const GENERATED = /^[/\\]?(\.prov-make|build|out\.csv|report\.txt)([/\\]|$)/;

/** A fresh copy of fixtures/example, without anything a run left there. */
export function exampleWorkspace(): string {
  const dir = workspace();
  cpSync(EXAMPLE, dir, { recursive: true, filter: (src) => !GENERATED.test(src.slice(EXAMPLE.length)) });
  return dir;
}

export function write(dir: string, p: string, content: string): void {
  const abs = join(dir, p);
  mkdirSync(dirname(abs), { recursive: true });
  writeFileSync(abs, content);
}

export interface CliResult { code: number | null; stdout: string; stderr: string }

export function cli(dir: string, args: string[], env: NodeJS.ProcessEnv = {}): CliResult {
  const r: SpawnSyncReturns<string> = spawnSync(process.execPath, [CLI, ...args], {
    cwd: dir,
    encoding: 'utf8',
    env: { ...process.env, CI: 'true', ...env },
    timeout: 120_000,
    maxBuffer: 256 * 1024 * 1024,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

export interface StepJson { name: string; status: string; reason: string; durationMs: number }
export interface RunJson { ok: boolean; steps: StepJson[]; hazards?: { kind: string; steps: string[]; path: string; message: string; fix: string }[] }

/** `prov-make run --json` (or status): the parsed report, the exit code, and stderr. */
export function runJson(dir: string, args: string[] = [], command = 'run', env: NodeJS.ProcessEnv = {}): RunJson & { code: number | null; stderr: string } {
  const r = cli(dir, [command, ...args, '--json'], env);
  let parsed: RunJson;
  try {
    parsed = JSON.parse(r.stdout);
  } catch {
    throw new Error(`prov-make ${command} did not print JSON (exit ${r.code}).\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  }
  return { ...parsed, code: r.code, stderr: r.stderr };
}

/** name -> status of a report. */
export function statuses(r: RunJson): Record<string, string> {
  return Object.fromEntries(r.steps.map((s) => [s.name, s.status]));
}

export function reasonOf(r: RunJson, name: string): string {
  return r.steps.find((s) => s.name === name)?.reason ?? '';
}

export function startCli(dir: string, args: string[], env: NodeJS.ProcessEnv = {}) {
  const child = spawn(process.execPath, [CLI, ...args], { cwd: dir, env: { ...process.env, CI: 'true', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (b) => (stdout += b));
  child.stderr.on('data', (b) => (stderr += b));
  const done = new Promise<CliResult>((res) => child.on('close', (code) => res({ code, stdout, stderr })));
  return { child, done, output: () => stdout + stderr };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits until `f` is true (polling), or fails after `ms`. */
export async function until(f: () => boolean, ms = 20_000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms;
  while (!f()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

export function gccAvailable(): boolean {
  return spawnSync('gcc', ['--version']).status === 0;
}

/** A real pty (a tmux session) running `prov-make ARGS` in `dir` without CI set, then `echo EXIT=$?`. */
export function inTerminal(dir: string, args: string[], { width = 120, height = 30 } = {}) {
  const session = `pm-${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2, 6)}`;
  const tmux = (a: string[]) => execFileSync('tmux', a, { encoding: 'utf8' });
  const env = Object.entries(process.env).filter(([k]) => !['CI', 'GITHUB_ACTIONS', 'CONTINUOUS_INTEGRATION', 'BUILD_NUMBER', 'RUN_ID'].includes(k));
  const envArgs = env.map(([k, v]) => `${k}=${JSON.stringify(v ?? '')}`).join(' ');
  tmux(['new-session', '-d', '-s', session, '-x', String(width), '-y', String(height), `cd ${dir} && env -i ${envArgs} ${process.execPath} ${CLI} ${args.join(' ')}; echo EXIT=$?; sleep 60`]);
  return {
    /** What the terminal shows (wrapped lines joined). */
    screen: () => tmux(['capture-pane', '-p', '-J', '-t', session]),
    keys: (...keys: string[]) => void tmux(['send-keys', '-t', session, ...keys]),
    close: () => void spawnSync('tmux', ['kill-session', '-t', session]),
  };
}

/**
 * Bit rot behind prov-make's back: the cached object `sha256` (whose bytes are `content`) gets other
 * bytes of the same length, in its file (cas/) or, for a small one, in the store's database file.
 */
export function rotCachedObject(cacheDir: string, sha256: string, content: string | Buffer): void {
  const garbage = (n: number) => Buffer.alloc(n, 'x');
  const file = join(cacheDir, 'cas', sha256.slice(0, 2), sha256);
  if (existsSync(file)) {
    chmodSync(file, 0o644);
    writeFileSync(file, garbage(statSync(file).size));
    return;
  }
  const db = join(cacheDir, 'small-objects.lmdb');
  const bytes = readFileSync(db);
  const needle = Buffer.from(content);
  const fd = openSync(db, 'r+');
  let found = 0;
  // every copy: a page lmdb freed may still hold an older one
  for (let at = bytes.indexOf(needle); at >= 0; at = bytes.indexOf(needle, at + 1), found++) writeSync(fd, garbage(needle.length), 0, needle.length, at);
  closeSync(fd);
  if (found === 0) throw new Error(`the object's bytes are not in ${db}`);
}
