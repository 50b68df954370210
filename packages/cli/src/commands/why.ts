/** `prov-make why FILE [--json] [--depth N] [--uses GLOB] [--all] [--prov|--dot]`. */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { formatWhy, whyJson } from '../format/why.js';
import { terminalText } from '../format/terminal-text.js';
import { lineageToDot, lineageToProv } from '../provenance/export.js';
import { usesChains, type WhyAnswer } from '../provenance/why.js';
import { UsageError, EXIT_FAILED, EXIT_OK } from '../usage.js';
import { shownPath } from '../workspace/paths.js';
import { openWorkspace } from '../workspace/workspace.js';
import type { CommandModule } from './command.js';
import { findPipelineFile } from './workspace-args.js';

export const WHY_HELP = `usage: prov-make why FILE [options]

Which step and command made FILE, from which input versions, down to the sources; whether it is up
to date now, and if not, which change made it stale.

  --depth N        expand at most N levels of steps
  --all            list system files (compilers, interpreters, libraries) instead of grouping them
  --uses GLOB      exit 0 and print the chain if FILE derives from a file matching GLOB, else exit 1
  --json           one JSON object on stdout
  --prov           W3C PROV-JSON of FILE's lineage
  --dot            Graphviz DOT of FILE's lineage
  -f, --file FILE  the pipeline file (default: ./pipeline.yml or the nearest in a parent folder)
Exit code: 0 answered, 1 no record of FILE (or --uses found nothing), 2 bad usage.`;

const WHY_OPTIONS = {
  depth: { type: 'string' },
  all: { type: 'boolean' },
  uses: { type: 'string' },
  json: { type: 'boolean' },
  prov: { type: 'boolean' },
  dot: { type: 'boolean' },
  file: { type: 'string', short: 'f' },
  help: { type: 'boolean', short: 'h' },
} as const;

export const WHY: CommandModule = { main: whyMain, options: WHY_OPTIONS, operands: 'files' };

export async function whyMain(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, options: WHY_OPTIONS, allowPositionals: true, strict: true });
  if (values.help) {
    process.stdout.write(WHY_HELP + '\n');
    return EXIT_OK;
  }
  if (positionals.length !== 1) throw new UsageError(positionals.length ? 'why takes one FILE' : 'which file? usage: prov-make why FILE');
  let depth: number | undefined;
  if (values.depth !== undefined) {
    depth = Number(values.depth);
    if (!Number.isInteger(depth) || depth < 0) throw new UsageError(`--depth expects a whole number, not "${values.depth}"`);
  }
  const ws = openWorkspace(findPipelineFile(process.cwd(), values.file));
  try {
    // A pipeline that loads is planned (state is made); otherwise there must be history to answer from.
    const loads = await ws.pipeline().then(() => true, () => false);
    if (!loads && !existsSync(ws.paths.stateDir)) throw new UsageError(`nothing recorded yet for ${ws.paths.pipelineFile}`, 'run `prov-make run` first');
    const answer = await ws.explainFile(resolve(positionals[0]));
    const stored = answer.path;
    if (!answer.known && !answer.exists) {
      process.stderr.write(`prov-make: no record of ${shownPath(stored)}: no step of ${ws.paths.pipelineFile} read or wrote it, and it does not exist\n`);
      return EXIT_FAILED;
    }
    if (!answer.known) {
      process.stderr.write(`prov-make: no record of ${shownPath(stored)}: no step read or wrote it\n`);
      if (!values.json) return EXIT_FAILED;
    }
    if (values.uses !== undefined) return printUses(answer, values.uses, Boolean(values.json));
    if (values.prov) process.stdout.write(JSON.stringify(lineageToProv([answer.lineage]), null, 2) + '\n');
    else if (values.dot) process.stdout.write(lineageToDot([answer.lineage]));
    else if (values.json) process.stdout.write(JSON.stringify(whyJson(answer, depth)) + '\n');
    else process.stdout.write(terminalText(formatWhy(answer, { all: values.all, depth })));
    return answer.known ? EXIT_OK : EXIT_FAILED;
  } finally {
    await ws.close();
  }
}

function printUses(answer: WhyAnswer, glob: string, json: boolean): number {
  const chains = usesChains(answer, glob);
  if (json) process.stdout.write(JSON.stringify({ path: answer.path, uses: glob, found: chains.length > 0, chains }) + '\n');
  else if (chains.length) for (const c of chains) process.stdout.write(c.map(shownPath).join(' -> ') + '\n');
  else process.stdout.write(`${shownPath(answer.path)} does not derive from anything matching ${glob}\n`);
  return chains.length ? EXIT_OK : EXIT_FAILED;
}
