/**
 * File names are byte strings; prov-make's paths are JS strings. A name's bytes are decoded as UTF-8
 * and each byte that is not part of valid UTF-8 becomes a lone surrogate U+DC80..U+DCFF (Python's
 * "surrogateescape"). Valid UTF-8 never decodes to a surrogate, so the mapping is one-to-one and
 * `encodePath(decodePath(b))` is `b` for every byte string. Paths of valid UTF-8 (nearly all) are
 * plain strings and cost nothing more; only a path holding such a surrogate is turned back into a
 * Buffer at the file system (`fsPath`). Lone surrogates do not survive UTF-8 encoders (Buffer.from,
 * TextEncoder, hashing a string, msgpack), so stores keep such a path in a valid-Unicode form
 * (`@prov-make/cache`'s workspace keys); JSON.stringify writes them as `\udcff`, which reads back.
 */
import { isUtf8 } from 'node:buffer';
import { readdirSync, readlinkSync, realpathSync } from 'node:fs';

// `u`: a code point at a time, so the low half of a surrogate pair (an emoji) is no raw byte. The
// plain form is a faster first look (a unicode-mode regex is slow until V8 tiers it up).
const RAW_BYTE = /[\udc80-\udcff]/u;
const LOW_SURROGATE = /[\udc80-\udcff]/;
const RAW_BASE = 0xdc00;

/** Whether a path holds bytes that are not UTF-8 (as surrogates). */
export function hasRawBytes(path: string): boolean {
  return LOW_SURROGATE.test(path) && RAW_BYTE.test(path);
}

/** The length of the valid UTF-8 sequence at `i` (1-4), or 0 when the byte there starts none. */
function sequenceAt(b: Uint8Array, i: number, end: number): number {
  const c = b[i];
  if (c < 0x80) return 1;
  const n = c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
  if (n === 0 || i + n > end) return 0;
  for (let k = 1; k < n; k++) if ((b[i + k] & 0xc0) !== 0x80) return 0;
  const c1 = b[i + 1];
  // overlong forms, UTF-16 surrogates (ED A0..BF) and code points over U+10FFFF are not UTF-8
  if ((c === 0xe0 && c1 < 0xa0) || (c === 0xed && c1 > 0x9f) || (c === 0xf0 && c1 < 0x90) || (c === 0xf4 && c1 > 0x8f)) return 0;
  return n;
}

/** A byte string as a path: UTF-8, with every byte outside valid UTF-8 as U+DC80..U+DCFF. */
export function decodePath(bytes: Uint8Array, start = 0, end = bytes.length): string {
  const view = start === 0 && end === bytes.length ? bytes : bytes.subarray(start, end);
  const buf = Buffer.isBuffer(view) ? view : Buffer.from(view.buffer, view.byteOffset, view.length);
  if (isUtf8(buf)) return buf.toString('utf8');
  let out = '';
  let run = 0; // start of the current run of valid UTF-8
  for (let i = 0; i < buf.length; ) {
    const n = sequenceAt(buf, i, buf.length);
    if (n > 0) {
      i += n;
      continue;
    }
    out += buf.toString('utf8', run, i) + String.fromCharCode(RAW_BASE + buf[i]);
    run = ++i;
  }
  return out + buf.toString('utf8', run);
}

/** The bytes of a path: the inverse of decodePath. */
export function encodePath(path: string): Buffer {
  if (!hasRawBytes(path)) return Buffer.from(path, 'utf8');
  const parts: Buffer[] = [];
  let run = 0;
  for (let i = 0; i < path.length; i++) {
    const c = path.charCodeAt(i);
    if (c < 0xdc80 || c > 0xdcff) continue;
    const before = i > 0 ? path.charCodeAt(i - 1) : 0;
    if (before >= 0xd800 && before <= 0xdbff) continue; // the low half of a pair: a character
    parts.push(Buffer.from(path.slice(run, i), 'utf8'), Buffer.of(c - RAW_BASE));
    run = i + 1;
  }
  parts.push(Buffer.from(path.slice(run), 'utf8'));
  return Buffer.concat(parts);
}

/** The path as node:fs takes it: the string itself, or its bytes when it holds raw bytes. */
export function fsPath(path: string): string | Buffer {
  return hasRawBytes(path) ? encodePath(path) : path;
}

// node:fs returns names as UTF-8 strings, each invalid byte as U+FFFD. A name holding U+FFFD is
// rare: only then is the call made again for the bytes, so the common case costs one call.
const LOSSY = '\ufffd';

/** A folder's entry names, their bytes kept. */
export function readdirPaths(path: string): string[] {
  const names = readdirSync(fsPath(path));
  return names.some((n) => n.includes(LOSSY)) ? readdirSync(fsPath(path), 'buffer').map((name) => decodePath(name)) : names;
}

/** realpath(3), its bytes kept. */
export function realPathOf(path: string): string {
  const real = realpathSync.native(fsPath(path));
  return real.includes(LOSSY) ? decodePath(realpathSync.native(fsPath(path), 'buffer')) : real;
}

/** A symlink's target, its bytes kept. */
export function readlinkPath(path: string): string {
  const target = readlinkSync(fsPath(path));
  return target.includes(LOSSY) ? decodePath(readlinkSync(fsPath(path), 'buffer')) : target;
}
