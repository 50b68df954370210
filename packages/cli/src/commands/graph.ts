/** `prov-make graph [--dot|--prov|--json] [--all-history]`: the recorded provenance graph. */
import { parseArgs } from 'node:util';
import { graphJson } from '../format/history.js';
import { executionsToDot, executionsToProv } from '../provenance/export.js';
import { graphExecutions } from '../provenance/history.js';
import { UsageError, EXIT_OK } from '../usage.js';
import type { CommandModule } from './command.js';
import { openRecorded } from './workspace-args.js';

export const GRAPH_HELP = `usage: prov-make graph [--dot | --prov | --json] [--all-history] [--system]

The provenance graph of the last execution of every step in pipeline.yml (or of every execution
ever recorded, with --all-history): DOT for Graphviz (default), W3C PROV-JSON, or plain JSON.
--system includes compilers, interpreters and libraries in the DOT graph.`;

const GRAPH_OPTIONS = {
  dot: { type: 'boolean' }, prov: { type: 'boolean' }, json: { type: 'boolean' },
  'all-history': { type: 'boolean' }, system: { type: 'boolean' },
  file: { type: 'string', short: 'f' }, help: { type: 'boolean', short: 'h' },
} as const;

export const GRAPH: CommandModule = { main: graphMain, options: GRAPH_OPTIONS };

export async function graphMain(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: GRAPH_OPTIONS, strict: true });
  if (values.help) return void process.stdout.write(GRAPH_HELP + '\n'), EXIT_OK;
  if ([values.dot, values.prov, values.json].filter(Boolean).length > 1) throw new UsageError('choose one of --dot, --prov, --json');
  const ws = openRecorded(values.file);
  try {
    const pipeline = await ws.pipeline().catch(() => null);
    const executions = graphExecutions((await ws.openStores()).history, pipeline, Boolean(values['all-history']));
    if (values.prov) process.stdout.write(JSON.stringify(executionsToProv(executions), null, 2) + '\n');
    else if (values.json) process.stdout.write(JSON.stringify(graphJson(executions)) + '\n');
    else process.stdout.write(executionsToDot(executions, [], { system: values.system }));
    return EXIT_OK;
  } finally {
    await ws.close();
  }
}
