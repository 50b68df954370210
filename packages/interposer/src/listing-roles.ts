/**
 * Listings narrowed by their lister's lookup rules (DESIGN 2): which listing rule of
 * @prov-make/cache (listing-rules.ts, the one table of what each rule counts) a folder's listings
 * get. One mechanism, keyed by the role a listing was made in (native/python.c gives Python's import
 * system and site module theirs) or else by the program that listed (a module resolver that lists
 * folders only to look for a few names).
 *
 * A folder listed without a rule too (user code's os.listdir, glob, ls) counts every entry.
 */
import { basename } from 'node:path';
import { RECORD } from './types.js';

/** The rule of listings whose lister reports the names it looked up there; written with them: python-lookups/csv/json. */
const LOOKUPS_RULE = 'python-lookups';

/** Listing role (a `listed` record's ARG) -> the listing rule it stands for. */
export const ROLE_RULES: Readonly<Record<string, string>> = {
  [RECORD.listed.pythonImport]: 'python-import',
  [RECORD.listed.pythonSite]: 'python-site',
  [RECORD.listed.pythonLookups]: LOOKUPS_RULE,
};

/** Program (its file name) -> the rule of every listing it makes: esbuild looks for package.json and the like. */
export const PROGRAM_RULES: Readonly<Record<string, string>> = {
  esbuild: 'esbuild-resolve',
};

/** The rules a folder was listed under; null once it was listed without one. */
export type FolderRoles = Map<string, Set<string> | null>;

/** A `listed` record (its ARG, the program of its process), added to what is known of its folder. */
export function noteListing(roles: FolderRoles, folder: string, arg: string, program: string | undefined): void {
  const rule = ROLE_RULES[arg] ?? (program === undefined ? undefined : PROGRAM_RULES[basename(program)]);
  const had = roles.get(folder);
  if (had === null) return;
  if (rule === undefined) roles.set(folder, null);
  else roles.set(folder, new Set([...(had ?? []), rule]));
}

/**
 * The listing rules of each folder listed under rules only, for StepDependencies.listingRules;
 * `lookedUp`: folder -> the names looked up there (PM_LOOKED_UP records), which the lookups rule
 * carries.
 */
export function listingRules(roles: FolderRoles, lookedUp: ReadonlyMap<string, ReadonlySet<string>>, keep: (folder: string) => boolean): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [folder, rules] of roles) {
    if (!rules || !keep(folder)) continue;
    out[folder] = [...rules].map((r) => (r === LOOKUPS_RULE ? [LOOKUPS_RULE, ...[...(lookedUp.get(folder) ?? [])].sort()].join('/') : r)).sort();
  }
  return out;
}
