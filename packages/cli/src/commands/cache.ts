/** `prov-make cache stats | verify | gc --max-size SIZE` on the content cache folder. */
import { parseArgs } from 'node:util';
import { collectGarbage, ContentStore, LocalActionCache } from '@prov-make/cache';
import { formatSize } from '../format/units.js';
import { UsageError, EXIT_OK } from '../usage.js';
import { makeStateDirs, workspacePaths } from '../workspace/paths.js';
import type { CommandModule } from './command.js';
import { parseSize } from './remote-options.js';
import { findPipelineFile } from './workspace-args.js';

export const CACHE_HELP = `usage: prov-make cache stats
       prov-make cache verify
       prov-make cache gc --max-size SIZE        (SIZE like 500M, 2G, 100000)

The content cache: stats counts objects and entries; verify re-hashes every object and drops
corrupt ones; gc removes least recently used objects until the cache fits in SIZE, keeping the
outputs of every step's last execution.
  --cache-dir DIR   the cache folder (default .prov-make/cache; or PROV_MAKE_CACHE_DIR)
  -f, --file FILE   the pipeline file`;

const CACHE_OPTIONS = { 'max-size': { type: 'string' }, 'cache-dir': { type: 'string' }, json: { type: 'boolean' }, file: { type: 'string', short: 'f' }, help: { type: 'boolean', short: 'h' } } as const;

export const CACHE: CommandModule = { main: cacheMain, options: CACHE_OPTIONS, operands: ['stats', 'verify', 'gc'] };

export async function cacheMain(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, options: CACHE_OPTIONS, allowPositionals: true, strict: true });
  const sub = positionals[0];
  if (values.help || !sub) {
    process.stdout.write(CACHE_HELP + '\n');
    return values.help ? EXIT_OK : 2;
  }
  const ws = workspacePaths(findPipelineFile(process.cwd(), values.file), { cacheDir: values['cache-dir'] });
  makeStateDirs(ws);
  const store = new ContentStore(ws.cacheDir);
  try {
    return await cacheCommand(sub, store, ws, Boolean(values.json), values['max-size']);
  } finally {
    await store.close();
  }
}

async function cacheCommand(sub: string, store: ContentStore, ws: ReturnType<typeof workspacePaths>, json: boolean, maxSize: string | undefined): Promise<number> {
  const out = (s: string) => process.stdout.write(s + '\n');
  switch (sub) {
    case 'stats': {
      const s = await store.stats();
      const ac = new LocalActionCache(ws.cacheDir).stats();
      if (json) out(JSON.stringify({ dir: ws.cacheDir, objects: s.objects, bytes: s.bytes, entries: ac.entries }));
      else out(`${ws.cacheDir}: ${s.objects} objects, ${formatSize(s.bytes)}; ${ac.entries} cache entries`);
      return EXIT_OK;
    }
    case 'verify': {
      const removed = await store.verify();
      if (json) out(JSON.stringify({ removed }));
      else out(removed.length ? `removed ${removed.length} corrupt object(s): ${removed.join(', ')}` : 'every object matches its hash');
      return EXIT_OK;
    }
    case 'gc': {
      if (!maxSize) throw new UsageError('cache gc needs --max-size SIZE', 'example: prov-make cache gc --max-size 2G');
      await store.close(); // gc opens the store itself
      const r = await collectGarbage(ws, parseSize(maxSize, '--max-size'));
      if (json) out(JSON.stringify(r));
      else out(`removed ${r.removed.length} object(s), freed ${formatSize(r.freedBytes)}; ${r.objects} object(s), ${formatSize(r.bytes)} left`);
      return EXIT_OK;
    }
    default:
      throw new UsageError(`unknown cache command "${sub}"`, 'use stats, verify or gc');
  }
}
