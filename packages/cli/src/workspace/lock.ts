/**
 * One `prov-make run` at a time per workspace. The lock file holds the owner's pid; a lock left by a
 * killed run (its pid is gone) is taken over.
 */
import { closeSync, openSync, readFileSync, renameSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';

export class LockedError extends Error {
  readonly code = 'E_LOCKED';
  constructor(readonly pid: number) {
    super(`another prov-make (pid ${pid}) is running in this workspace`);
  }
}

export interface LockOptions {
  /** Wait for the owner to finish (default) or throw LockedError at once. */
  wait: boolean;
  onWait?: (pid: number) => void;
  pollMs?: number;
}

export class WorkspaceLock {
  private constructor(private readonly file: string) {}

  static async acquire(stateDir: string, options: LockOptions): Promise<WorkspaceLock> {
    const file = join(stateDir, 'lock');
    let told = false;
    for (;;) {
      if (tryCreate(file)) return new WorkspaceLock(file);
      const owner = readOwner(file);
      if (owner === null || !isAlive(owner)) {
        if (takeOver(file, owner)) return new WorkspaceLock(file);
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

function tryCreate(file: string): boolean {
  try {
    const fd = openSync(file, 'wx');
    writeSync(fd, String(process.pid));
    closeSync(fd);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    return false;
  }
}

/** A stale lock is taken over atomically, so two waiting runs cannot both win. */
function takeOver(file: string, staleOwner: number | null): boolean {
  const mine = `${file}.${process.pid}`;
  writeFileSync(mine, String(process.pid));
  try {
    if (readOwner(file) === staleOwner) renameSync(mine, file);
  } finally {
    rmSync(mine, { force: true });
  }
  return readOwner(file) === process.pid;
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
