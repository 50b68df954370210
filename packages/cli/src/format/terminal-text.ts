/**
 * Text that came from stored data (step commands, file names, step output, cache entries) is shown
 * with its control characters escaped: an escape sequence in a file name or a forged cache entry
 * must not retitle the window, clear the screen or hide lines. Newlines and tabs of the text's own
 * layout are kept.
 */

// C0 controls but \t and \n, DEL, and the C1 controls (U+0080-U+009F: a terminal may act on them too).
const CONTROL = /[\x00-\x08\x0b-\x1f\x7f-\x9f]/g;

/** `text` with each control character written as `\xNN` (`\e` for ESC, the one users will meet). */
export function terminalText(text: string): string {
  return text.replace(CONTROL, (c) => (c === '\x1b' ? '\\e' : `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`));
}

/** A stored step output replayed as it was: escaped when it goes to a terminal, raw bytes to a pipe or file. */
export function replayedOutput(bytes: Buffer, stream: NodeJS.WriteStream): Buffer | string {
  return stream.isTTY ? terminalText(bytes.toString('utf8')) : bytes;
}
