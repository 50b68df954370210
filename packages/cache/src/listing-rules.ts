/**
 * Listing rules: a folder listing narrowed by the lister's own lookup rules (DESIGN 2). A program
 * that lists a folder only to look up names of one kind depends on those names alone: Python's
 * import system lists each folder on sys.path, but only an importable name can change what an
 * import finds. The trace says who listed a folder and in which role (the interposer's reducer picks
 * the rule: packages/interposer); this table says which entries count under each rule, identically
 * when a listing is recorded, checked, keyed in the cache and in the no-op snapshot.
 *
 * Soundness: a rule may leave out only names its lister cannot act on. A folder also listed with no
 * rule (user code: os.listdir, glob) counts every entry: the reducer drops the rule then.
 */
import { join } from 'node:path';
import type { Disk } from './disk.js';

export interface ListingRule {
  /** What the rule is for, as the README documents it. */
  about: string;
  /**
   * The lister also resolves names of its own from the listing of a folder it reads files from
   * (esbuild: `./util` is looked up among src/'s entries): there, every entry counts.
   */
  wholeWhereFilesRead?: boolean;
  /**
   * Whether an entry can change what the lister does. `isFolder` is asked only for names that
   * could be either (an extensionless identifier is a package folder, never a module file).
   */
  counts(name: string, isFolder: () => boolean): boolean;
}

/**
 * A module file as importlib's FileFinder looks one up: a module name (no dot: a dot names a
 * package path; any other character, as importlib.import_module takes any) and one of
 * importlib.machinery.all_suffixes(): source, byte code, extension modules with any ABI tag.
 */
const ESBUILD_LOOKUPS = new Set(['package.json', 'tsconfig.json', 'jsconfig.json', 'node_modules', '.pnp.js', '.pnp.cjs', '.pnp.data.json']);

const MODULE_FILE = /^[^.]+(\.py|\.pyw|\.pyc|(\.[^.]+)?\.so)$/;

export const LISTING_RULES: Readonly<Record<string, ListingRule>> = {
  'python-import': {
    about: "Python's import system on a sys.path folder: module files (.py, .pyc, .pyw, extension modules), package folders, .pth files",
    // a folder without a dot in its name can be a package (a namespace one needs no __init__.py)
    counts: (name, isFolder) => name.endsWith('.pth') || MODULE_FILE.test(name) || (!name.includes('.') && name !== '__pycache__' && isFolder()),
  },
  'python-site': {
    about: "Python's site module on a site-packages folder: .pth files",
    counts: (name) => name.endsWith('.pth'),
  },
  'esbuild-resolve': {
    about: "esbuild on each folder from an importer up to /: package.json, tsconfig.json, jsconfig.json, node_modules, Yarn's .pnp files; every entry of a folder it reads sources from",
    counts: (name) => ESBUILD_LOOKUPS.has(name),
    wholeWhereFilesRead: true,
  },
};

/**
 * A rule that carries the names its lister looked up in the folder (`python-lookups/csv/json`):
 * Python's import system, whose lookups the interposer reports (native/python.c). FileFinder
 * answers a lookup of `csv` from the entries `csv` (a package folder) and `csv.<suffix>`: an entry
 * counts when the part of its name before the first dot was looked up.
 */
const LOOKUPS_PREFIX = 'python-lookups/';

function lookupsRule(rule: string): ListingRule {
  const names = new Set(rule.slice(LOOKUPS_PREFIX.length).split('/').filter(Boolean));
  return { about: "Python's import system on a sys.path folder: entries named after a module it looked up there", counts: (name) => names.has(name.split('.')[0]) };
}

/** The rule a listing rule's name stands for, or undefined when this version does not know it. */
export function listingRule(rule: string): ListingRule | undefined {
  return rule.startsWith(LOOKUPS_PREFIX) || rule === LOOKUPS_PREFIX.slice(0, -1) ? lookupsRule(rule) : LISTING_RULES[rule];
}

/**
 * The rules a listing keeps, given the names of the files the step read in that folder: a rule that
 * wants the whole listing where its lister read a file it does not look up there is dropped (with
 * every other rule of the folder: then every entry counts).
 */
export function rulesAfterReads(rules: readonly string[] | undefined, namesRead: readonly string[]): string[] | undefined {
  if (!rules?.length) return undefined;
  const whole = rules.some((name) => {
    const r = listingRule(name);
    return r?.wholeWhereFilesRead && namesRead.some((n) => !r.counts(n, () => false));
  });
  return whole ? undefined : [...rules];
}

/**
 * The entries of `absDir` a listing under `rules` counts, as a filter; undefined when every entry
 * counts (no rule, or one this version does not know: counting everything is always sound).
 */
export function listingFilter(rules: readonly string[] | undefined, isFolder: (name: string) => boolean): ((name: string) => boolean) | undefined {
  if (!rules?.length) return undefined;
  const known = rules.map(listingRule);
  if (known.some((r) => r === undefined)) return undefined;
  return (name) => known.some((r) => r!.counts(name, () => isFolder(name)));
}

/**
 * The entry names of a folder's listing that count, sorted: not left out (the step's own outputs,
 * later steps', ignored paths) and counted by its rules. null: not a readable folder.
 */
export function countedEntries(disk: Pick<Disk, 'readdir' | 'lstat'>, absDir: string, rules: readonly string[] | undefined, leftOut: (name: string) => boolean): string[] | null {
  const all = disk.readdir(absDir);
  // narrowed, a folder that is not there holds none of the names that count (a clone elsewhere)
  if (all === null) return rules?.length && !disk.lstat(absDir) ? [] : null;
  const counts = listingFilter(rules, (name) => disk.lstat(join(absDir, name))?.isDirectory() ?? false);
  return all.filter((name) => !leftOut(name) && (!counts || counts(name))).sort();
}
