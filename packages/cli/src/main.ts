/** The `prov-make` command: a thin layer that parses arguments and calls the library. */
import { EXIT_USAGE, friendlier, reportError, SYNOPSIS } from './usage.js';

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
