/**
 * `foreach:` fans a step out over files or values, as dvc.yaml's foreach and Snakemake's wildcards
 * do: one step per item, named `<step>.<key>` (convert.a.csv), with `{item}`, `{name}` and `{stem}`
 * put in its `run`. Each item is a step like any other: traced, cached and explained on its own.
 *
 * The template is parsed (and kept in the parse cache) as written; the items are found each time the
 * pipeline loads, so a new matching file adds a step and a removed one drops it. A glob is matched
 * against the workspace (files only; names starting with "." are left out, as by the shell); the
 * folders walked are listed with their tokens, so the no-op snapshot notices a new match.
 */
import { readdirSync, statSync, type Dirent } from 'node:fs';
import * as path from 'node:path';
import picomatch from 'picomatch';
import { isScalar, isSeq, type Pair } from 'yaml';
import { listingToken } from '@prov-make/cache/version-token';
import { PipelineError, type SourcePosition } from './errors.js';
import { RUN_FIX, runProblem, STEP_NAME_FIX, stepNameProblem } from './limits.js';
import type { NodeReader } from './node-reader.js';
import { suggest } from './suggest.js';
import type { ForeachSpec, Pipeline, Step } from './types.js';

export const PLACEHOLDERS = ['item', 'name', 'stem'] as const;

/** The state folder and names starting with "." are never walked or matched. */
const HIDDEN = /^\./;

export function readForeach(r: NodeReader, pair: Pair<unknown, unknown>, owner: string): ForeachSpec {
  const value = r.deref(pair.value);
  const example = 'e.g. foreach: data/*.csv, or foreach: [small, large]';
  if (r.isMissing(value)) r.fail('bad-foreach', r.valuePosition(pair), `foreach in ${owner} is empty`, `give a glob or a list of items, ${example}`);
  const at = r.position(value);
  if (isScalar(value) && typeof value.value === 'string') return { glob: checkGlob(r, value.value, value, owner), at };
  if (!isSeq(value)) r.fail('bad-foreach', value, `foreach in ${owner} is ${r.describe(value)}; it must be a glob or a list`, example);
  if (value.items.length === 0) r.fail('bad-foreach', value, `foreach in ${owner} is an empty list`, `list the items, ${example}, or remove foreach`);
  const items: string[] = [];
  for (const node of value.items) {
    const item = r.deref(node);
    if (!isScalar(item) || r.isMissing(item) || r.text(item).trim() === '') {
      r.fail('bad-foreach', node ?? value, `an item of foreach in ${owner} is ${r.isMissing(item) ? 'empty' : r.describe(item)}`, 'each item is one value (a file path or a word)');
    }
    const text = r.text(item);
    if (items.includes(text)) r.fail('bad-foreach', node, `foreach in ${owner} lists "${text}" twice`, 'remove one of them');
    items.push(text);
  }
  return { items, at };
}

function checkGlob(r: NodeReader, glob: string, node: unknown, owner: string): string {
  if (glob.trim() === '') r.fail('bad-foreach', node, `foreach in ${owner} is an empty glob`, 'write a glob relative to the pipeline file\'s folder, e.g. data/*.csv');
  if (path.isAbsolute(glob) || glob.split('/').includes('..')) {
    r.fail('bad-foreach', node, `foreach glob ${JSON.stringify(glob)} in ${owner} leads outside the workspace`, 'write it relative to the pipeline file\'s folder, without "..", e.g. data/*.csv');
  }
  const invalid = r.globProblem(glob);
  if (invalid) r.fail('bad-foreach', node, `invalid glob ${JSON.stringify(glob)} in foreach of ${owner}: ${invalid.problem}`, invalid.fix);
  return glob;
}

/** A `{word}` close to a placeholder in a foreach step's run is a typo, not shell text. */
export function checkPlaceholders(r: NodeReader, run: string, at: SourcePosition, owner: string): void {
  for (const m of run.matchAll(/(?<!\$)\{([A-Za-z_]+)\}/g)) {
    const word = m[1];
    if ((PLACEHOLDERS as readonly string[]).includes(word)) continue;
    const guess = suggest(word, PLACEHOLDERS);
    if (guess) r.fail('bad-foreach', at, `unknown placeholder {${word}} in the run of ${owner}. Did you mean {${guess}}?`, `the placeholders are {item}, {name} and {stem}`);
  }
}

/** The pipeline with each foreach step replaced by its items, and `needs` naming one by all its items. */
export function expandForeach(pipeline: Pipeline): Pipeline {
  if (!pipeline.steps.some((s) => s.foreach)) return pipeline;
  const groups = new Map<string, string[]>();
  const listings: [string, number, string][] = [];
  const steps: Step[] = [];
  const taken = new Set(pipeline.steps.filter((s) => !s.foreach).map((s) => s.name));
  for (const step of pipeline.steps) {
    if (!step.foreach) {
      steps.push(step);
      continue;
    }
    const items = step.foreach.glob !== undefined ? matchGlob(pipeline, step.foreach.glob, listings) : step.foreach.items!.map((item) => ({ item, key: item }));
    const names: string[] = [];
    for (const { item, key } of items) {
      const name = `${step.name}.${key.replace(/\//g, '.').replace(/[^A-Za-z0-9_.-]/g, '_')}`;
      if (taken.has(name)) throw nameClash(pipeline, step, name, item);
      taken.add(name);
      names.push(name);
      const { foreach: _template, fileDefinitionHash: _hash, ...rest } = step;
      const run = substitute(step.run, item);
      const tooLong = stepNameProblem(name) ?? runProblem(run, `step "${name}"`);
      if (tooLong) throw itemError(pipeline, step, `${tooLong} (item "${item}" of foreach step "${step.name}")`, stepNameProblem(name) ? STEP_NAME_FIX : RUN_FIX);
      steps.push({ ...rest, name, run, item: { step: step.name, item } });
    }
    groups.set(step.name, names);
  }
  const needs = (list: string[]) => [...new Set(list.flatMap((n) => groups.get(n) ?? [n]))];
  return {
    ...pipeline,
    steps: steps.map((s) => (s.needs.some((n) => groups.has(n)) ? { ...s, needs: needs(s.needs) } : s)),
    foreachListings: listings,
  };
}

function nameClash(pipeline: Pipeline, step: Step, name: string, item: string): PipelineError {
  return itemError(pipeline, step, `item "${item}" of foreach step "${step.name}" would be the step "${name}", which is already a step`,
    'rename the step or the file, or narrow the glob (names are <step>.<item>, with "/" as "." and other characters outside letters, digits, "_", "." and "-" as "_")');
}

/** A problem with one item of a foreach step, at the step's foreach key. */
function itemError(pipeline: Pipeline, step: Step, problem: string, fix: string): PipelineError {
  return new PipelineError({ code: 'bad-foreach', file: pipeline.file, position: step.foreach!.at, problem, fix });
}

/** {item}, {name} (the last path part) and {stem} (the name without its last extension). */
export function substitute(run: string, item: string): string {
  const name = path.posix.basename(item);
  const ext = path.posix.extname(name);
  const values: Record<string, string> = { item, name, stem: ext && ext !== name ? name.slice(0, -ext.length) : name };
  return run.replace(/\{(item|name|stem)\}/g, (_m, key: string) => values[key]);
}

/**
 * The files matching `glob`, in path order, each with its key (its path below the glob's fixed
 * folder); every folder walked goes into `listings` (stored path, listing token, glob).
 */
function matchGlob(pipeline: Pipeline, glob: string, listings: [string, number, string][]): { item: string; key: string }[] {
  const root = pipeline.workspace;
  const scan = picomatch.scan(glob);
  const isMatch = picomatch(glob);
  const ignored = pipeline.ignore.length ? picomatch(pipeline.ignore, { dot: true }) : () => false;
  const base = scan.isGlob ? scan.base : path.posix.dirname(glob);
  const depth = scan.isGlob ? (scan.isGlobstar || scan.glob.includes('**') ? Infinity : scan.glob.split('/').length) : 1;
  const found: string[] = [];
  const walk = (rel: string, left: number) => {
    const entries = readFolder(path.join(root, rel));
    listings.push([rel === '' ? '.' : rel, listingToken(entries?.map((e) => e.name) ?? null), glob]);
    for (const e of entries ?? []) {
      const p = rel === '' || rel === '.' ? e.name : `${rel}/${e.name}`;
      if (HIDDEN.test(e.name) || ignored(p)) continue;
      if (e.isDirectory()) {
        if (left > 1) walk(p, left - 1);
      } else if ((e.isFile() || (e.isSymbolicLink() && isFile(path.join(root, p)))) && isMatch(p)) {
        found.push(p);
      }
    }
  };
  walk(base === '.' ? '' : base, depth);
  const from = base === '.' ? '' : base;
  return found.sort().map((item) => ({ item, key: scan.isGlob ? path.posix.relative(from, item) : path.posix.basename(item) }));
}

function readFolder(abs: string): Dirent[] | null {
  try {
    return readdirSync(abs, { withFileTypes: true });
  } catch {
    return null;
  }
}

function isFile(abs: string): boolean {
  try {
    return statSync(abs).isFile();
  } catch {
    return false;
  }
}
