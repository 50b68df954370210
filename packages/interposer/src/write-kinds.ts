/**
 * How a step wrote each path (types.ts, WriteKind), from its records in order. The engine decides
 * from this, the end-of-step stat and the step's previous execution what the step produced
 * (packages/cli/src/engine/outputs.ts): pure outputs, outputs that are inputs too, inputs only.
 */
import { RECORD, type WriteKind, type WriteLetter } from './types.js';

const W = RECORD.write;
const has = (arg: string, ...letters: WriteLetter[]) => letters.some((l) => arg.includes(l));

/**
 * What the records said of one path's writes since the step last removed it, as bits (one byte per
 * path in the reducer's typed arrays: a trace of 100,000 paths keeps no object per path).
 */
export type WriteHistory = number;

/** Nothing written since the step started or last removed it. */
export const NO_WRITES: WriteHistory = 0;
/** Its content was read (opened for reading) before anything wrote it. */
const READ_FIRST = 1;
/** Written without truncating, not known empty: the old content may survive. */
const IN_PLACE = 2;
/** Opened with O_CREAT or O_APPEND, not truncated, and empty when opened. */
const EMPTY_WHEN_OPENED = 4;
/** Truncated, made (mkdir), a new name (link), or renamed into place: nothing of the old version survives. */
const REPLACED = 8;
/** Its mode, owner or times set. */
const RETIMED = 16;

/** A read of the content (not of its metadata: make's stat of a target is not reading it). */
export function noteContentRead(h: WriteHistory): WriteHistory {
  return h & (IN_PLACE | EMPTY_WHEN_OPENED | REPLACED | RETIMED) ? h : h | READ_FIRST;
}

/** A write record's ARG letters (record.h). */
export function noteWrite(h: WriteHistory, arg: string): WriteHistory {
  if (has(arg, W.truncate, W.mkdir, W.newName)) return h | REPLACED;
  if (has(arg, W.metadata)) return h | RETIMED;
  if (has(arg, W.empty)) return h | EMPTY_WHEN_OPENED;
  return h | IN_PLACE;
}

/** Renamed into place over whatever was there. */
export function noteReplaced(h: WriteHistory): WriteHistory {
  return h | REPLACED;
}

export function writeKindOf(h: WriteHistory): WriteKind {
  if (h & REPLACED) return h & READ_FIRST ? 'replaced-after-read' : 'new';
  if (h & IN_PLACE) return h & RETIMED ? 'in-place-retimed' : 'in-place';
  if (h & EMPTY_WHEN_OPENED) return 'new-if-created';
  return h & RETIMED ? 'metadata' : 'new';
}
