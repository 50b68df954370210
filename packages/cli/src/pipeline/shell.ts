/**
 * `shell:` (pipeline-wide and per step): the program that runs a step's `run` text, as the words
 * placed before it. Every run is strict by default: a failing line fails the step (errexit), and with
 * bash a failing command anywhere in a pipe does too (pipefail). The words are part of the step's
 * identity, so changing the shell reruns the step.
 *
 *   sh (default)         /bin/sh -e -c RUN
 *   bash                 bash -e -o pipefail -c RUN   (bash found on the step's PATH)
 *   /path/to/x ARG...    /path/to/x ARG... -c RUN     (as written: add -e yourself)
 */

/** The words before the command when no `shell:` is given. */
export const DEFAULT_SHELL: readonly string[] = ['/bin/sh', '-e', '-c'];

const NAMED: Record<string, readonly string[]> = {
  sh: DEFAULT_SHELL,
  bash: ['bash', '-e', '-o', 'pipefail', '-c'],
};

export type ShellParse = { words: string[] } | { problem: string; fix: string };

/** The words of a `shell:` value, or what is wrong with it. */
export function parseShell(text: string): ShellParse {
  const named = NAMED[text.trim()];
  if (named) return { words: [...named] };
  const words = text.trim().split(/\s+/).filter(Boolean);
  const program = words[0] ?? '';
  if (!program.startsWith('/')) {
    return {
      problem: `shell ${JSON.stringify(text)} is not sh, bash or an absolute path`,
      fix: 'write shell: sh, shell: bash, or the absolute path of a shell with its arguments, e.g. shell: /usr/bin/zsh -e (the command follows -c)',
    };
  }
  return { words: [...words, '-c'] };
}

/** The argv that runs `command` with `shell` (the words parseShell gave). */
export function shellArgv(shell: readonly string[], command: string): string[] {
  return [...shell, command];
}
