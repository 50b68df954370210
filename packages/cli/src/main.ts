/** The `prov-make` command: a thin layer that parses arguments and calls the library. */
import { EXIT_USAGE, SYNOPSIS, UsageError } from './usage.js';

type Command = (argv: string[]) => Promise<number>;

const commands: Record<string, () => Promise<Command>> = {
  trace: async () => (await import('./commands/trace.js')).traceMain,
  run: async () => (await import('./commands/run.js')).runMain,
  status: async () => (await import('./commands/run.js')).statusMain,
  why: async () => (await import('./commands/why.js')).whyMain,
  log: async () => (await import('./commands/log.js')).logMain,
  show: async () => (await import('./commands/log.js')).showMain,
  diff: async () => (await import('./commands/log.js')).diffMain,
  graph: async () => (await import('./commands/graph.js')).graphMain,
  cache: async () => (await import('./commands/cache.js')).cacheMain,
};

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    (name ? process.stdout : process.stderr).write(SYNOPSIS + '\n');
    return name ? 0 : EXIT_USAGE;
  }
  if (name === '--version' || name === '-V') {
    process.stdout.write('prov-make 0.1.0\n');
    return 0;
  }
  const load = commands[name];
  if (!load) {
    process.stderr.write(`prov-make: unknown command "${name}"\n\n${SYNOPSIS}\n`);
    return EXIT_USAGE;
  }
  try {
    return await (await load())(rest);
  } catch (err) {
    return reportError(friendlier(err, name));
  }
}

/** Node's parseArgs messages, said the way the rest of the tool speaks. */
function friendlier(err: unknown, command: string): unknown {
  const e = err as { code?: string; message?: string };
  const hint = `see \`prov-make ${command} --help\``;
  if (e?.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
    const option = /option '([^']+)'/.exec(e.message ?? '')?.[1] ?? 'that option';
    return new UsageError(`prov-make ${command} has no option ${option}`, hint);
  }
  if (e?.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') return new UsageError((e.message ?? '').replace(/^Option /, 'option '), hint);
  if (e?.code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') return new UsageError(`prov-make ${command} takes no such argument (${e.message})`, hint);
  return err;
}

export function reportError(err: unknown): number {
  if (err instanceof UsageError || (err as { code?: string })?.code?.startsWith?.('ERR_PARSE_ARGS')) {
    const e = err as UsageError;
    process.stderr.write(`prov-make: error: ${e.message}\n`);
    if (e.hint) process.stderr.write(`  hint: ${e.hint}\n`);
    return EXIT_USAGE;
  }
  const formatted = (err as { format?: () => string })?.format;
  if (typeof formatted === 'function') {
    process.stderr.write(`${formatted.call(err)}\n`);
    return EXIT_USAGE;
  }
  throw err;
}
