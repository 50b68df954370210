/**
 * The permission bits a restored file or folder gets: what was recorded, without the setuid, setgid
 * and sticky bits, and never more than this user's umask allows (a cache entry, perhaps from a
 * shared remote, must not hand out rights a step run here would not have had by default).
 */
import { readFileSync } from 'node:fs';

let umask: number | undefined;

/** This process's umask, read without changing it (process.umask() sets it to read it). */
export function processUmask(): number {
  if (umask === undefined) {
    let status = '';
    try {
      status = readFileSync('/proc/self/status', 'utf8');
    } catch {
      /* no /proc: the usual default */
    }
    const m = /^Umask:\s*([0-7]+)$/m.exec(status);
    umask = m ? parseInt(m[1], 8) : 0o022;
  }
  return umask;
}

export function restorableMode(mode: number): number {
  return mode & 0o777 & ~processUmask();
}
