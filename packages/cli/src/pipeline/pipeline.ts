/**
 * pipeline.yml: reading, checking and normalising the file the user writes.
 *
 * The loader walks the YAML syntax tree (not plain JS values) so that every problem can point at the
 * exact line and column of the node at fault. It stops at the first problem and throws one
 * PipelineError (see errors.ts) that says what is wrong and what to do.
 */
import { existsSync, statSync } from 'node:fs';
import * as path from 'node:path';
import picomatch from 'picomatch';
import { isAlias, isMap, isScalar, isSeq, LineCounter, parseDocument, visit, type Document, type Pair } from 'yaml';
import { mergeResources, type SlurmResources } from '../executor/slurm-resources.js';
import { PipelineError, type PipelineErrorCode, type SourcePosition } from './errors.js';
import { readExecutor, readResources } from './executor-keys.js';
import { checkPlaceholders, readForeach } from './foreach.js';
import { RUN_FIX, runProblem, STEP_NAME_FIX, stepNameProblem } from './limits.js';
import { readPipelineFile, workspaceRootOf } from './pipeline-file.js';
import type { NodeReader } from './node-reader.js';
import { suggest } from './suggest.js';
import { readPassEnv, readShell } from './run-keys.js';
import { DEFAULT_SHELL } from './shell.js';

import { DEFAULT_PIPELINE_FILE } from '../workspace/paths.js';
import type { ExecutorName, ForeachSpec, Pipeline } from './types.js';

export { canonicalDefinition, definitionOf, type StepDefinition } from './definition.js';
export { PipelineError, isPipelineError } from './errors.js';
export type { PipelineErrorCode, SourcePosition } from './errors.js';
export type { Pipeline, Step } from './types.js';
/** The file `prov-make run` reads when given no path. */
export { DEFAULT_PIPELINE_FILE };

/** Step names end up in ids and file names. */
export const STEP_NAME_PATTERN = /^[A-Za-z0-9_.-]+$/;

export const TOP_LEVEL_KEYS = ['env', 'passEnv', 'shell', 'ignore', 'steps', 'executor', 'resources'] as const;
export const STEP_KEYS = ['run', 'cwd', 'env', 'passEnv', 'shell', 'needs', 'foreach', 'resources'] as const;

/** Read and check a pipeline file. Throws PipelineError on the first problem. */
export function loadPipeline(file: string): Pipeline {
  const abs = path.resolve(file);
  let text: string;
  try {
    text = readPipelineFile(abs).toString('utf8');
  } catch (e) {
    throw e instanceof PipelineError ? e : readError(abs, e);
  }
  return parsePipeline(text, abs);
}

/** Check and normalise pipeline text; `file` (resolved against the working folder) locates the workspace. */
export function parsePipeline(text: string, file: string): Pipeline {
  return new Loader(path.resolve(file), text).load();
}

function readError(abs: string, e: unknown): PipelineError {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  const base = path.basename(abs);
  const dir = path.dirname(abs);
  if (code === 'ENOENT' || code === 'ENOTDIR') {
    const ext = path.extname(abs);
    const other = ext === '.yml' ? abs.slice(0, -4) + '.yaml' : ext === '.yaml' ? abs.slice(0, -5) + '.yml' : undefined;
    const tryOther = other !== undefined && existsSync(other) ? ` There is a "${path.basename(other)}" beside it: pass that path.` : '';
    return new PipelineError({
      code: 'file-not-found',
      file: abs,
      problem: `file not found (looked for "${base}" in ${dir})`,
      fix:
        `\`prov-make run\` looks for ./${DEFAULT_PIPELINE_FILE} by default; create it, or pass the pipeline's path: ` +
        `prov-make run path/to/${DEFAULT_PIPELINE_FILE}.${tryOther}`,
    });
  }
  if (code === 'EISDIR') {
    const inside = path.join(abs, DEFAULT_PIPELINE_FILE);
    let hasInside = false;
    try {
      hasInside = statSync(inside).isFile();
    } catch {
      hasInside = false;
    }
    return new PipelineError({
      code: 'file-unreadable',
      file: abs,
      problem: 'this is a folder, not a pipeline file',
      fix: hasInside
        ? `pass the file inside it: prov-make run ${path.join(abs, DEFAULT_PIPELINE_FILE)}`
        : `pass the path of the pipeline file itself, e.g. prov-make run path/to/${DEFAULT_PIPELINE_FILE}`,
    });
  }
  const message = e instanceof Error ? e.message : String(e);
  return new PipelineError({
    code: 'file-unreadable',
    file: abs,
    problem: `cannot read the pipeline file (${message})`,
    fix: 'check that the file exists and that you may read it',
  });
}

// ---------------------------------------------------------------------------------------------------------

/** Words from other build tools and CI systems, mapped to the key they mean. */
const TOP_LEVEL_ALIASES: Record<string, string> = {
  environment: 'env', enviroment: 'env', enviornment: 'env', environ: 'env', envs: 'env', vars: 'env',
  variables: 'env', envvars: 'env',
  step: 'steps', jobs: 'steps', job: 'steps', tasks: 'steps', task: 'steps', targets: 'steps', rules: 'steps',
  stages: 'steps', pipeline: 'steps',
  ignores: 'ignore', ignored: 'ignore', exclude: 'ignore', excludes: 'ignore', excluded: 'ignore',
  ignorepaths: 'ignore', skip: 'ignore',
  pass_env: 'passEnv', passthrough: 'passEnv', passthroughenv: 'passEnv', env_passthrough: 'passEnv', inherit: 'passEnv',
  inheritenv: 'passEnv', allowenv: 'passEnv', interpreter: 'shell',
};
const STEP_ALIASES: Record<string, string> = {
  command: 'run', commands: 'run', cmd: 'run', script: 'run', exec: 'run', execute: 'run',
  sh: 'run', do: 'run', runs: 'run', action: 'run',
  dir: 'cwd', directory: 'cwd', workdir: 'cwd', workingdir: 'cwd', workingdirectory: 'cwd', cd: 'cwd',
  chdir: 'cwd', folder: 'cwd', path: 'cwd', pwd: 'cwd', wd: 'cwd',
  depends: 'needs', dependson: 'needs', depend: 'needs', deps: 'needs', dep: 'needs', dependencies: 'needs',
  need: 'needs', requires: 'needs', require: 'needs', after: 'needs', needed: 'needs', waitfor: 'needs',
  environment: 'env', enviroment: 'env', enviornment: 'env', environ: 'env', envs: 'env', vars: 'env',
  variables: 'env',
  pass_env: 'passEnv', passthrough: 'passEnv', passthroughenv: 'passEnv', env_passthrough: 'passEnv', inherit: 'passEnv',
  inheritenv: 'passEnv', allowenv: 'passEnv', interpreter: 'shell',
};

type YamlNode = NonNullable<Document.Parsed['contents']>;

interface NeedEntry {
  name: string;
  position: SourcePosition;
}

interface RawStep {
  name: string;
  location: SourcePosition;
  foreach?: ForeachSpec;
  run: string;
  cwdRelative: string;
  cwdLocation: SourcePosition | undefined;
  cwd: string;
  env: Map<string, string>;
  passEnv: string[];
  shell: string[] | undefined;
  needs: NeedEntry[];
  resources?: SlurmResources;
}

class Loader {
  private readonly lineCounter = new LineCounter();
  private readonly workspace: string;
  private doc!: Document.Parsed;

  constructor(
    private readonly file: string,
    private readonly text: string,
  ) {
    this.workspace = workspaceRootOf(file);
  }

  load(): Pipeline {
    // A byte-order mark is not part of the text the user sees; keep columns right on line 1.
    const text = this.text.startsWith('\ufeff') ? this.text.slice(1) : this.text;
    this.doc = parseDocument(text, {
      lineCounter: this.lineCounter,
      keepSourceTokens: true,
      prettyErrors: false,
      // Duplicates are reported by the walk below, with a message that names the step.
      uniqueKeys: false,
    });
    this.checkSyntax();

    const root = this.doc.contents;
    if (root === null || root === undefined || (isScalar(root) && root.value === null)) {
      this.fail('empty-file', { line: 1, col: 1 }, 'the pipeline file is empty',
        'write a steps: map, e.g. "steps: { build: { run: make } }" (one step per key under steps:)');
    }
    if (!isMap(root)) {
      const what = isSeq(root) ? 'a list' : `${describe(root)}`;
      this.fail('not-a-map', root, `the pipeline file is ${what}, not a map of keys`,
        isSeq(root)
          ? 'a pipeline is a map with a "steps:" key, each step a named map, e.g. "steps: { build: { run: make } }"'
          : 'start the file with "steps:" and put each step under it by name, e.g. "steps: { build: { run: make } }"');
    }

    let topEnv = new Map<string, string>();
    let topPassEnv: string[] = [];
    let topShell: string[] = [...DEFAULT_SHELL];
    let ignore: string[] = [];
    let steps: RawStep[] | undefined;
    let executor: ExecutorName | undefined;
    let resources: SlurmResources | undefined;
    const seen = new Map<string, SourcePosition>();
    for (const pair of root.items) {
      const { name, position } = this.keyOf(pair, 'at the top level');
      this.checkDuplicate(seen, name, position, `key "${name}" at the top level`);
      switch (name) {
        case 'env':
          topEnv = this.readEnv(pair, 'the top-level env');
          break;
        case 'passEnv':
          topPassEnv = readPassEnv(this.reader(), pair, 'the top level');
          break;
        case 'shell':
          topShell = readShell(this.reader(), pair, 'the top level');
          break;
        case 'ignore':
          ignore = this.readIgnore(pair);
          break;
        case 'steps':
          steps = this.readSteps(pair);
          break;
        case 'executor':
          executor = readExecutor(this.reader(), pair);
          break;
        case 'resources':
          resources = readResources(this.reader(), pair, 'the pipeline');
          break;
        default:
          this.unknownTopLevelKey(name, position, pair);
      }
    }
    if (steps === undefined) {
      this.fail('missing-steps', root, 'the pipeline has no "steps:" key',
        'add a steps: map with one named step per key, e.g. "steps: { build: { run: make } }"');
    }

    this.checkNeeds(steps);

    return {
      file: this.file,
      workspace: this.workspace,
      env: toRecord(topEnv),
      passEnv: topPassEnv,
      shell: topShell,
      ignore,
      ...(executor ? { executor } : {}),
      steps: steps.map((s) => {
        const env = new Map(topEnv);
        for (const [k, v] of s.env) env.set(k, v);
        const needs = [...new Set(s.needs.map((n) => n.name))];
        const passEnv = [...new Set([...topPassEnv, ...s.passEnv])];
        const step = { name: s.name, run: s.run, cwd: s.cwd, cwdRelative: s.cwdRelative, cwdLocation: s.cwdLocation, env: toRecord(env), passEnv, shell: s.shell ?? topShell, needs, location: s.location, ...(s.foreach ? { foreach: s.foreach } : {}) };
        return resources || s.resources ? { ...step, resources: mergeResources(resources, s.resources) } : step;
      }),
    };
  }

  // --- positions and failure --------------------------------------------------------------------------

  private position(at: SourcePosition | YamlNode | unknown): SourcePosition {
    if (at && typeof at === 'object' && 'line' in at && 'col' in at) return at as SourcePosition;
    const range = (at as { range?: [number, number, number] | null } | null)?.range;
    if (range) return this.lineCounter.linePos(range[0]);
    return { line: 1, col: 1 };
  }

  private fail(code: PipelineErrorCode, at: SourcePosition | unknown, problem: string, fix: string): never {
    throw new PipelineError({ code, file: this.file, position: this.position(at), problem, fix });
  }

  /** For keys read by modules of their own (foreach.ts, executor-keys.ts). */
  private reader(): NodeReader {
    return {
      deref: (n) => this.deref(n),
      position: (at) => this.position(at),
      valuePosition: (pair) => this.valuePosition(pair),
      fail: (code, at, problem, fix) => this.fail(code, at, problem, fix),
      keyOf: (pair, where) => this.keyOf(pair, where),
      checkDuplicate: (seen, name, position, what) => this.checkDuplicate(seen, name, position, what),
      isMissing, text: scalarText, describe, globProblem,
    };
  }

  /** Where to point for a value: the value itself, or its key when the value is missing (`key:` alone). */
  private valuePosition(pair: Pair<unknown, unknown>): SourcePosition {
    const v = pair.value as { range?: [number, number, number] | null } | null;
    if (v === null || v === undefined || isMissing(v)) return this.position(pair.key);
    return this.position(v);
  }

  private checkSyntax(): void {
    const errors = [...this.doc.errors].sort((a, b) => a.pos[0] - b.pos[0]);
    const first = errors[0];
    if (!first) return;
    const message = first.message.replace(/\s+$/, '').replace(/\.$/, '');
    if (first.code === 'MULTIPLE_DOCS') {
      this.fail('yaml-syntax', this.lineCounter.linePos(first.pos[0]),
        'invalid YAML: the file holds more than one YAML document (a second "---")',
        'a pipeline file holds one document: remove the extra "---" line and merge the steps into one steps: map');
    }
    // Two errors are reported by yaml where it gave up (the end of the file, a closing bracket); point at the
    // start of the node at fault instead: the unclosed quoted string, the [ or { that began a flow collection.
    if (first.code === 'MISSING_CHAR' && /quote/i.test(message)) {
      const start = this.enclosingNodeStart(first.pos[0], (n) => isScalar(n) && (n.type === 'QUOTE_DOUBLE' || n.type === 'QUOTE_SINGLE'));
      if (start !== undefined) {
        const at = this.lineCounter.linePos(start);
        const end = this.lineCounter.linePos(first.pos[0]);
        this.fail('yaml-syntax', at, `invalid YAML: this quoted string is never closed (no closing quote up to line ${end.line})`,
          yamlHint(first.code, message));
      }
    }
    if (/flow (sequence|map|collection)/i.test(message)) {
      // Only collections written with brackets (yaml also makes maps for `[a: b]` pairs, without a token).
      const isFlow = (n: unknown): boolean =>
        (isSeq(n) || isMap(n)) && (n.srcToken as { type?: string } | undefined)?.type === 'flow-collection';
      const start =
        this.enclosingNodeStart(first.pos[0], (n) => isFlow(n) && !isClosedFlow(n)) ??
        this.enclosingNodeStart(first.pos[0], isFlow);
      if (start !== undefined) {
        this.fail('yaml-syntax', this.lineCounter.linePos(start), `invalid YAML: ${message}`, yamlHint(first.code, message));
      }
    }
    this.fail('yaml-syntax', this.lineCounter.linePos(first.pos[0]), `invalid YAML: ${message}`, yamlHint(first.code, message));
  }

  /** Start offset of the innermost node matching `accept` whose source spans `offset`. */
  private enclosingNodeStart(offset: number, accept: (node: unknown) => boolean): number | undefined {
    let best: number | undefined;
    visit(this.doc, (_key, node) => {
      const range = (node as { range?: [number, number, number] | null } | null)?.range;
      if (!range || !accept(node)) return;
      if (range[0] <= offset && offset <= range[2] && (best === undefined || range[0] > best)) best = range[0];
    });
    return best;
  }

  /** Follow an alias (`*name`) to the node it stands for. */
  private deref(node: unknown): unknown {
    if (isAlias(node)) {
      const target = node.resolve(this.doc);
      if (target === undefined) {
        this.fail('unknown-alias', node, `unknown YAML alias "*${node.source}" (no anchor "&${node.source}" before it)`,
          `a value starting with "*" is a YAML alias: if this is text (a glob or a command), quote it, e.g. "*${node.source}"`);
      }
      return target;
    }
    return node;
  }

  private keyOf(pair: Pair<unknown, unknown>, where: string): { name: string; position: SourcePosition } {
    const key = this.deref(pair.key);
    const position = this.position(pair.key ?? pair.value);
    if (!isScalar(key) || key.value === null || key.value === undefined) {
      const what = key === null || key === undefined || (isScalar(key) && key.value === null) ? 'an empty key' : `a key that is ${describe(key)}`;
      this.fail('bad-key', position, `${what} ${where}`, 'keys must be plain names followed by ":", e.g. "run: make"');
    }
    return { name: scalarText(key), position };
  }

  private checkDuplicate(seen: Map<string, SourcePosition>, name: string, position: SourcePosition, what: string): void {
    const first = seen.get(name);
    if (first) {
      this.fail('duplicate-key', position, `duplicate ${what} (first written at line ${first.line})`,
        'YAML keeps only one of them: merge the two or rename one');
    }
    seen.set(name, position);
  }

  // --- top level ------------------------------------------------------------------------------------

  private unknownTopLevelKey(name: string, position: SourcePosition, pair: Pair<unknown, unknown>): never {
    const value = this.deref(pair.value);
    const accepted = `The top level accepts: ${TOP_LEVEL_KEYS.join(', ')}.`;
    if ((STEP_KEYS as readonly string[]).includes(name)) {
      this.fail('unknown-key', position, `"${name}" is a step key, but it is written at the top level`,
        `put it inside a named step, indented under "steps:" and the step's name. ${accepted}`);
    }
    if (isMap(value) && value.items.some((p) => isScalar(p.key) && p.key.value === 'run')) {
      this.fail('unknown-key', position, `unknown key "${name}" at the top level: it looks like a step`,
        `indent it under "steps:" (steps are named keys of the steps map). ${accepted}`);
    }
    if (name === '<<') {
      this.fail('unknown-key', position, 'YAML merge keys ("<<") are not supported',
        `write the keys out, or put shared variables in the top-level env. ${accepted}`);
    }
    const guess = suggest(name, TOP_LEVEL_KEYS, TOP_LEVEL_ALIASES);
    this.fail('unknown-key', position,
      `unknown key "${name}" at the top level${guess ? `. Did you mean "${guess}"?` : ''}`,
      guess ? `rename it to "${guess}". ${accepted}` : `remove it. ${accepted}`);
  }

  private readIgnore(pair: Pair<unknown, unknown>): string[] {
    const value = this.deref(pair.value);
    if (isMissing(value)) return [];
    if (isScalar(value)) {
      const text = scalarText(value);
      this.fail('bad-ignore', value, 'ignore must be a list of globs, not a single value',
        `write it as a list: ignore: [${JSON.stringify(text)}]`);
    }
    if (!isSeq(value)) {
      this.fail('bad-ignore', value, `ignore must be a list of globs, not ${describe(value)}`,
        'write it as a list of picomatch globs, e.g. ignore: ["/tmp/**", "**/*.log"]');
    }
    const globs: string[] = [];
    for (const item of value.items) {
      const entry = this.deref(item);
      if (!isScalar(entry) || isMissing(entry)) {
        this.fail('bad-ignore', isMissing(entry) ? this.position(item ?? value) : item,
          `each ignore entry must be a glob string, not ${describe(entry)}`,
          'write one glob per list entry, e.g. ignore: ["/tmp/**", "**/*.log"]');
      }
      const glob = scalarText(entry);
      if (glob.trim() === '') {
        this.fail('bad-ignore', item, 'an ignore entry is an empty glob',
          'remove the entry, or write a glob such as "/tmp/**"');
      }
      const invalid = globProblem(glob);
      if (invalid) this.fail('bad-ignore', item, `invalid glob ${JSON.stringify(glob)} in ignore: ${invalid.problem}`, invalid.fix);
      globs.push(glob);
    }
    return globs;
  }

  private readEnv(pair: Pair<unknown, unknown>, owner: string): Map<string, string> {
    const env = new Map<string, string>();
    const value = this.deref(pair.value);
    if (isMissing(value)) return env;
    if (!isMap(value)) {
      const items = isSeq(value) ? value.items.map((i) => this.deref(i)) : [];
      const looksLikeAssignments = items.length > 0 && items.every((i) => isScalar(i) && typeof i.value === 'string' && i.value.includes('='));
      this.fail('bad-env', value, `${owner} must be a map of NAME: value, not ${describe(value)}`,
        looksLikeAssignments
          ? 'write each variable as "NAME: value" on its own line under env:, not as a "NAME=value" list entry'
          : 'write it as a map, e.g. env: { LC_ALL: C, SEED: "42" }');
    }
    const seen = new Map<string, SourcePosition>();
    for (const p of value.items) {
      const { name, position } = this.keyOf(p, `in ${owner}`);
      if (name === '' || name.includes('=') || name.includes('\0')) {
        this.fail('bad-env', position, `invalid variable name ${JSON.stringify(name)} in ${owner}`,
          'a variable name must be non-empty and may not contain "=", e.g. LC_ALL');
      }
      this.checkDuplicate(seen, name, position, `variable "${name}" in ${owner}`);
      const v = this.deref(p.value);
      if (isMissing(v)) {
        this.fail('bad-env', this.valuePosition(p), `variable "${name}" in ${owner} has no value`,
          `give it a value, or write ${name}: "" for an empty string`);
      }
      if (!isScalar(v)) {
        this.fail('bad-env', p.value, `variable "${name}" in ${owner} is ${describe(v)}; it must be a single value`,
          `write it as a string, e.g. ${name}: "a b c" (quote it if it contains ": " or starts with [ or {)`);
      }
      const text = scalarText(v);
      if (text.includes('\0')) {
        this.fail('bad-env', p.value, `variable "${name}" in ${owner} contains a NUL character`,
          'environment values cannot contain NUL ("\\0"): remove it');
      }
      env.set(name, text);
    }
    return env;
  }

  // --- steps ------------------------------------------------------------------------------------------

  private readSteps(pair: Pair<unknown, unknown>): RawStep[] {
    const value = this.deref(pair.value);
    const example = 'e.g. "steps: { build: { run: make } }", or "build:" on its own line under steps: with "run: make" under it';
    if (isMissing(value)) {
      this.fail('steps-empty', this.valuePosition(pair), 'steps is empty', `add at least one named step, ${example}`);
    }
    if (isSeq(value)) {
      this.fail('steps-not-a-map', value, 'steps is a list; it must be a map from step names to steps',
        'give each step a name: write "clean:" (then "run: ..." indented under it) instead of "- run: ..."');
    }
    if (!isMap(value)) {
      this.fail('steps-not-a-map', value, `steps must be a map of named steps, not ${describe(value)}`,
        `put each step under steps: by name, ${example}`);
    }
    if (value.items.length === 0) {
      this.fail('steps-empty', value, 'steps is empty', `add at least one named step, ${example}`);
    }
    const steps: RawStep[] = [];
    const seen = new Map<string, SourcePosition>();
    for (const p of value.items) {
      const { name, position } = this.keyOf(p, 'in steps');
      this.checkStepName(name, position);
      const first = seen.get(name);
      if (first) {
        this.fail('duplicate-key', position, `duplicate step name "${name}" (first defined at line ${first.line})`,
          'step names must be unique: rename one of them, or merge the two steps');
      }
      seen.set(name, position);
      steps.push(this.readStep(name, position, p));
    }
    return steps;
  }

  private checkStepName(name: string, position: SourcePosition): void {
    const tooLong = stepNameProblem(name);
    if (tooLong) this.fail('bad-step-name', position, tooLong, STEP_NAME_FIX);
    if (name === '.' || name === '..') {
      this.fail('bad-step-name', position, `invalid step name "${name}": it is reserved in file names`,
        'choose a name with at least one letter or digit, e.g. "build"');
    }
    if (!STEP_NAME_PATTERN.test(name)) {
      let better = name.replace(/[^A-Za-z0-9_.-]+/g, '_').replace(/^_+|_+$/g, '');
      if (better === '' || better === '.' || better === '..') better = 'step1';
      this.fail('bad-step-name', position,
        `invalid step name ${JSON.stringify(name)}: a step name may contain only letters, digits, "_", "." and "-"`,
        `rename it, e.g. "${better}" (step names are used in ids and file names)`);
    }
  }

  private readStep(name: string, namePosition: SourcePosition, pair: Pair<unknown, unknown>): RawStep {
    const value = this.deref(pair.value);
    const owner = `step "${name}"`;
    if (isMissing(value)) {
      this.fail('step-not-a-map', namePosition, `${owner} is empty`,
        `give it a command: write "run: <command>" on the next line, indented under "${name}:"`);
    }
    if (isScalar(value)) {
      this.fail('step-not-a-map', value, `${owner} is ${describe(value)}, not a map`,
        `put the command under run: write "${name}:" and, indented under it, "run: ${truncate(scalarText(value))}"`);
    }
    if (!isMap(value)) {
      this.fail('step-not-a-map', value, `${owner} is ${describe(value)}, not a map`,
        'a step is a map with run (and optionally cwd, env, needs); join several commands with && in one run');
    }

    let run: string | undefined;
    let cwdRelative = '.';
    let cwd = this.workspace;
    let cwdLocation: SourcePosition | undefined;
    let env = new Map<string, string>();
    let passEnv: string[] = [];
    let shell: string[] | undefined;
    let needs: NeedEntry[] = [];
    let resources: SlurmResources | undefined;
    let foreach: ForeachSpec | undefined;
    let runAt: SourcePosition = namePosition;
    const seen = new Map<string, SourcePosition>();
    for (const p of value.items) {
      const { name: key, position } = this.keyOf(p, `in ${owner}`);
      this.checkDuplicate(seen, key, position, `key "${key}" in ${owner}`);
      switch (key) {
        case 'run':
          run = this.readRun(p, owner);
          runAt = this.valuePosition(p);
          break;
        case 'foreach':
          foreach = readForeach(this.reader(), p, owner);
          break;
        case 'cwd':
          ({ cwd, cwdRelative } = this.readCwd(p, owner));
          cwdLocation = this.valuePosition(p);
          break;
        case 'env':
          env = this.readEnv(p, `the env of ${owner}`);
          break;
        case 'passEnv':
          passEnv = readPassEnv(this.reader(), p, owner);
          break;
        case 'shell':
          shell = readShell(this.reader(), p, owner);
          break;
        case 'needs':
          needs = this.readNeeds(p, owner);
          break;
        case 'resources':
          resources = readResources(this.reader(), p, owner);
          break;
        default:
          this.unknownStepKey(key, position, owner);
      }
    }
    if (run === undefined) {
      this.fail('missing-run', namePosition, `${owner} has no run command`,
        `add "run: <shell command>" indented under "${name}:"`);
    }
    if (foreach) checkPlaceholders(this.reader(), run, runAt, owner);
    return { name, location: namePosition, foreach, run, cwdRelative, cwd, cwdLocation, env, passEnv, shell, needs, resources };
  }

  private unknownStepKey(key: string, position: SourcePosition, owner: string): never {
    const accepted = `A step accepts: ${STEP_KEYS.join(', ')}.`;
    if ((TOP_LEVEL_KEYS as readonly string[]).includes(key)) {
      this.fail('unknown-key', position, `"${key}" is a top-level key, but it is written in ${owner}`,
        `move it to the top level of the file (no indentation). ${accepted}`);
    }
    if (key === '<<') {
      this.fail('unknown-key', position, `YAML merge keys ("<<") are not supported (in ${owner})`,
        `write the keys out, or put shared variables in the top-level env. ${accepted}`);
    }
    const guess = suggest(key, STEP_KEYS, STEP_ALIASES);
    this.fail('unknown-key', position, `unknown key "${key}" in ${owner}${guess ? `. Did you mean "${guess}"?` : ''}`,
      guess ? `rename it to "${guess}". ${accepted}` : `remove it. ${accepted}`);
  }

  private readRun(pair: Pair<unknown, unknown>, owner: string): string {
    const value = this.deref(pair.value);
    if (isMissing(value)) {
      this.fail('bad-run', this.valuePosition(pair), `run in ${owner} is empty`,
        'write the shell command after "run:", or under it after "run: |" for several lines');
    }
    if (isSeq(value)) {
      this.fail('bad-run', value, `run in ${owner} is a list; it must be one shell command`,
        'join the commands with && in one string, or write "run: |" with one command per line indented under it');
    }
    if (!isScalar(value)) {
      this.fail('bad-run', value, `run in ${owner} is ${describe(value)}; it must be a shell command string`,
        'quote the command, or write "run: |" with the command indented on the next lines');
    }
    if (typeof value.value !== 'string') {
      const text = scalarText(value);
      this.fail('bad-run', value, `run in ${owner} is ${describe(value)}, not a command string`,
        `quote it if you mean the command: run: ${JSON.stringify(text)}`);
    }
    const run = value.value;
    if (run.trim() === '') {
      this.fail('bad-run', value, `run in ${owner} is empty`, 'write the shell command to run after "run:"');
    }
    if (run.includes('\0')) {
      this.fail('bad-run', value, `run in ${owner} contains a NUL character`, 'a shell command cannot contain NUL ("\\0"): remove it');
    }
    const tooLong = runProblem(run, owner);
    if (tooLong) this.fail('bad-run', value, tooLong, RUN_FIX);
    return run;
  }

  private readCwd(pair: Pair<unknown, unknown>, owner: string): { cwd: string; cwdRelative: string } {
    const value = this.deref(pair.value);
    const ws = this.workspace;
    if (isMissing(value)) {
      this.fail('bad-cwd', this.valuePosition(pair), `cwd in ${owner} is empty`,
        'remove it to run in the pipeline file\'s folder, or give a folder relative to that folder, e.g. cwd: sub/dir');
    }
    if (!isScalar(value)) {
      this.fail('bad-cwd', value, `cwd in ${owner} is ${describe(value)}; it must be one folder path`,
        'give a folder relative to the pipeline file\'s folder, e.g. cwd: sub/dir');
    }
    const rel = scalarText(value);
    if (rel.trim() === '') {
      this.fail('bad-cwd', value, `cwd in ${owner} is empty`,
        'remove it to run in the pipeline file\'s folder, or give a folder relative to that folder, e.g. cwd: sub/dir');
    }
    if (rel.includes('\0')) {
      this.fail('bad-cwd', value, `cwd in ${owner} contains a NUL character`, 'remove it');
    }
    if (path.isAbsolute(rel)) {
      const inside = path.relative(ws, path.resolve(rel));
      const isInside = inside !== '' && !inside.startsWith('..') && !path.isAbsolute(inside);
      this.fail('bad-cwd', value, `cwd ${JSON.stringify(rel)} in ${owner} is an absolute path`,
        isInside
          ? `write it relative to the pipeline file's folder: cwd: ${inside.split(path.sep).join('/')}`
          : `cwd must be a folder inside the pipeline file's folder (${ws}), written relative to it`);
    }
    if (rel === '~' || rel.startsWith('~/')) {
      this.fail('bad-cwd', value, `cwd ${JSON.stringify(rel)} in ${owner} starts with "~", which is not expanded`,
        'cwd must be a folder inside the pipeline file\'s folder, written relative to it, e.g. cwd: sub/dir');
    }
    const abs = path.resolve(ws, rel);
    const back = path.relative(ws, abs);
    if (back === '..' || back.startsWith('..' + path.sep) || path.isAbsolute(back)) {
      this.fail('bad-cwd', value, `cwd ${JSON.stringify(rel)} in ${owner} leads outside the pipeline file's folder`,
        'steps run inside the workspace (the folder holding the pipeline file): use a folder inside it, or move the pipeline file up');
    }
    return { cwd: abs, cwdRelative: rel };
  }

  private readNeeds(pair: Pair<unknown, unknown>, owner: string): NeedEntry[] {
    const value = this.deref(pair.value);
    if (isMissing(value)) return [];
    const entry = (node: unknown, at: unknown): NeedEntry => {
      const v = this.deref(node);
      if (isMissing(v)) {
        this.fail('bad-needs', at, `an entry of needs in ${owner} is empty`, 'write a step name, or remove the entry');
      }
      if (!isScalar(v)) {
        this.fail('bad-needs', at, `needs in ${owner} holds ${describe(v)}; each entry must be a step name`,
          'write the names of the steps to run first, e.g. needs: [clean, fetch]');
      }
      const name = scalarText(v);
      if (name.trim() === '') {
        this.fail('bad-needs', at, `an entry of needs in ${owner} is empty`, 'write a step name, or remove the entry');
      }
      return { name, position: this.position(at) };
    };
    if (isScalar(value)) return [entry(value, value)];
    if (!isSeq(value)) {
      this.fail('bad-needs', value, `needs in ${owner} is ${describe(value)}; it must be a list of step names`,
        'write the names of the steps to run first, e.g. needs: [clean, fetch]');
    }
    return value.items.map((item) => entry(item, item ?? value));
  }

  // --- needs between steps -----------------------------------------------------------------------------

  private checkNeeds(steps: RawStep[]): void {
    const index = new Map(steps.map((s, i) => [s.name, i]));
    const names = steps.map((s) => s.name);

    for (const step of steps) {
      for (const need of step.needs) {
        if (need.name === step.name) {
          this.fail('self-need', need.position, `step "${step.name}" needs itself`,
            `remove "${step.name}" from its needs: list the steps that must run before it`);
        }
        if (!index.has(need.name)) {
          const guess = suggest(need.name, names.filter((n) => n !== step.name));
          this.fail('unknown-step', need.position,
            `step "${step.name}" needs "${need.name}", which is not a step in this file${guess ? `. Did you mean "${guess}"?` : ''}`,
            guess
              ? `rename it to "${guess}"`
              : `needs lists names of steps under steps: (${truncate(names.join(', '), 80)})`);
        }
      }
    }

    // Cycles: depth-first in file order, children in the order written; report the needs entry that closes
    // the loop. Iterative, so a long generated chain cannot overflow the stack.
    const state = new Map<string, 'active' | 'done'>();
    for (const start of steps) {
      if (state.has(start.name)) continue;
      const stack: { step: RawStep; next: number }[] = [{ step: start, next: 0 }];
      state.set(start.name, 'active');
      while (stack.length > 0) {
        const top = stack[stack.length - 1];
        if (top.next >= top.step.needs.length) {
          state.set(top.step.name, 'done');
          stack.pop();
          continue;
        }
        const need = top.step.needs[top.next++];
        const s = state.get(need.name);
        if (s === 'active') {
          const from = stack.findIndex((f) => f.step.name === need.name);
          const cycle = [...stack.slice(from).map((f) => f.step.name), need.name];
          this.fail('needs-cycle', need.position, `needs form a cycle: ${cycle.join(' -> ')}`,
            `a step cannot run before itself: remove "${need.name}" from the needs of "${top.step.name}", or another link of the cycle`);
        }
        if (s === undefined) {
          state.set(need.name, 'active');
          stack.push({ step: steps[index.get(need.name)!], next: 0 });
        }
      }
    }

    // Steps run in file order, so a step can only need steps written above it.
    steps.forEach((step, i) => {
      for (const need of step.needs) {
        if (index.get(need.name)! > i) {
          this.fail('needs-later-step', need.position,
            `step "${step.name}" needs "${need.name}", which is written after it`,
            `steps run in file order: move step "${need.name}" above step "${step.name}"`);
        }
      }
    });
  }
}

// ---------------------------------------------------------------------------------------------------------

/** An absent value: `key:` with nothing after it, `~` or `null`. */
function isMissing(node: unknown): boolean {
  return node === null || node === undefined || (isScalar(node) && node.value === null);
}

/**
 * The text of a scalar. Strings are taken as parsed; other scalars (numbers, booleans) as written, so that
 * `VERSION: 1.10` gives "1.10" rather than "1.1".
 */
function scalarText(node: unknown): string {
  if (!isScalar(node)) return '';
  const v = node.value;
  if (typeof v === 'string') return v;
  if (typeof node.source === 'string' && node.source !== '') return node.source;
  const token = node.srcToken as { source?: unknown } | undefined;
  if (token && typeof token.source === 'string' && token.source !== '') return token.source;
  return String(v);
}

function describe(node: unknown): string {
  if (isMissing(node)) return 'empty';
  if (isMap(node)) return 'a map';
  if (isSeq(node)) return 'a list';
  if (isScalar(node)) {
    const v = node.value;
    if (typeof v === 'string') return `the text ${JSON.stringify(truncate(v))}`;
    if (typeof v === 'number' || typeof v === 'bigint') return `the number ${scalarText(node)}`;
    if (typeof v === 'boolean') return `the boolean ${scalarText(node)}`;
    return `the value ${JSON.stringify(truncate(scalarText(node)))}`;
  }
  return 'not a plain value';
}

function truncate(s: string, max = 40): string {
  const oneLine = s.replace(/\s*\n\s*/g, ' ').trim();
  return oneLine.length > max ? `${oneLine.slice(0, max - 3)}...` : oneLine;
}

function toRecord(map: Map<string, string>): Record<string, string> {
  // fromEntries defines own properties, so a variable named "__proto__" stays an ordinary key.
  return Object.fromEntries(map);
}

function globProblem(glob: string): { problem: string; fix: string } | undefined {
  let re: RegExp;
  try {
    re = picomatch.makeRe(glob, { strictBrackets: true, dot: true });
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    const [problem, fix] = message.split(/\s+-\s+/, 2);
    return {
      problem: problem.replace(/^Missing/, 'missing').replace(/:\s*/, ' '),
      fix: fix ? `close it, or ${fix.replace(/"\\\\(.)"/, '"\\$1"')}` : 'check the glob\'s brackets and braces',
    };
  }
  // picomatch turns a pattern it cannot compile into a regex that never matches.
  if (re.source === '$^') {
    return {
      problem: 'it can never match a path',
      fix: 'check its brackets, braces and ranges (e.g. [a-z], {a,b}); escape special characters with \\',
    };
  }
  return undefined;
}

/** Whether a flow collection (`[...]`, `{...}`) has its own closing bracket in the source. */
function isClosedFlow(node: unknown): boolean {
  const token = (node as { srcToken?: { type?: string; end?: { type?: string }[] } }).srcToken;
  if (!token || token.type !== 'flow-collection') return true;
  const closer = isSeq(node) ? 'flow-seq-end' : 'flow-map-end';
  return (token.end ?? []).some((t) => t.type === closer);
}

function yamlHint(code: string, message: string): string {
  const quoting = 'quote the whole value, or write "run: |" and the command indented on the next lines';
  if (/flow (sequence|map|collection)/i.test(message)) {
    return `a value starting with [ or { is read as a YAML list or map and must be closed; if it is text, ${quoting}`;
  }
  switch (code) {
    case 'TAB_AS_INDENT':
      return 'indent with spaces: YAML does not allow tabs for indentation';
    case 'BAD_INDENT':
      return 'keys of one map must start in the same column: fix the indentation of this line';
    case 'BLOCK_AS_IMPLICIT_KEY':
      return `if this is a value containing ": ", ${quoting}; otherwise check the indentation (a step's keys go under its name)`;
    case 'MULTILINE_IMPLICIT_KEY':
      return 'a key must be followed by ":" on the same line: check for a missing ":" or a wrongly indented line';
    case 'BAD_SCALAR_START':
      return `a value cannot start with this character unquoted: ${quoting}`;
    case 'MISSING_CHAR':
      if (/quote/i.test(message)) return 'close the quote, or write "run: |" and the command indented on the next lines';
      return `check the indentation and the ":" after each key; if a value contains ": " or " #", ${quoting}`;
    case 'UNEXPECTED_TOKEN':
      return `text follows a complete value (a quoted string, or a [list] or {map}): ${quoting}`;
    case 'DUPLICATE_KEY':
      return 'YAML keeps only one of them: merge the two or rename one';
    default:
      return `fix the YAML here; if a value has special characters (: # [ { * & ! | > ' " % @ \`), ${quoting}`;
  }
}
