/**
 * The summary pm-collect writes of a big trace log (native/collect-summary.c has the layout): each
 * distinct path once, the records that matter as numbers, and what lstat said of the paths after the
 * step. Read in one go into typed arrays over one buffer: nothing per record, one string per path.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { decodePath } from './byte-path.js';
import type { TraceStatus } from './logs.js';
import { PathTable } from './path-table.js';
import { liveDisk, viewFacts, type DiskView, type EventRecord, type FileKind, type PathFacts, type TraceEvents } from './trace-events.js';
import type { RecordKind } from './types.js';

/** native/collect-summary.c and collect.h, mirrored (test/record-names.test.ts checks that they agree). */
export const SUMMARY_LAYOUT = {
  magic: 0x314d55534d50n,
  headerSize: 72,
  /** Header flags: every path byte below 0x80. */
  flags: { ascii: 1 },
  /** PM_NONE: no path. */
  none: 0xffffffff,
  argSize: 16,
  /** enum pm_kind, by value (unknown: not looked at; missing: null). */
  kinds: ['unknown', 'missing', 'file', 'dir', 'symlink', 'other'],
} as const;

const { headerSize: HEADER_SIZE, none: NONE, argSize: ARG_SIZE } = SUMMARY_LAYOUT;
const { ascii: ASCII } = SUMMARY_LAYOUT.flags;
const KINDS = SUMMARY_LAYOUT.kinds.map((k) => (k === 'unknown' ? undefined : k === 'missing' ? null : k)) as (FileKind | null | undefined)[];
const CHUNK = 256 * 1024;

export interface TraceSummary extends TraceEvents {
  status: TraceStatus;
}

/** The whole file, in a buffer of its own (so typed arrays can view it at any 8-byte offset). */
function readWhole(file: string): Buffer {
  const fd = openSync(file, 'r');
  try {
    const size = fstatSync(fd).size;
    const buf = Buffer.allocUnsafeSlow(size);
    for (let at = 0; at < size; ) {
      const n = readSync(fd, buf, at, Math.min(CHUNK, size - at), at);
      if (n === 0) throw new Error(`${file}: cut short`);
      at += n;
    }
    return buf;
  } finally {
    closeSync(fd);
  }
}

/** NUL-terminated names at buf[start..start+bytes), each decoded as a path (bytes that are not UTF-8 kept). */
function namesOf(buf: Buffer, start: number, bytes: number): string[] {
  const names: string[] = [];
  for (let at = start, end = start + bytes; at < end; ) {
    const nul = buf.indexOf(0, at);
    names.push(decodePath(buf, at, nul));
    at = nul + 1;
  }
  return names;
}

/** Sections one after another, each at a multiple of 8 bytes. */
class Sections {
  private at = HEADER_SIZE;
  constructor(private readonly buf: Buffer) {}
  take(bytes: number): number {
    const start = this.at;
    this.at += Math.ceil(bytes / 8) * 8;
    if (this.at > this.buf.length) throw new Error('the summary is cut short');
    return this.buf.byteOffset + start;
  }
  text(bytes: number, encoding: 'latin1' | 'utf8' = 'utf8'): string {
    const start = this.take(bytes) - this.buf.byteOffset;
    return this.buf.toString(encoding, start, start + bytes);
  }
  u8(n: number) { return new Uint8Array(this.buf.buffer, this.take(n), n); }
  u32(n: number) { return new Uint32Array(this.buf.buffer, this.take(n * 4), n); }
  u64(n: number) { return new BigUint64Array(this.buf.buffer, this.take(n * 8), n); }
}

/**
 * Reads a summary. What it does not know of a path (one it did not look at, or met later: a
 * rename's new names) is asked of `disk`.
 */
export function readSummary(file: string, disk: DiskView = liveDisk): TraceSummary {
  const buf = readWhole(file);
  if (buf.length < HEADER_SIZE || buf.readBigUInt64LE(0) !== SUMMARY_LAYOUT.magic) throw new Error(`${file} is not a trace summary`);
  const [pathCount, eventCount, argCount, pathBytes] = [8, 12, 16, 20].map((o) => buf.readUInt32LE(o));
  const flags = buf.readUInt32LE(24);
  const counter = (o: number) => Number(buf.readBigUInt64LE(o));
  const status: TraceStatus = { lost: counter(32), processes: counter(40), supervisors: counter(48), supervisorsFinished: counter(56), malformed: counter(64) };
  const s = new Sections(buf);
  // ASCII decodes byte for byte, which is a copy; other names as file names are (byte-path.ts)
  const names = flags & ASCII ? (pathBytes ? s.text(pathBytes, 'latin1').slice(0, -1).split('\0') : []) : namesOf(buf, s.take(pathBytes) - buf.byteOffset, pathBytes);
  const args = Array.from({ length: argCount }, () => s.text(ARG_SIZE).replace(/\0.*$/s, ''));
  const kind = s.u8(pathCount);
  const parent = s.u32(pathCount);
  const real = s.u32(pathCount);
  const [dev, ino, mode, size, mtimeNs, ctimeNs] = [0, 1, 2, 3, 4, 5].map(() => s.u64(pathCount));
  const ev = { kind: s.u8(eventCount), arg: s.u8(eventCount), pid: s.u32(eventCount), path: s.u32(eventCount), path2: s.u32(eventCount) };

  const folders = new Int32Array(parent.buffer, parent.byteOffset, pathCount); // NONE reads as -1: unknown
  // pm-collect gives paths in byte order, which is JavaScript's for ASCII
  const paths = new PathTable(names, folders, (flags & ASCII) !== 0);
  const asked = viewFacts(paths, disk);
  const facts: PathFacts = {
    kindOf: (id) => (id < pathCount && kind[id] !== 0 ? KINDS[kind[id]]! : asked.kindOf(id)),
    realPathOf: (id) => (id < pathCount && real[id] !== NONE ? real[id] : asked.realPathOf(id)),
    statOf(id) {
      if (id >= pathCount || kind[id] === 0) return asked.statOf(id);
      const k = KINDS[kind[id]];
      if (!k) return null;
      return {
        dev: dev[id], ino: ino[id], mode: mode[id], size: size[id], mtimeNs: mtimeNs[id], ctimeNs: ctimeNs[id],
        isFile: () => k === 'file', isDirectory: () => k === 'dir', isSymbolicLink: () => k === 'symlink',
      };
    },
  };
  const letters = Array.from({ length: 128 }, (_, c) => String.fromCharCode(c) as RecordKind);
  return {
    paths,
    disk: facts,
    status,
    forEach(visit) {
      const r: EventRecord = { kind: 'R', arg: '', path: 0, path2: -1, pid: 0 };
      for (let i = 0; i < eventCount; i++) {
        r.kind = letters[ev.kind[i] & 127];
        r.arg = args[ev.arg[i]];
        r.path = ev.path[i];
        r.path2 = ev.path2[i] === NONE ? -1 : ev.path2[i];
        r.pid = ev.pid[i];
        visit(r);
      }
    },
  };
}
