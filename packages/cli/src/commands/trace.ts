/**
 * `prov-make trace [--json] [--all] -- CMD...`: run any command under the interposer and print
 * what it read, wrote, deleted, probed, listed and executed.
 */
import { parseArgs } from 'node:util';
import { relative, sep } from 'node:path';
import { traceCommand, type StepDependencies, type TraceResult } from '@prov-make/interposer';
import { UsageError } from '../usage.js';

export const TRACE_HELP = `usage: prov-make trace [--json] [--all] -- COMMAND [ARG...]

Runs COMMAND under the interposer and prints what it read, wrote, deleted, looked up and did not
find (absent), listed, and executed, and the programs it could not observe (untraced).
Exit code: the command's own (128 + signal number when killed).

  --json   print one JSON object on stdout (the command's stdout goes to stderr)
  --all    list paths outside the working folder too (system headers, libraries, PATH probes)`;

export type TraceJson = { exitCode: number | null } & Omit<StepDependencies, 'untraced'> & { untraced: string[] };

export function traceJson(result: TraceResult): TraceJson {
  const d = result.deps;
  return {
    exitCode: result.exitCode,
    reads: d.reads,
    writes: d.writes,
    deleted: d.deleted,
    absent: d.absent,
    listed: d.listed,
    executed: d.executed,
    untraced: d.untraced.map((u) => u.path),
  };
}

export async function traceMain(argv: string[], out = process.stdout): Promise<number> {
  const dash = argv.indexOf('--');
  const own = dash >= 0 ? argv.slice(0, dash) : argv;
  const command = dash >= 0 ? argv.slice(dash + 1) : [];
  const { values, positionals } = parseArgs({
    args: own,
    options: { json: { type: 'boolean' }, all: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
    allowPositionals: true,
    strict: true,
  });
  if (values.help) {
    out.write(TRACE_HELP + '\n');
    return 0;
  }
  if (dash < 0) command.push(...positionals);
  else if (positionals.length) throw new UsageError(`unexpected argument "${positionals[0]}" before "--"`, 'put the command to trace after "--"');
  if (command.length === 0) throw new UsageError('no command to trace', 'example: prov-make trace -- make -j2');

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

/** Human output: one group per kind, workspace paths relative, outside paths collapsed. */
export function formatTrace(result: TraceResult, cwd: string, { all }: { all: boolean }): string {
  const d = result.deps;
  const inside = (p: string) => p === cwd || p.startsWith(cwd + sep);
  const show = (p: string) => (inside(p) ? relative(cwd, p) || '.' : p);
  const lines: string[] = [];
  const status = result.signal ? `killed by ${result.signal}` : `exit code ${result.exitCode}`;
  lines.push(`\nprov-make trace: ${status}, ${((result.finishedAt - result.startedAt) / 1000).toFixed(2)} s`);
  const group = (title: string, paths: string[], note?: (p: string) => string) => {
    if (paths.length === 0) return;
    const mine = all ? paths : paths.filter(inside);
    const hidden = paths.length - mine.length;
    lines.push(`  ${title} (${paths.length})`);
    for (const p of mine) lines.push(`    ${show(p)}${note ? note(p) : ''}`);
    if (hidden > 0) lines.push(`    … and ${hidden} outside ${cwd} (--all lists them)`);
  };
  group('read', d.reads);
  group('written', d.writes);
  group('deleted', d.deleted);
  group('absent (looked up, not found)', d.absent);
  group('listed', d.listed);
  const programs = d.executed.filter((p) => !/\.so(\.|$)/.test(p));
  const libraries = d.executed.length - programs.length;
  if (d.executed.length) {
    lines.push(`  executed (${programs.length} programs, ${libraries} libraries)`);
    for (const p of all ? d.executed : programs) lines.push(`    ${show(p)}`);
    if (!all && libraries) lines.push(`    … and ${libraries} shared libraries (--all lists them)`);
  }
  if (d.untraced.length) {
    lines.push(`  untraced: not observed, the trace is incomplete (${d.untraced.length})`);
    for (const u of d.untraced) lines.push(`    ${show(u.path)}  (${u.reason === 'static' ? 'statically linked' : u.reason})`);
  }
  return lines.join('\n') + '\n';
}
