/**
 * One `prov-make run` at a time per workspace. The lock file holds the owner's pid and start time
 * (`1234.5678`); a lock left by a killed run (that process is gone, whoever has its pid now) is
 * taken over.
 */
import { closeSync, openSync, readFileSync, renameSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { formatIdentity, isRunning, parseIdentity, thisProcess, type ProcessIdentity } from '@prov-make/interposer';

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
      if (!options.wait) throw new LockedError(owner.pid);
      if (!told) options.onWait?.(owner.pid);
      told = true;
      await new Promise((r) => setTimeout(r, options.pollMs ?? 200));
    }
  }

  release(): void {
    if (readOwner(this.file)?.text === ME()) rmSync(this.file, { force: true });
  }
}

function tryCreate(file: string): boolean {
  try {
    const fd = openSync(file, 'wx');
    writeSync(fd, ME());
    closeSync(fd);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    return false;
  }
}

/** A stale lock is taken over atomically, so two waiting runs cannot both win. */
function takeOver(file: string, stale: Owner | null): boolean {
  const mine = `${file}.${process.pid}`;
  writeFileSync(mine, ME());
  try {
    if (readOwner(file)?.text === stale?.text) renameSync(mine, file);
  } finally {
    rmSync(mine, { force: true });
  }
  return readOwner(file)?.text === ME();
}

interface Owner {
  text: string;
  pid: number;
  /** The owner's start time; absent in a lock an older version wrote (its pid alone). */
  identity: ProcessIdentity | null;
}

const ME = () => formatIdentity(thisProcess());

function readOwner(file: string): Owner | null {
  try {
    const text = readFileSync(file, 'utf8').trim();
    const identity = parseIdentity(text);
    const pid = identity?.pid ?? Number(text);
    return Number.isInteger(pid) && pid > 0 ? { text, pid, identity } : null;
  } catch {
    return null;
  }
}

function isAlive(owner: Owner): boolean {
  if (owner.identity) return isRunning(owner.identity);
  try {
    process.kill(owner.pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
