/**
 * The one escaping rule for stored data on a terminal (format/terminal-text.ts): names escape every
 * control character, raw byte and backslash; text keeps its lines and backslashes, and a name
 * already shown escaped inside it is left as it is.
 */
import { describe, expect, it } from 'vitest';
import { displayPath, terminalText } from '../src/format/terminal-text.js';

describe('terminal text', () => {
  it('shows a name with control characters and raw bytes escaped, never raw', () => {
    expect(displayPath('plain/name.txt')).toBe('plain/name.txt');
    expect(displayPath('in\udcff.txt')).toBe('in\\xff.txt');
    expect(displayPath('new\nline\t\r.txt')).toBe('new\\nline\\t\\r.txt');
    expect(displayPath('\u001b[31mred\u0007')).toBe('\\e[31mred\\x07');
    expect(displayPath('c1\u009b.txt')).toBe('c1\\u009b.txt'); // not \x9b: that is the raw byte 0x9b
    expect(displayPath('back\\slash')).toBe('back\\\\slash');
    expect(displayPath('été')).toBe('été');
    // a character outside the BMP is a surrogate pair whose low half may lie in U+DC80..U+DCFF: no raw byte
    expect(displayPath(String.fromCodePoint(0x414f2))).toBe(String.fromCodePoint(0x414f2));
  });

  it('shows text with the same escapes, its lines, tabs and backslashes kept', () => {
    expect(terminalText('a\tb\nprintf "\\033[5m"\n')).toBe('a\tb\nprintf "\\033[5m"\n');
    expect(terminalText('\u001b]0;TITLE\u0007\r\u009b\u007f')).toBe('\\e]0;TITLE\\x07\\r\\u009b\\x7f');
    const name = displayPath('o\u001b[2Jut\\.txt');
    expect(terminalText(`${name}: up to date\n`)).toBe(`${name}: up to date\n`);
  });
});
