/** `prov-make clean [STEP...] [--dry-run] [--json]`: remove the files the steps produced, as recorded. */
import { isAbsolute, join, relative } from 'node:path';
import { pathOfKey } from '@prov-make/cache/workspace-key';
import { displayPath } from '../format/terminal-text.js';
import { parseArgs } from 'node:util';
import { EXIT_OK } from '../usage.js';
import type { CleanResult, KeptItem } from '../workspace/clean.js';
import { openWorkspace } from '../workspace/workspace.js';
import type { CommandModule } from './command.js';
import { asUsageError } from './run.js';
import { pipelineFileAndRest } from './workspace-args.js';

export const CLEAN_HELP = `usage: prov-make clean [pipeline.yml] [STEP...] [--dry-run] [--json]

Removes the files the steps produced (all steps, or the named ones; a foreach step's name stands for
its items), as their traces recorded them, and lists them. It never removes anything outside the
workspace or under a symlinked folder, nor a file a step read as a source, nor one a step changed
in place (it was there before the step first wrote it), nor one changed since the step wrote it (a
hand edit): those are listed as kept, with the reason. Folders a step made go when empty. Steps
that are no longer in the pipeline count too when no STEP is named. The next \`run\` restores from
the cache what it holds (\`run --force\` runs the steps instead).

  -n, --dry-run    list what would be removed; remove nothing
  --json           one JSON object: {"removed": [{"path", "step", "kind"}], "kept": [{..., "why"}]}
  -f, --file FILE  the pipeline file (default: ./pipeline.yml or the nearest in a parent folder)`;

const CLEAN_OPTIONS = {
  'dry-run': { type: 'boolean', short: 'n' },
  json: { type: 'boolean' },
  file: { type: 'string', short: 'f' },
  help: { type: 'boolean', short: 'h' },
} as const;

export const CLEAN: CommandModule = { main: cleanMain, options: CLEAN_OPTIONS, operands: 'steps' };

export async function cleanMain(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, options: CLEAN_OPTIONS, allowPositionals: true, strict: true });
  if (values.help) return void process.stdout.write(CLEAN_HELP + '\n'), EXIT_OK;
  const { file, rest: targets } = pipelineFileAndRest(positionals, values.file);
  const ws = openWorkspace(file);
  const dryRun = Boolean(values['dry-run']);
  const [{ WorkspaceLock }, { cleanOutputs }, { stepIndexes }, { forgetSnapshot }] = await Promise.all([
    import('../workspace/lock.js'), import('../workspace/clean.js'), import('../engine/targets.js'), import('../engine/snapshot.js'),
  ]);
  const pipeline = await ws.pipeline();
  let result: CleanResult;
  try {
    const chosen = stepIndexes(pipeline, targets).map((i) => pipeline.steps[i].name);
    const stores = await ws.openStores();
    const all = [...new Set([...pipeline.steps.map((s) => s.name), ...stores.deps.stepNames()])];
    const lock = dryRun ? null : await WorkspaceLock.acquire(ws.paths.stateDir, { wait: true });
    try {
      result = await cleanOutputs(ws.paths.root, stores, targets.length ? chosen : all, all, dryRun);
      if (!dryRun && result.removed.length) forgetSnapshot(ws.paths.stateDir);
    } finally {
      lock?.release();
    }
  } catch (err) {
    throw asUsageError(err);
  } finally {
    await ws.close();
  }
  process.stdout.write(values.json ? JSON.stringify(result) + '\n' : formatClean(result, dryRun, ws.paths.root));
  return EXIT_OK;
}

const WHY: Record<KeptItem['why'], (k: KeptItem) => string> = {
  outside: () => 'outside the workspace (or under a symlinked folder)',
  source: (k) => `step ${k.by} reads it as a source (a version no step made)`,
  updated: () => 'it was there before the step changed it in place',
  edited: (k) => `changed since step ${k.step} wrote it (remove it yourself if you mean to)`,
  'not-empty': () => 'the folder is not empty',
};

function formatClean(r: CleanResult, dryRun: boolean, root: string): string {
  const shown = (key: string) => {
    const p = pathOfKey(key);
    return displayPath(isAbsolute(p) ? p : relative(process.cwd(), join(root, p)) || '.');
  };
  let s = '';
  for (const x of r.removed) s += `${dryRun ? 'would remove' : 'removed'} ${shown(x.path)}${x.kind === 'folder' ? '/' : ''} (step ${x.step})\n`;
  for (const k of r.kept) s += `kept ${shown(k.path)}${k.kind === 'folder' ? '/' : ''}: ${WHY[k.why](k)}\n`;
  const files = r.removed.filter((x) => x.kind === 'file').length;
  s += `${dryRun ? 'would remove' : 'removed'} ${files} file(s) and ${r.removed.length - files} folder(s)${r.kept.length ? `; kept ${r.kept.length}` : ''}\n`;
  return s;
}
