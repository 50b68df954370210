import type { CommandModule } from './commands/command.js';
import { suggest } from './pipeline/suggest.js';
import { systemFaultOf } from './system-fault.js';

/** Usage errors: bad flags or arguments. Printed with the command's synopsis; exit code 2. */
export class UsageError extends Error {
  constructor(message: string, readonly hint?: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** Node's parseArgs messages, said the way the rest of the tool speaks, with a did-you-mean. */
export function friendlier(err: unknown, name: string, command: CommandModule | undefined): unknown {
  const e = err as { code?: string; message?: string };
  const hint = `see \`prov-make ${name} --help\``;
  if (e?.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
    const option = /option '([^']+)'/.exec(e.message ?? '')?.[1] ?? 'that option';
    const guess = command && suggest(option.replace(/^-+/, ''), Object.keys(command.options));
    return new UsageError(`prov-make ${name} has no option ${option}${guess ? `. Did you mean --${guess}?` : ''}`, hint);
  }
  if (e?.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') return new UsageError((e.message ?? '').replace(/^Option /, 'option '), hint);
  if (e?.code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') return new UsageError(`prov-make ${name} takes no such argument (${e.message})`, hint);
  return err;
}

export function reportError(err: unknown): number {
  if (err instanceof UsageError || (err as { code?: string })?.code?.startsWith?.('ERR_PARSE_ARGS')) {
    const e = err as UsageError;
    process.stderr.write(`prov-make: error: ${e.message}\n`);
    if (e.hint) process.stderr.write(`  hint: ${e.hint}\n`);
    return EXIT_USAGE;
  }
  const fault = systemFaultOf(err);
  if (fault) {
    process.stderr.write(`prov-make: error: ${fault.problem}\n  hint: ${fault.fix}\n`);
    return EXIT_FAILED;
  }
  const formatted = (err as { format?: () => string })?.format;
  if (typeof formatted === 'function') {
    process.stderr.write(`${formatted.call(err)}\n`);
    return EXIT_USAGE;
  }
  throw err;
}

export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;

export const SYNOPSIS = `usage: prov-make <command> [options]

commands:
  run [pipeline.yml] [STEP...] [-j N] [-k] [-n] [--force] [--json]   run what is out of date
  status [pipeline.yml] [STEP...] [--exit-code] [--json]               what would run, and why
  watch [pipeline.yml] [STEP...] [-j N] [-k]                           run, then again on every change
  clean [STEP...] [--dry-run]                                          remove the files the steps produced
  init [FOLDER]                                                        write a commented pipeline.yml
  why FILE [--json] [--depth N] [--uses GLOB]                          which step made FILE, from what; is it stale?
  log [STEP] [-n N] [--runs] [--output] [--prune ...]                  past executions, newest first
  show FILE --for OUTPUT                                               the exact bytes of the FILE version OUTPUT was made from
  diff [RUN_A RUN_B]                                                   the first step whose inputs differed between two runs
  graph [--dot|--prov|--json]                                          the provenance graph (Graphviz, W3C PROV-JSON)
  cache stats | verify | gc --max-size SIZE                            the content cache
  trace [--json] [--all] -- COMMAND [ARG...]                           trace any command; print what it read and wrote
  completion bash|zsh                                                  shell completion

run, status, watch and clean use ./pipeline.yml or the nearest one in a parent folder.
Run \`prov-make <command> --help\` for a command's options.`;
