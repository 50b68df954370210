/**
 * One `prov-make run` at a time per workspace. The lock file holds the owner's pid, start time and
 * host (`1234.5678@login1`); a lock left by a killed run (that process is gone, whoever has its pid
 * now) is taken over. A workspace on a shared file system may be run from several hosts (a
 * cluster's login nodes): a lock held from another host is never taken as stale, since its process
 * cannot be checked from here.
 */
import { closeSync, openSync, readFileSync, renameSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { formatIdentity, isRunning, parseIdentity, thisProcess, type ProcessIdentity } from '@prov-make/interposer';

export class LockedError extends Error {
  readonly code = 'E_LOCKED';
  constructor(readonly pid: number, readonly host: string | null = null) {
    super(`another prov-make (${describeOwner(pid, host)}) is running in this workspace`);
  }
}

/** "pid 1234", or "pid 1234 on login2" when it runs on another host. */
export function describeOwner(pid: number, host?: string | null): string {
  return `pid ${pid}${host ? ` on ${host}` : ''}`;
}

export interface LockOptions {
  /** Wait for the owner to finish (default) or throw LockedError at once. */
  wait: boolean;
  /** `host`: set when the owner runs on another host. */
  onWait?: (pid: number, host: string | null) => void;
  pollMs?: number;
}

interface Owner {
  text: string;
  pid: number;
  /** The owner's start time; absent in a lock an older version wrote (its pid alone). */
  identity: ProcessIdentity | null;
  /** null: this host. */
  host: string | null;
}

const ME = `${formatIdentity(thisProcess())}@${hostname()}`;

export class WorkspaceLock {
  private constructor(private readonly file: string) {}

  static async acquire(stateDir: string, options: LockOptions): Promise<WorkspaceLock> {
    const file = join(stateDir, 'lock');
    let told = false;
    for (;;) {
      if (tryCreate(file)) return new WorkspaceLock(file);
      const owner = readOwner(file);
      if (owner === null || (owner.host === null && !isAlive(owner))) {
        if (takeOver(file, owner)) return new WorkspaceLock(file);
        continue;
      }
      if (!options.wait) throw new LockedError(owner.pid, owner.host);
      if (!told) options.onWait?.(owner.pid, owner.host);
      told = true;
      await new Promise((r) => setTimeout(r, options.pollMs ?? 200));
    }
  }

  release(): void {
    if (readOwner(this.file)?.text === ME) rmSync(this.file, { force: true });
  }
}

/** Whether another process's run holds the lock now (a live one here, or any on another host). */
export function otherRunInProgress(stateDir: string): boolean {
  const owner = readOwner(join(stateDir, 'lock'));
  return owner !== null && owner.text !== ME && (owner.host !== null || isAlive(owner));
}

function tryCreate(file: string): boolean {
  try {
    const fd = openSync(file, 'wx');
    writeSync(fd, ME);
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
  writeFileSync(mine, ME);
  try {
    if (readOwner(file)?.text === stale?.text) renameSync(mine, file);
  } finally {
    rmSync(mine, { force: true });
  }
  return readOwner(file)?.text === ME;
}

/** `1234.5678@host` (or `1234@host`, or a bare pid, as older versions wrote it: this host). */
function readOwner(file: string): Owner | null {
  try {
    const text = readFileSync(file, 'utf8').trim();
    const [, process, host] = /^([\d.]+)(?:@(.+))?$/.exec(text) ?? [];
    const identity = parseIdentity(process ?? '');
    const pid = identity?.pid ?? Number(process);
    if (!Number.isInteger(pid) || pid <= 0) return null;
    return { text, pid, identity, host: host && host !== hostname() ? host : null };
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
