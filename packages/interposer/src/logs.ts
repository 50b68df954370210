/**
 * Reading a step's trace log: one file (`trace.log` in the log folder) that every process and
 * thread of the step writes windows of. Its layout is native/log.h's (LOG_LAYOUT below); the
 * records in it are native/record.h's, mirrored by RECORD in types.ts.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { decodePath } from './byte-path.js';
import { RECORD, type RecordKind } from './types.js';

/** native/log.h, mirrored (test/record-names.test.ts checks that the two agree). */
export const LOG_LAYOUT = {
  file: 'trace.log',
  magic: 0x31474f4c4d50n,
  windowMagic: 0x00574d50,
  headerSize: 4096,
  /** Byte offsets of struct pm_log_header's fields (little-endian u64). */
  header: { magic: 0, next: 8, cap: 16, lost: 24, processes: 32, allocated: 40, supervisors: 48, finished: 56 },
  /** Byte offsets of struct pm_window's fields (little-endian u32), and its size. */
  window: { magic: 0, size: 4, pid: 8, bytes: 16 },
  /** Windows start at page boundaries; the smallest page is 4 KiB. */
  page: 4096,
} as const;

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
  /** Programs that started under the interposer (execs; a fork shares its parent's count). */
  processes: number;
  /** ptrace supervisors that attached, and those that saw all their programs end. */
  supervisors: number;
  supervisorsFinished: number;
  /** Records that could not be read: a line that is not a record, or one cut short (no final
   *  newline; the interposer records a call after it was made, so its effect is there, unrecorded). */
  malformed: number;
}

export interface TraceLog {
  /** Every record, in global event order. */
  records: LogRecord[];
  /** Null when there is no readable log (see `error`). */
  status: TraceStatus | null;
  /** Why the log could not be read: it is missing, or it is not a trace log. */
  error?: { kind: 'missing' | 'unreadable'; message: string };
}

const KINDS = new Set<string>(Object.values(RECORD.kind));
const NEWLINE = 10;
/** An ARG is a few letters or a reason (record.h); native/collect-events.c keeps up to 15 bytes. */
const ARG_MAX = 16;

function unescapePath(s: string): string {
  if (!s.includes('\\')) return s;
  return s.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c === 't' ? '\t' : c));
}

/** A record's time: digits only (what native/collect-log.c accepts too). */
const TIME = /^[0-9]+$/;

/**
 * Parses whole records (lines) from `bytes`, up to the first NUL (a window's unused tail); a line
 * that is not a record is counted in `counts.malformed`. Returns how many bytes were consumed: the
 * rest is a partial record (its writer is still writing it, or was killed while it did).
 */
export function parseRecords(bytes: Buffer, pid: number, into: LogRecord[], counts = { malformed: 0 }): number {
  let end = bytes.indexOf(0);
  if (end < 0) end = bytes.length;
  const last = bytes.lastIndexOf(NEWLINE, end - 1);
  if (last < 0) return 0;
  // paths are bytes: a name that is not UTF-8 keeps them (byte-path.ts); only text that lost some
  // (U+FFFD, which an ASCII text cannot even hold) is decoded again
  let text = bytes.toString('utf8', 0, last + 1);
  if (text.includes('\ufffd')) text = decodePath(bytes, 0, last + 1);
  let start = 0;
  for (;;) {
    const nl = text.indexOf('\n', start);
    if (nl < 0) break;
    if (nl > start) {
      const f = text.slice(start, nl).split('\t');
      if (f.length >= 4 && f.length <= 5 && KINDS.has(f[0]) && TIME.test(f[1]) && f[2].length < ARG_MAX) {
        const rec: LogRecord = { kind: f[0] as RecordKind, seq: Number(f[1]), arg: f[2], path: unescapePath(f[3]), pid };
        if (f.length === 5) rec.path2 = unescapePath(f[4]);
        into.push(rec);
      } else {
        counts.malformed++;
      }
    }
    start = nl + 1;
  }
  return last + 1;
}

const CHUNK = 256 * 1024;

/** Sequential reads of a file in 256 KiB chunks; `at(pos)` makes [pos, pos + n) available. */
class ChunkReader {
  private readonly buf = Buffer.allocUnsafe(CHUNK);
  private start = 0;
  private end = 0;
  constructor(private readonly fd: number, private readonly size: number) {}

  /** The bytes from `pos` (at least `n` unless the file ends first), as a view. */
  at(pos: number, n: number): Buffer {
    if (pos < this.start || pos + n > this.end) {
      this.start = pos;
      this.end = pos + readSync(this.fd, this.buf, 0, Math.min(CHUNK, this.size - pos), pos);
    }
    return this.buf.subarray(pos - this.start, this.end - this.start);
  }
}

/** The records of the window whose records start at `pos` and which ends at `end`; a record its
 *  writer left cut short is counted malformed. */
function readWindow(reader: ChunkReader, pos: number, end: number, pid: number, into: LogRecord[], counts: { malformed: number }): void {
  let carry: Buffer | null = null;
  while (pos < end) {
    let view = reader.at(pos, 1).subarray(0, end - pos);
    if (view.length === 0) break;
    const nul = view.indexOf(0);
    if (nul >= 0) view = view.subarray(0, nul);
    const bytes: Buffer = carry ? Buffer.concat([carry, view]) : view;
    const used = parseRecords(bytes, pid, into, counts);
    carry = used < bytes.length ? Buffer.from(bytes.subarray(used)) : null;
    if (nul >= 0) break;
    pos += view.length;
  }
  if (carry) counts.malformed++;
}

/** Reads every window of an open trace log; windows a kill left without a header are stepped over. */
function readWindows(fd: number, end: number, counts: { malformed: number }): LogRecord[] {
  const { window: W, page } = LOG_LAYOUT;
  const reader = new ChunkReader(fd, end);
  const records: LogRecord[] = [];
  let pos = LOG_LAYOUT.headerSize;
  while (pos + W.bytes <= end) {
    const head = reader.at(pos, W.bytes);
    const size = head.readUInt32LE(W.size);
    if (head.readUInt32LE(W.magic) === LOG_LAYOUT.windowMagic && size >= page && size % page === 0) {
      readWindow(reader, pos + W.bytes, Math.min(pos + size, end), head.readUInt32LE(W.pid), records, counts);
      pos += size;
    } else {
      pos += page;
    }
  }
  return records.sort((a, b) => a.seq - b.seq);
}

/** Reads the trace log in a log folder: its records in event order and its counters. */
export function readTraceLog(dir: string): TraceLog {
  const path = join(dir, LOG_LAYOUT.file);
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (err) {
    const missing = (err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR';
    return { records: [], status: null, error: { kind: missing ? 'missing' : 'unreadable', message: `${path}: ${(err as Error).message}` } };
  }
  try {
    const size = fstatSync(fd).size;
    const header = Buffer.alloc(LOG_LAYOUT.headerSize);
    const n = readSync(fd, header, 0, header.length, 0);
    const H = LOG_LAYOUT.header;
    if (n < H.finished + 8 || header.readBigUInt64LE(H.magic) !== LOG_LAYOUT.magic) {
      return { records: [], status: null, error: { kind: 'unreadable', message: `${path} is not a trace log (it was overwritten while the command ran)` } };
    }
    const field = (f: keyof typeof H) => Number(header.readBigUInt64LE(H[f]));
    const status = { lost: field('lost'), processes: field('processes'), supervisors: field('supervisors'), supervisorsFinished: field('finished'), malformed: 0 };
    return { records: readWindows(fd, Math.min(size, Number(header.readBigUInt64LE(H.next))), status), status };
  } catch (err) {
    return { records: [], status: null, error: { kind: 'unreadable', message: `${path}: ${(err as Error).message}` } };
  } finally {
    closeSync(fd);
  }
}

/** The first page of a new trace log: empty, with an optional cap on its size in bytes. */
export function newTraceLogHeader(capBytes = 0): Buffer {
  const H = LOG_LAYOUT.header;
  const header = Buffer.alloc(LOG_LAYOUT.headerSize);
  header.writeBigUInt64LE(LOG_LAYOUT.magic, H.magic);
  header.writeBigUInt64LE(BigInt(LOG_LAYOUT.headerSize), H.next);
  header.writeBigUInt64LE(BigInt(capBytes), H.cap);
  header.writeBigUInt64LE(BigInt(LOG_LAYOUT.headerSize), H.allocated);
  return header;
}
