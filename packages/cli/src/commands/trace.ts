/**
 * `prov-make trace [--json] [--all] -- CMD...`: run any command under the interposer and print
 * what it read, wrote, deleted, probed, listed and executed.
 */
import { parseArgs } from 'node:util';
import { hasRawBytes, traceCommand, type TraceResult } from '@prov-make/interposer';
import { displayPath } from '../format/terminal-text.js';
import { formatTrace, traceJson } from '../format/trace.js';
import { UsageError } from '../usage.js';
import type { CommandModule } from './command.js';

export const TRACE_HELP = `usage: prov-make trace [--json] [--all] -- COMMAND [ARG...]

Runs COMMAND under the interposer and prints what it read, wrote, deleted, looked up and did not
find (absent), listed, and executed, and the programs it could not observe (untraced).
Exit code: the command's own (128 + signal number when killed).

  --json   print one JSON object on stdout (the command's stdout goes to stderr)
  --all    list paths outside the working folder too (system headers, libraries, PATH probes)`;

const TRACE_OPTIONS = { json: { type: 'boolean' }, all: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } } as const;

export const TRACE: CommandModule = { main: (argv) => traceMain(argv), options: TRACE_OPTIONS, operands: 'files' };

export async function traceMain(argv: string[], out = process.stdout): Promise<number> {
  const dash = argv.indexOf('--');
  const own = dash >= 0 ? argv.slice(0, dash) : argv;
  const command = dash >= 0 ? argv.slice(dash + 1) : [];
  const { values, positionals } = parseArgs({ args: own, options: TRACE_OPTIONS, allowPositionals: true, strict: true });
  if (values.help) {
    out.write(TRACE_HELP + '\n');
    return 0;
  }
  if (dash < 0) command.push(...positionals);
  else if (positionals.length) throw new UsageError(`unexpected argument "${positionals[0]}" before "--"`, 'put the command to trace after "--"');
  if (command.length === 0) throw new UsageError('no command to trace', 'example: prov-make trace -- make -j2');
  // Node passes a program its arguments as UTF-8 only: such a byte would become another one
  const raw = command.find(hasRawBytes);
  if (raw !== undefined) throw new UsageError(`the argument ${displayPath(raw)} holds bytes that are not UTF-8, which prov-make cannot pass on as they are`, `let a shell make it: prov-make trace -- sh -c 'cat "$(printf "in\\377.txt")"'`);

  const cwd = process.cwd();
  // With --json, stdout carries only our JSON: the command's stdout goes to stderr.
  const stdio = values.json ? (['inherit', 2, 'inherit'] as const) : 'inherit';
  let result: TraceResult;
  try {
    result = await traceCommand(command, { cwd, stdio: [...(Array.isArray(stdio) ? stdio : [stdio, stdio, stdio])] as never });
  } catch (err) {
    throw new UsageError(`cannot run ${command[0]}: ${(err as Error).message}`);
  }
  if (values.json) {
    out.write(JSON.stringify(traceJson(result)) + '\n');
  } else {
    process.stderr.write(formatTrace(result, cwd, { all: Boolean(values.all) }));
  }
  for (const p of result.problems) process.stderr.write(`prov-make: warning: ${p.message}\n`);
  if (result.signal) return 128 + (signalNumber(result.signal) ?? 0);
  return result.exitCode ?? 1;
}

function signalNumber(signal: NodeJS.Signals): number | undefined {
  const table: Partial<Record<NodeJS.Signals, number>> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGABRT: 6, SIGKILL: 9, SIGSEGV: 11, SIGPIPE: 13, SIGTERM: 15 };
  return table[signal];
}
