/** Usage errors: bad flags or arguments. Printed with the command's synopsis; exit code 2. */
export class UsageError extends Error {
  constructor(message: string, readonly hint?: string) {
    super(message);
    this.name = 'UsageError';
  }
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
