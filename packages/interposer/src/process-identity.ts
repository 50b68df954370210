/**
 * A process as a reused pid cannot fake: its pid and its start time (clock ticks after boot, field 22
 * of /proc/PID/stat). A killed run's step groups, its lock and its trace logs are named by this, so
 * that the next run never takes an unrelated process that got the same pid for one of them.
 */
import { readFileSync } from 'node:fs';

export interface ProcessIdentity {
  pid: number;
  /** Start time in clock ticks after boot, as /proc says it (a decimal string). */
  start: string;
}

/** The start time of process `pid`, or null when there is none (or no /proc to ask). */
export function processStartTime(pid: number): string | null {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
  } catch {
    return null;
  }
  // The name (field 2) is in parentheses and may hold spaces and parentheses itself.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return fields[19] ?? null; // field 22: fields[0] is field 3
}

let self: ProcessIdentity | undefined;

/** This process. */
export function thisProcess(): ProcessIdentity {
  return (self ??= { pid: process.pid, start: processStartTime(process.pid) ?? '0' });
}

/** Whether the very process `id` names still runs (a zombie counts: it has not been reaped yet). */
export function isRunning(id: ProcessIdentity): boolean {
  return processStartTime(id.pid) === id.start;
}

/** `1234.5678`: pid and start time, for file names and notes. */
export function formatIdentity(id: ProcessIdentity): string {
  return `${id.pid}.${id.start}`;
}

/** The inverse of formatIdentity; null for anything else. */
export function parseIdentity(text: string): ProcessIdentity | null {
  const m = /^(\d+)\.(\d+)$/.exec(text);
  return m && Number(m[1]) > 0 ? { pid: Number(m[1]), start: m[2] } : null;
}
