/** `prov-make init [FOLDER]`: a commented pipeline.yml to start from, and `.prov-make/` in .gitignore. */
import { appendFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_PIPELINE_FILE, STATE_DIR_NAME } from '../workspace/paths.js';
import { UsageError, EXIT_OK } from '../usage.js';
import type { CommandModule } from './command.js';

export const INIT_HELP = `usage: prov-make init [FOLDER]

Writes a commented ${DEFAULT_PIPELINE_FILE} in FOLDER (default: here) to start from, and adds
${STATE_DIR_NAME}/ (prov-make's state and cache) to its .gitignore. An existing ${DEFAULT_PIPELINE_FILE}
is never overwritten.`;

const INIT_OPTIONS = { help: { type: 'boolean', short: 'h' } } as const;

export const INIT: CommandModule = { main: initMain, options: INIT_OPTIONS, operands: 'files' };

/** The starting pipeline: every key, explained where it is written. */
const STARTER_PIPELINE = `# prov-make pipeline: named steps, each a shell command. Declare no inputs or outputs:
# prov-make traces what each step reads and writes, and next time runs only the steps
# whose inputs changed. \`prov-make run\` runs, \`prov-make status\` says what would run and
# why, \`prov-make watch\` runs again on every edit, \`prov-make why FILE\` explains a file.

# env:                      # set for every step (and part of each step's identity)
#   LC_ALL: C
# ignore: ["/tmp/**"]       # paths never taken as dependencies (globs)

steps:
  hello:
    run: echo "hello from prov-make" > hello.txt
    # cwd: sub/folder       # where it runs (default: this file's folder)
    # env: { NAME: value }  # variables for this step only
    # needs: [other]        # steps (written above) that must run first

  shout:
    run: tr a-z A-Z < hello.txt > HELLO.txt

  # One step per file: {item} is the path, {name} the file name, {stem} the name without
  # its extension. Each item is its own step (e.g. "convert.a.csv"), traced and cached alone.
  # convert:
  #   foreach: data/*.csv
  #   run: python3 convert.py {item} > out/{stem}.json
`;

export async function initMain(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, options: INIT_OPTIONS, allowPositionals: true, strict: true });
  if (values.help) return void process.stdout.write(INIT_HELP + '\n'), EXIT_OK;
  if (positionals.length > 1) throw new UsageError('init takes at most one FOLDER');
  const dir = resolve(positionals[0] ?? '.');
  if (!existsSync(dir)) throw new UsageError(`no folder ${dir}`, 'make it first, or run init inside it');
  const file = join(dir, DEFAULT_PIPELINE_FILE);
  const shown = relative(process.cwd(), file) || file;
  if (existsSync(file)) throw new UsageError(`${shown} exists already; init never overwrites it`, 'edit it, or remove it first to start over');
  writeFileSync(file, STARTER_PIPELINE, { flag: 'wx' });
  process.stdout.write(`wrote ${shown}\n`);
  if (ignoreStateDir(join(dir, '.gitignore'))) process.stdout.write(`added ${STATE_DIR_NAME}/ to ${relative(process.cwd(), join(dir, '.gitignore')) || '.gitignore'}\n`);
  process.stdout.write(`next: prov-make run${positionals[0] ? ` ${shown}` : ''}\n`);
  return EXIT_OK;
}

/** Adds `.prov-make/` to a .gitignore (made if missing) unless a line ignores it already. */
function ignoreStateDir(gitignore: string): boolean {
  const text = existsSync(gitignore) ? readFileSync(gitignore, 'utf8') : '';
  const lines = text.split(/\r?\n/).map((l) => l.trim());
  if (lines.some((l) => [STATE_DIR_NAME, `${STATE_DIR_NAME}/`, `/${STATE_DIR_NAME}`, `/${STATE_DIR_NAME}/`].includes(l))) return false;
  appendFileSync(gitignore, `${text === '' || text.endsWith('\n') ? '' : '\n'}${STATE_DIR_NAME}/\n`);
  return true;
}
