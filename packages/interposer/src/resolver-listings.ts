/**
 * Folder listings that a module resolver makes only to look for a few names. esbuild reads the
 * entries of every folder from an importer up to / to find package.json, tsconfig.json,
 * jsconfig.json, node_modules and Yarn's .pnp files; it never probes a name. Of a folder none of
 * whose files the step read, such a listing stands for those names alone: each one there was read
 * (and is an input), each one missing becomes an absence. So a file appearing beside the project
 * (in /home/me, in /tmp) reruns nothing, and a clone at another path restores from the cache; a
 * folder the step read a source of (src/, where `./util` resolves) keeps its whole listing.
 */
import { basename } from 'node:path';
import type { IdSet, PathTable } from './path-table.js';

/** Program (file name) -> the names its listing of a folder looks for. */
export const RESOLVER_LOOKUPS: ReadonlyMap<string, readonly string[]> = new Map([
  ['esbuild', ['package.json', 'tsconfig.json', 'jsconfig.json', 'node_modules', '.pnp.js', '.pnp.cjs', '.pnp.data.json']],
]);

/** The names a listing by `program` (its executable's path) looks for, or undefined: all of them. */
export function resolverLookups(program: string | undefined): readonly string[] | undefined {
  return program === undefined ? undefined : RESOLVER_LOOKUPS.get(basename(program));
}

/**
 * Folds the resolver listings into the step's listings and absences: `listed` and `absent` grow.
 * `readFiles`: the files the step read (not folders); `exists`: whether a path is there at the end.
 */
export function foldResolverListings(
  paths: PathTable,
  resolverListed: ReadonlyMap<number, readonly string[]>,
  readFiles: IdSet,
  exists: (id: number) => boolean,
  listed: IdSet,
  absent: IdSet,
): void {
  if (resolverListed.size === 0) return;
  const readIn = new Map<number, string[]>();
  for (const id of readFiles.ids()) {
    const dir = paths.folderOf(id);
    if (dir !== null) readIn.set(dir, [...(readIn.get(dir) ?? []), basename(paths.path(id))]);
  }
  for (const [dir, names] of resolverListed) {
    if (listed.has(dir)) continue;
    // a source read there (not one of the names it looks for): imports resolve against all entries
    if (readIn.get(dir)?.some((name) => !names.includes(name))) {
      listed.add(dir);
      continue;
    }
    const folder = paths.path(dir);
    for (const name of names) {
      const id = paths.idOf(folder === '/' ? `/${name}` : `${folder}/${name}`);
      if (!exists(id)) absent.add(id);
    }
  }
}
