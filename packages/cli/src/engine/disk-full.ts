/**
 * A step that failed on a full disk says so: its command's own message (`head: error writing`) does
 * not say which file, and the user's first question is what filled it.
 */
import { lstatSync, statfsSync } from 'node:fs';
import { relative } from 'node:path';
import { fsPath } from '@prov-make/interposer/byte-path';
import { displayPath } from '../format/terminal-text.js';

/** Less free than this after a failed step: the disk is taken as what stopped it. */
const NEARLY_FULL_BYTES = 1024 * 1024;

/** `no space left on the device (while writing X)` (X: the largest file the step wrote), or undefined. */
export function diskFullFault(root: string, writes: Iterable<string>): string | undefined {
  try {
    const fs = statfsSync(root);
    if (fs.bavail * fs.bsize >= NEARLY_FULL_BYTES) return undefined;
  } catch {
    return undefined;
  }
  let largest: { path: string; size: number } | undefined;
  for (const path of writes) {
    const size = sizeOf(path);
    if (size !== null && (!largest || size > largest.size)) largest = { path, size };
  }
  return `no space left on the device${largest ? ` (while writing ${displayPath(relative(root, largest.path) || largest.path)})` : ''}`;
}

function sizeOf(path: string): number | null {
  try {
    return lstatSync(fsPath(path)).size;
  } catch {
    return null;
  }
}
