// Ids of executions and runs: unique, and sortable by time as strings (the provenance store's indexes
// and the "newest execution" pointers rely on string order being time order).
import { randomBytes } from 'node:crypto';

let lastIdMs = 0;
let idCounter = 0;

/**
 * `<ms, 15 digits>-<counter, 6 digits>-<6 random hex>`: string order is time order within a process
 * (the counter restarts each millisecond and the clock is never allowed to step back); the random tail
 * keeps ids from two processes in the same millisecond distinct.
 */
export function newExecutionId(nowMs: number = Date.now()): string {
  if (nowMs > lastIdMs) {
    lastIdMs = nowMs;
    idCounter = 0;
  } else {
    idCounter++;
  }
  return `${String(lastIdMs).padStart(15, '0')}-${String(idCounter).padStart(6, '0')}-${randomBytes(3).toString('hex')}`;
}

/** The id of one `prov-make run`: its start and the process (shown by `log --runs`, taken by `diff`). */
export function newRunId(nowMs: number = Date.now()): string {
  return `${nowMs}-${process.pid}`;
}
