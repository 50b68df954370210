/** The `prov-make` command: a thin layer that parses arguments and calls the library. */
import { suggest } from './pipeline/suggest.js';
import type { CommandModule } from './commands/command.js';
import { COMMANDS, commandNamed } from './commands/registry.js';
import { systemFaultOf } from './system-fault.js';
import { EXIT_FAILED, EXIT_USAGE, SYNOPSIS, UsageError } from './usage.js';

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
  const entry = commandNamed(name);
  if (!entry) {
    const guess = suggest(name, COMMANDS.filter((c) => !c.hidden).map((c) => c.name));
    return reportError(new UsageError(`unknown command "${name}"${guess ? `. Did you mean "${guess}"?` : ''}`, guess ? `prov-make ${guess} ${rest.join(' ')}`.trimEnd() : 'see `prov-make --help` for the commands'));
  }
  let command: CommandModule | undefined;
  try {
    command = await entry.load();
    return await command.main(rest);
  } catch (err) {
    return reportError(friendlier(err, name, command));
  }
}

/** Node's parseArgs messages, said the way the rest of the tool speaks, with a did-you-mean. */
function friendlier(err: unknown, name: string, command: CommandModule | undefined): unknown {
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
