/** `log --prune` for people. */
import type { PruneResult } from '@prov-make/cache';
import { formatSize } from './units.js';

export function formatPrune(r: PruneResult, dryRun: boolean): string {
  const verb = dryRun ? 'would forget' : 'forgot';
  let s = `${verb} ${r.removed.length} execution(s), ${r.kept} kept\n`;
  if (r.objects.length) s += `${dryRun ? 'would remove' : 'removed'} ${r.objects.length} object(s) only they used from the cache${dryRun ? '' : `, freed ${formatSize(r.freedBytes)}`}\n`;
  return s;
}
