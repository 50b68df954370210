/**
 * Faults of the machine rather than of the pipeline: a full disk, a read-only file system, a device
 * error. Said as what happened and where, with what to do, and exit 1 (what was recorded is kept:
 * every store writes in transactions); never an internal error with a stack.
 */
import { relative } from 'node:path';

const FAULTS: Record<string, { what: string; fix: string }> = {
  ENOSPC: { what: 'no space left on the device', fix: 'free some space (`prov-make gc` shrinks the cache), then run again: what was recorded is kept' },
  EDQUOT: { what: 'the disk quota is used up', fix: 'free some space (`prov-make gc` shrinks the cache), then run again: what was recorded is kept' },
  EROFS: { what: 'the file system is read-only', fix: 'prov-make keeps its state in the workspace: run it in a writable copy, or remount the folder writable' },
  EIO: { what: 'the device reported an input/output error', fix: 'check the disk (dmesg), then run again' },
};

/** lmdb reports errno values by number, or only in its message. */
const BY_ERRNO: Record<number, string> = { 5: 'EIO', 28: 'ENOSPC', 30: 'EROFS', 122: 'EDQUOT' };
const BY_TEXT: [RegExp, string][] = [
  [/no space left on device/i, 'ENOSPC'],
  [/read-only file system/i, 'EROFS'],
  [/input\/output error/i, 'EIO'],
  [/quota exceeded/i, 'EDQUOT'],
];

interface Failed {
  code?: string | number;
  errno?: number;
  path?: string;
  message?: string;
}

function codeOf(err: Failed): string | null {
  if (typeof err.code === 'string' && err.code in FAULTS) return err.code;
  if (typeof err.code === 'number' && BY_ERRNO[err.code]) return BY_ERRNO[err.code];
  return BY_TEXT.find(([re]) => re.test(err.message ?? ''))?.[1] ?? null;
}

/** What a machine fault is (`no space left on the device`), or null for anything else. */
export function faultKind(err: unknown): string | null {
  const code = err && typeof err === 'object' ? codeOf(err as Failed) : null;
  return code ? FAULTS[code].what : null;
}

/** The message for a machine fault (`problem (while writing X)`, and what to do), or null for anything else. */
export function systemFaultOf(err: unknown): { problem: string; fix: string } | null {
  if (!err || typeof err !== 'object') return null;
  const code = codeOf(err as Failed);
  if (!code) return null;
  const path = (err as Failed).path;
  const where = path ? ` (while writing ${relative(process.cwd(), path) || path})` : '';
  return { problem: `${FAULTS[code].what}${where}`, fix: FAULTS[code].fix };
}
