/** The `prov-make` command: a thin layer that parses arguments and calls the library. */
import { suggest } from './pipeline/suggest.js';
import type { CommandModule } from './commands/command.js';
import { COMMANDS, commandNamed } from './commands/registry.js';
import { EXIT_USAGE, friendlier, reportError, SYNOPSIS, UsageError } from './usage.js';

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
