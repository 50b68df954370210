// Paths become parts of LMDB keys, which hold at most 1978 bytes (Linux paths may be 4095), and
// lmdb's ordered-binary key encoding does not round-trip strings holding the low control characters
// it uses as separators (seen with \x00-\x04). Such paths are keyed by their SHA-256 instead. The
// marker starts with "//", which neither a normalised absolute path nor a relative one can, and the
// lookup side applies the same rule, so the substitution is invisible to callers.
// A path holding raw bytes (byte-path.ts) is keyed by the SHA-256 of its bytes: a string's would
// hash each as U+FFFD. (Stored keys of such paths, workspace-key.ts, start with "//" too, but always
// hold a "\x", which a SHA-256 in hex never does.)
import { encodePath, hasRawBytes } from '@prov-make/interposer/byte-path';
import { sha256Bytes } from './hash.js';

/** Paths up to this many UTF-8 bytes are used verbatim (leaves room for the rest of a compound key). */
const MAX_VERBATIM_BYTES = 1000;

// eslint-disable-next-line no-control-regex
const CONTROL_CHARS = /[\u0000-\u001f]/;

export function pathKey(path: string): string {
  return Buffer.byteLength(path) <= MAX_VERBATIM_BYTES && !CONTROL_CHARS.test(path) && !hasRawBytes(path)
    ? path
    : `//sha256:${sha256Bytes(encodePath(path))}`;
}

/** Sorts after every execution id and hash we store, to close a compound-key range. */
export const KEY_MAX = '\uffff';
