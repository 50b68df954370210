/** A folder listing as one token: its entry names, minus the outputs of this step and later steps. */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ABSENT, cyrb53 } from './version-token.js';

/**
 * Outputs of this step and of steps later in the file are left out: a step cannot legitimately depend on them
 * (that is the read-before-write hazard), and leaving them in would make e.g. Python's import
 * cache listing of the workspace rerun the first step whenever a later step adds a file.
 */
export function listingToken(absDir: string, excluded?: (absPath: string) => boolean): number {
  let names: string[];
  try {
    names = readdirSync(absDir);
  } catch {
    return ABSENT;
  }
  names.sort();
  const kept = excluded ? names.filter((n) => !excluded(join(absDir, n))) : names;
  return cyrb53(kept.join('\0')) || 1;
}
