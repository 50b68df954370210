/**
 * The workspace: the pipeline file's folder, where steps run, with prov-make's state in
 * `.prov-make/` beside the pipeline file. Paths inside it are stored relative to it, so the
 * state survives a move or a fresh clone at another path.
 */
import { closeSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';

export const STATE_DIR_NAME = '.prov-make';

export interface Workspace {
  /** Absolute folder of the pipeline file: steps run here, stored paths are relative to it. */
  root: string;
  pipelineFile: string;
  stateDir: string;
  /** Content-addressed store of outputs (movable with --cache-dir or PROV_MAKE_CACHE_DIR). */
  cacheDir: string;
  /** Captured output and trace logs of running steps. */
  runDir: string;
}

export function openWorkspace(pipelineFile: string, options: { cacheDir?: string } = {}): Workspace {
  const file = resolve(pipelineFile);
  const root = dirname(file);
  const stateDir = join(root, STATE_DIR_NAME);
  mkdirSync(stateDir, { recursive: true });
  const cacheDir = resolve(options.cacheDir ?? process.env.PROV_MAKE_CACHE_DIR ?? join(stateDir, 'cache'));
  const runDir = join(stateDir, 'run');
  mkdirSync(runDir, { recursive: true });
  return { root, pipelineFile: file, stateDir, cacheDir, runDir };
}

export function isInside(root: string, abs: string): boolean {
  return abs === root || abs.startsWith(root.endsWith(sep) ? root : root + sep);
}

/** Path as stored: relative inside the workspace ("data/raw.csv"), absolute outside it. */
export function storedPath(ws: Pick<Workspace, 'root'>, abs: string): string {
  return isInside(ws.root, abs) ? relative(ws.root, abs) || '.' : abs;
}

export function absolutePath(ws: Pick<Workspace, 'root'>, stored: string): string {
  return isAbsolute(stored) ? stored : join(ws.root, stored);
}

/**
 * One `prov-make run` at a time per workspace. The lock file holds the owner's pid; a lock
 * left by a killed run (its pid is gone) is taken over.
 */
export class WorkspaceLock {
  private constructor(private readonly file: string) {}

  static async acquire(ws: Workspace, options: { wait: boolean; onWait?: (pid: number) => void; pollMs?: number }): Promise<WorkspaceLock> {
    const file = join(ws.stateDir, 'lock');
    let told = false;
    for (;;) {
      try {
        const fd = openSync(file, 'wx');
        writeSync(fd, String(process.pid));
        closeSync(fd);
        return new WorkspaceLock(file);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      const owner = readOwner(file);
      if (owner === null || !isAlive(owner)) {
        // Stale: take it over atomically so two waiting runs cannot both win.
        const mine = `${file}.${process.pid}`;
        writeFileSync(mine, String(process.pid));
        try {
          if (readOwner(file) === owner) renameSync(mine, file);
        } finally {
          rmSync(mine, { force: true });
        }
        if (readOwner(file) === process.pid) return new WorkspaceLock(file);
        continue;
      }
      if (!options.wait) throw new LockedError(owner);
      if (!told) options.onWait?.(owner);
      told = true;
      await new Promise((r) => setTimeout(r, options.pollMs ?? 200));
    }
  }

  release(): void {
    if (readOwner(this.file) === process.pid) rmSync(this.file, { force: true });
  }
}

export class LockedError extends Error {
  constructor(readonly pid: number) {
    super(`another prov-make (pid ${pid}) is running in this workspace`);
  }
}

function readOwner(file: string): number | null {
  try {
    const pid = Number(readFileSync(file, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
