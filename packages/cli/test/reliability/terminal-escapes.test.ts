/**
 * Issue 11, item 6: control characters from stored data (file names, commands, step output, what a
 * cache entry says) are escaped when shown: an ESC in a file name must not clear the screen of the
 * user who asks `why` about it.
 */
import { describe, expect, it } from 'vitest';
import { cli, inTerminal, runJson, until, workspace } from '../cli-helpers.js';

const NAME = 'o\x1b[2Jut.txt';

describe('control characters in stored data', () => {
  it('why, log and a replayed output show them escaped, never raw', async () => {
    const ws = workspace({ 'pipeline.yml': 'steps:\n  e:\n    run: printf "x\\033]0;TITLE\\007\\n" > "$(printf "o\\033[2Jut.txt")"; printf "\\033[5mblink\\n"\n' });
    expect(runJson(ws).code).toBe(0);
    const why = cli(ws, ['why', NAME]);
    expect(why.code, why.stderr).toBe(0);
    expect(why.stdout).toContain('o\\e[2Jut.txt: up to date');
    expect(why.stdout).toContain('"x\\033]0;TITLE\\007\\n"'); // the command as written: nothing to escape
    expect(why.stdout).not.toContain('\x1b');
    const log = cli(ws, ['log']);
    expect(log.stdout).not.toContain('\x1b');
    const terminal = inTerminal(ws, ['log', 'e', '--output']);
    try {
      await until(() => terminal.screen().includes('EXIT='), 20_000, 'log --output in a terminal');
      expect(terminal.screen()).toContain('\\e[5mblink'); // raw, the terminal would have made it blink
    } finally {
      terminal.close();
    }
    expect(cli(ws, ['log', 'e', '--output']).stdout).toBe('\x1b[5mblink\n'); // to a pipe: the bytes as they were
  });
});
