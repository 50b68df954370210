/** What a command is to the dispatcher, to did-you-mean and to shell completion. */
import type { ParseArgsConfig } from 'node:util';

export type OptionTable = NonNullable<ParseArgsConfig['options']>;

export interface CommandModule {
  main(argv: string[]): Promise<number>;
  /** Its options, as given to parseArgs: the names did-you-mean and completion offer. */
  options: OptionTable;
  /** What its positionals are, for completion: step names, files, or fixed words. */
  operands?: 'steps' | 'files' | readonly string[];
}

export interface CommandEntry {
  name: string;
  /** Kept out of help and completion (`__complete`). */
  hidden?: boolean;
  load(): Promise<CommandModule>;
}
