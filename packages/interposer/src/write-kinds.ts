/**
 * How a step wrote each path (types.ts, WriteKind), from its records in order. The engine decides
 * from this, the end-of-step stat and the step's previous execution what the step produced
 * (packages/cli/src/engine/outputs.ts): pure outputs, outputs that are inputs too, inputs only.
 */
import { RECORD, type WriteKind, type WriteLetter } from './types.js';

const W = RECORD.write;
const has = (arg: string, ...letters: WriteLetter[]) => letters.some((l) => arg.includes(l));

/** What the records said of one path's writes, since the step last removed it. */
export interface WriteHistory {
  /** Its content was read (opened for reading) before anything wrote it. */
  readFirst: boolean;
  /** Written without truncating, not known empty: the old content may survive. */
  inPlace: boolean;
  /** Opened with O_CREAT or O_APPEND, not truncated, and empty when opened. */
  emptyWhenOpened: boolean;
  /** Truncated, made (mkdir), a new name (link), or renamed into place: nothing of the old version survives. */
  replaced: boolean;
  /** Its mode, owner or times set. */
  retimed: boolean;
}

export function newWriteHistory(): WriteHistory {
  return { readFirst: false, inPlace: false, emptyWhenOpened: false, replaced: false, retimed: false };
}

/** A read of the content (not of its metadata: make's stat of a target is not reading it). */
export function noteContentRead(h: WriteHistory): void {
  if (!h.inPlace && !h.emptyWhenOpened && !h.replaced && !h.retimed) h.readFirst = true;
}

/** A write record's ARG letters (record.h). */
export function noteWrite(h: WriteHistory, arg: string): void {
  if (has(arg, W.truncate, W.mkdir, W.newName)) h.replaced = true;
  else if (has(arg, W.metadata)) h.retimed = true;
  else if (has(arg, W.empty)) h.emptyWhenOpened = true;
  else h.inPlace = true;
}

/** Renamed into place over whatever was there. */
export function noteReplaced(h: WriteHistory): void {
  h.replaced = true;
}

export function writeKindOf(h: WriteHistory): WriteKind {
  if (h.replaced) return h.readFirst ? 'replaced-after-read' : 'new';
  if (h.inPlace) return h.retimed ? 'in-place-retimed' : 'in-place';
  if (h.emptyWhenOpened) return 'new-if-created';
  return h.retimed ? 'metadata' : 'new';
}
