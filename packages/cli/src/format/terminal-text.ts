/**
 * What stored data looks like on a terminal: the one escaping rule for file names and for text that
 * came from stored data (step commands, step output, cache entries). A control character in a name
 * or a forged cache entry must not retitle the window, clear the screen or hide lines, and a name's
 * bytes that are not UTF-8 (U+DC80..U+DCFF, byte-path.ts) must show as the bytes they are.
 *
 * The rule: ESC is `\e`, a newline `\n`, a tab `\t`, a carriage return `\r`, other C0 controls, DEL
 * and a raw byte `\xNN`, a C1 control `\uNNNN` (so it is not taken for the raw byte of that value).
 * A name escapes all of these and doubles its backslashes, so its shown form is unambiguous; text
 * keeps its own layout (newlines, tabs) and its backslashes as written.
 */

// eslint-disable-next-line no-control-regex
const NAME_NEEDS_ESCAPE = /[\u0000-\u001f\u007f-\u009f\\\udc80-\udcff]/u;
// eslint-disable-next-line no-control-regex
const NAME_ESCAPED = /[\u0000-\u001f\u007f-\u009f\\\udc80-\udcff]/gu;
// eslint-disable-next-line no-control-regex
const TEXT_ESCAPED = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\udc80-\udcff]/gu;
const NAMED: Record<string, string> = { '\x1b': '\\e', '\n': '\\n', '\t': '\\t', '\r': '\\r', '\\': '\\\\' };
const RAW_BASE = 0xdc00;

function escaped(ch: string): string {
  const named = NAMED[ch];
  if (named) return named;
  const c = ch.charCodeAt(0);
  if (c >= 0x80 && c < 0xa0) return `\\u${c.toString(16).padStart(4, '0')}`;
  return `\\x${(c >= 0xdc80 ? c - RAW_BASE : c).toString(16).padStart(2, '0')}`;
}

/** A path as a terminal may show it: `in\xff.txt`, `a\nb`, `o\e[2Jut.txt`, `back\\slash`. */
export function displayPath(path: string): string {
  return NAME_NEEDS_ESCAPE.test(path) ? path.replace(NAME_ESCAPED, escaped) : path;
}

/** Text from stored data as a terminal may show it: its lines and tabs kept, control characters escaped. */
export function terminalText(text: string): string {
  return text.replace(TEXT_ESCAPED, escaped);
}

/** A stored step output replayed as it was: escaped when it goes to a terminal, raw bytes to a pipe or file. */
export function replayedOutput(bytes: Buffer, stream: NodeJS.WriteStream): Buffer | string {
  return stream.isTTY ? terminalText(bytes.toString('utf8')) : bytes;
}
