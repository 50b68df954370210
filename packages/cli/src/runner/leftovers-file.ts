/**
 * What a run has running (process groups, cluster jobs), noted in a file of the workspace's own as
 * it changes, so that the next run can stop what a run killed with `kill -9` left behind. The file
 * is empty when the last run ended cleanly.
 */
import { readFileSync, statSync, writeFileSync } from 'node:fs';

/** Whether a killed run left anything in `file` (one stat, without loading the runner that wrote it). */
export function hasLeftovers(file: string): boolean {
  try {
    return statSync(file).size > 0;
  } catch {
    return false;
  }
}

export class LeftoversFile {
  private readonly live = new Set<string>();

  constructor(private readonly file: string) {}

  add(id: string): void {
    this.live.add(id);
    this.write();
  }

  delete(id: string): void {
    this.live.delete(id);
    this.write();
  }

  /** The ids a killed run left (none when it ended cleanly, or never ran). */
  left(): string[] {
    try {
      return readFileSync(this.file, 'utf8').split('\n').filter(Boolean);
    } catch {
      return [];
    }
  }

  /** What was left has been stopped (and this run has nothing running yet). */
  clear(): void {
    this.live.clear();
    writeFileSync(this.file, '');
  }

  private write(): void {
    try {
      writeFileSync(this.file, [...this.live].join('\n'));
    } catch {
      /* the state folder is gone (a step removed it): nothing to note for the next run */
    }
  }
}
