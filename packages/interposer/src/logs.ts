/**
 * Reading the interposer's logs: one file per traced thread (`<pid>.<tid>.<n>.log`) plus the
 * shared `status` page. The record format: native/record.h, mirrored by RECORD in types.ts.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { RECORD, type RecordKind } from './types.js';


export interface LogRecord {
  kind: RecordKind;
  /** Global order of the event among all processes and threads of the trace. */
  seq: number;
  arg: string;
  path: string;
  /** Second path (rename target). */
  path2?: string;
  pid: number;
}

export interface TraceStatus {
  /** Records the interposer could not write (full disk, size cap, re-entry from a signal handler). */
  lost: number;
  /** Processes that started under the interposer. */
  processes: number;
}

const KINDS = new Set<string>(Object.values(RECORD.kind));

function unescapePath(s: string): string {
  if (!s.includes('\\')) return s;
  return s.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c === 't' ? '\t' : c));
}

/** Parses one log's bytes. A record cut short by a kill (no final newline) is dropped. */
export function parseLog(bytes: Buffer, pid: number, into: LogRecord[] = []): LogRecord[] {
  let end = bytes.indexOf(0);
  if (end < 0) end = bytes.length;
  // Windows end in newline padding (a page's worth in a short log): keep one newline, so the last
  // record still counts as complete, and do not walk the rest line by line (100 us a log, measured).
  let last = end;
  while (last > 0 && bytes[last - 1] === 10) last--;
  if (last < end) end = last + 1;
  const text = bytes.toString('utf8', 0, end);
  let start = 0;
  for (;;) {
    while (text.charCodeAt(start) === 10) start++; // padding between windows
    const nl = text.indexOf('\n', start);
    if (nl < 0) break;
    const line = text.slice(start, nl);
    const f = line.split('\t');
    if (f.length >= 4 && KINDS.has(f[0])) {
      const rec: LogRecord = { kind: f[0] as RecordKind, seq: Number(f[1]), arg: f[2], path: unescapePath(f[3]), pid };
      if (f.length >= 5) rec.path2 = unescapePath(f[4]);
      into.push(rec);
    }
    start = nl + 1;
  }
  return into;
}

export interface LogDirContents {
  records: LogRecord[];
  status: TraceStatus | null;
  logFiles: number;
  /** Logs that could not be read (replaced by a folder, no permission): their records are missing. */
  unreadable: string[];
}

/** Reads every log in a trace's log folder; records come back in global event order. */
export function readLogDir(dir: string): LogDirContents {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return { records: [], status: null, logFiles: 0, unreadable: [] };
  }
  const records: LogRecord[] = [];
  const unreadable: string[] = [];
  let logFiles = 0;
  for (const name of names) {
    if (!name.endsWith('.log')) continue;
    logFiles++;
    const pid = Number(name.slice(0, name.indexOf('.')));
    let bytes: Buffer;
    try {
      bytes = readFileSync(join(dir, name));
    } catch {
      // the traced command can do anything to its log folder: report, never throw
      unreadable.push(name);
      continue;
    }
    parseLog(bytes, pid, records);
  }
  records.sort((a, b) => a.seq - b.seq);
  return { records, status: readStatus(dir), logFiles, unreadable };
}

export function readStatus(dir: string): TraceStatus | null {
  try {
    const page = readFileSync(join(dir, 'status'));
    if (page.length < 24) return null;
    return { lost: Number(page.readBigUInt64LE(8)), processes: Number(page.readBigUInt64LE(16)) };
  } catch {
    return null;
  }
}
