import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { PipelineError, type PipelineErrorCode } from '../src/pipeline/errors.js';
import { loadPipeline, parsePipeline } from '../src/pipeline/pipeline.js';
import { editDistance, suggest } from '../src/pipeline/suggest.js';

const BAD = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../fixtures/bad-pipelines');

interface Case {
  file: string;
  code: PipelineErrorCode;
  line: number;
  col: number;
  /** Words the problem must contain (case-insensitive). */
  problem: string[];
  /** Words the fix must contain (case-insensitive). */
  fix: string[];
}

const CASES: Case[] = [
  // YAML syntax: the position of the node at fault.
  { file: 'yaml-unclosed-quote.yml', code: 'yaml-syntax', line: 3, col: 10, problem: ['invalid YAML', 'quoted string', 'never closed'], fix: ['close the quote', 'run: |'] },
  { file: 'yaml-tab-indentation.yml', code: 'yaml-syntax', line: 3, col: 1, problem: ['invalid YAML', 'tabs'], fix: ['spaces'] },
  { file: 'yaml-unquoted-colon-in-run.yml', code: 'yaml-syntax', line: 3, col: 10, problem: ['invalid YAML', 'nested mappings'], fix: ['": "', 'quote', 'run: |'] },
  { file: 'yaml-unquoted-bracket-in-run.yml', code: 'yaml-syntax', line: 3, col: 10, problem: ['invalid YAML', 'flow sequence'], fix: ['[ or {', 'quote'] },
  { file: 'yaml-multiple-documents.yml', code: 'yaml-syntax', line: 4, col: 1, problem: ['more than one YAML document', '---'], fix: ['remove the extra "---"'] },
  { file: 'unknown-alias.yml', code: 'unknown-alias', line: 3, col: 10, problem: ['unknown YAML alias', '"*.tmp"'], fix: ['quote it', '"*.tmp"'] },
  // Shape of the file.
  { file: 'empty-file.yml', code: 'empty-file', line: 1, col: 1, problem: ['empty'], fix: ['steps:'] },
  { file: 'empty-file-zero-bytes.yml', code: 'empty-file', line: 1, col: 1, problem: ['empty'], fix: ['steps:'] },
  { file: 'not-a-map.yml', code: 'not-a-map', line: 1, col: 1, problem: ['is a list', 'not a map'], fix: ['"steps:"'] },
  { file: 'missing-steps.yml', code: 'missing-steps', line: 1, col: 1, problem: ['no "steps:" key'], fix: ['add a steps: map'] },
  { file: 'steps-not-a-map.yml', code: 'steps-not-a-map', line: 2, col: 3, problem: ['steps is a list', 'map from step names'], fix: ['give each step a name'] },
  { file: 'steps-empty.yml', code: 'steps-empty', line: 3, col: 8, problem: ['steps is empty'], fix: ['at least one named step'] },
  // Unknown keys, with suggestions.
  { file: 'unknown-top-level-key.yml', code: 'unknown-key', line: 1, col: 1, problem: ['unknown key "step"', 'top level', 'did you mean "steps"?'], fix: ['rename it to "steps"', 'env, passEnv, shell, ignore, steps'] },
  { file: 'misspelt-env-key.yml', code: 'unknown-key', line: 1, col: 1, problem: ['unknown key "enviroment"', 'did you mean "env"?'], fix: ['rename it to "env"'] },
  { file: 'step-key-at-top-level.yml', code: 'unknown-key', line: 1, col: 1, problem: ['"run" is a step key', 'top level'], fix: ['inside a named step', 'steps:'] },
  { file: 'unknown-step-key.yml', code: 'unknown-key', line: 8, col: 5, problem: ['unknown key "nedds" in step "stats"', 'did you mean "needs"?'], fix: ['rename it to "needs"', 'run, cwd, env, passEnv, shell, needs, foreach'] },
  { file: 'step-key-command-instead-of-run.yml', code: 'unknown-key', line: 3, col: 5, problem: ['unknown key "command" in step "clean"', 'did you mean "run"?'], fix: ['rename it to "run"'] },
  { file: 'step-key-depends.yml', code: 'unknown-key', line: 6, col: 5, problem: ['unknown key "depends" in step "stats"', 'did you mean "needs"?'], fix: ['rename it to "needs"'] },
  // Steps.
  { file: 'step-not-a-map.yml', code: 'step-not-a-map', line: 2, col: 10, problem: ['step "clean"', 'not a map'], fix: ['run: python3 clean.py'] },
  { file: 'step-empty.yml', code: 'step-not-a-map', line: 2, col: 3, problem: ['step "clean" is empty'], fix: ['run: <command>', 'indented under "clean:"'] },
  { file: 'missing-run.yml', code: 'missing-run', line: 4, col: 3, problem: ['step "stats" has no run command'], fix: ['run: <shell command>', '"stats:"'] },
  { file: 'empty-run.yml', code: 'bad-run', line: 3, col: 10, problem: ['run in step "clean" is empty'], fix: ['shell command'] },
  { file: 'run-not-a-string.yml', code: 'bad-run', line: 4, col: 7, problem: ['run in step "build" is a list', 'one shell command'], fix: ['&&', 'run: |'] },
  { file: 'cwd-absolute.yml', code: 'bad-cwd', line: 4, col: 10, problem: ['cwd "/home/me/project"', 'absolute path'], fix: ['relative'] },
  { file: 'cwd-escapes-workspace.yml', code: 'bad-cwd', line: 4, col: 10, problem: ['cwd "sub/../../elsewhere"', 'outside the pipeline file\'s folder'], fix: ['inside'] },
  { file: 'env-not-a-map.yml', code: 'bad-env', line: 2, col: 3, problem: ['top-level env', 'map of NAME: value', 'list'], fix: ['"NAME: value"', '"NAME=value"'] },
  { file: 'env-value-not-a-scalar.yml', code: 'bad-env', line: 6, col: 14, problem: ['variable "PATHS"', 'step "clean"', 'a list'], fix: ['string'] },
  { file: 'env-value-missing.yml', code: 'bad-env', line: 2, col: 3, problem: ['variable "LC_ALL"', 'has no value'], fix: ['LC_ALL: ""'] },
  { file: 'shell-not-a-path.yml', code: 'bad-shell', line: 4, col: 12, problem: ['shell "zsh -e"', 'not sh, bash or an absolute path', 'step "build"'], fix: ['shell: bash', '/usr/bin/zsh -e'] },
  { file: 'pass-env-bad-name.yml', code: 'bad-pass-env', line: 1, col: 15, problem: ['invalid passEnv entry "MY VAR"', 'top level'], fix: ['variable name or a glob'] },
  { file: 'ignore-not-a-list.yml', code: 'bad-ignore', line: 1, col: 9, problem: ['ignore must be a list of globs'], fix: ['ignore: ["/tmp/**"]'] },
  { file: 'ignore-invalid-glob.yml', code: 'bad-ignore', line: 3, col: 5, problem: ['invalid glob "data/[abc.csv"', 'missing closing "]"'], fix: ['close it', '"\\]"'] },
  { file: 'duplicate-step-name.yml', code: 'duplicate-key', line: 6, col: 3, problem: ['duplicate step name "clean"', 'line 2'], fix: ['unique', 'rename'] },
  { file: 'duplicate-step-key.yml', code: 'duplicate-key', line: 4, col: 5, problem: ['duplicate key "run" in step "clean"', 'line 3'], fix: ['only one'] },
  { file: 'invalid-step-name.yml', code: 'bad-step-name', line: 2, col: 3, problem: ['invalid step name "clean data"', 'letters, digits'], fix: ['"clean_data"'] },
  // needs.
  { file: 'needs-not-names.yml', code: 'bad-needs', line: 7, col: 7, problem: ['needs in step "stats" is a map', 'list of step names'], fix: ['needs: [clean, fetch]'] },
  { file: 'needs-missing-step.yml', code: 'unknown-step', line: 6, col: 13, problem: ['step "stats" needs "claen"', 'not a step', 'did you mean "clean"?'], fix: ['rename it to "clean"'] },
  { file: 'needs-itself.yml', code: 'self-need', line: 4, col: 12, problem: ['step "clean" needs itself'], fix: ['remove "clean"'] },
  { file: 'needs-cycle.yml', code: 'needs-cycle', line: 9, col: 13, problem: ['cycle', 'clean -> stats -> clean'], fix: ['remove "clean" from the needs of "stats"'] },
  // Where steps run.
  { file: 'executor-unknown.yml', code: 'bad-executor', line: 1, col: 11, problem: ['unknown executor "kubernetes"'], fix: ['local, slurm'] },
  { file: 'resources-unknown-key.yml', code: 'bad-resources', line: 8, col: 7, problem: ['unknown key "memory" in the resources of step "align"', 'did you mean "mem"?'], fix: ['rename it to "mem"', 'cpus, mem, time'] },
  { file: 'resources-bad-mem.yml', code: 'bad-resources', line: 4, col: 8, problem: ['in the resources of the pipeline, mem: must be megabytes', '(got "2 GB")'], fix: ['mem: 2048', 'mem: 2G'] },
  { file: 'resources-reserved-flag.yml', code: 'bad-resources', line: 6, col: 29, problem: ['resources of step "align"', 'slurm: --output is set by prov-make'], fix: ['remove "--output"'] },
  { file: 'needs-later-step.yml', code: 'needs-later-step', line: 4, col: 13, problem: ['step "stats" needs "clean"', 'after it'], fix: ['file order', 'move step "clean" above step "stats"'] },
];

function errorOf(fn: () => unknown): PipelineError {
  try {
    fn();
  } catch (e) {
    if (e instanceof PipelineError) return e;
    throw e;
  }
  throw new Error('expected a PipelineError, but the pipeline loaded');
}

describe('bad pipelines: one clear error each, at the node at fault', () => {
  it('has at least 18 fixtures, and an expectation for every fixture file', () => {
    const files = readdirSync(BAD).filter((f) => f.endsWith('.yml')).sort();
    expect(files.length).toBeGreaterThanOrEqual(18);
    expect(CASES.map((c) => c.file).sort()).toEqual(files);
  });

  it.each(CASES)('$file -> $code at $line:$col', (c) => {
    const file = path.join(BAD, c.file);
    const err = errorOf(() => loadPipeline(file));
    expect(err.code).toBe(c.code);
    expect(err.file).toBe(file);
    expect({ line: err.line, col: err.col }).toEqual({ line: c.line, col: c.col });
    for (const word of c.problem) expect(err.problem.toLowerCase()).toContain(word.toLowerCase());
    for (const word of c.fix) expect(err.fix.toLowerCase()).toContain(word.toLowerCase());

    // One message: "file:line:col: error: problem" and one hint line.
    const lines = err.format(BAD).split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toBe(`${c.file}:${c.line}:${c.col}: error: ${err.problem}`);
    expect(lines[1]).toBe(`  hint: ${err.fix}`);
    expect(err.message).toBe(err.format());
  });
});

describe('PipelineError.format', () => {
  it('formats the example from the brief', () => {
    const text = 'steps:\n  clean:\n    run: x\n  stats:\n    run: y\n    needs: [clean]\n    nedds: [clean]\n';
    const err = errorOf(() => parsePipeline(text, '/w/pipeline.yml'));
    expect(err.format('/w')).toBe(
      'pipeline.yml:7:5: error: unknown key "nedds" in step "stats". Did you mean "needs"?\n' +
        '  hint: rename it to "needs". A step accepts: run, cwd, env, passEnv, shell, needs, foreach, resources.',
    );
  });

  it('shows the path relative to the working folder when below it, absolute otherwise', () => {
    const err = errorOf(() => parsePipeline('steps: {}\n', '/w/sub/pipeline.yml'));
    expect(err.format('/w').split('\n')[0]).toMatch(/^sub\/pipeline\.yml:1:8: error: /);
    expect(err.format('/elsewhere').split('\n')[0]).toMatch(/^\/w\/sub\/pipeline\.yml:1:8: error: /);
  });
});

describe('reading the file', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'prov-make-pipeline-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('file not found: no position, and says where prov-make looks by default', () => {
    const err = errorOf(() => loadPipeline(path.join(dir, 'pipeline.yml')));
    expect(err.code).toBe('file-not-found');
    expect(err.line).toBeUndefined();
    expect(err.col).toBeUndefined();
    expect(err.problem).toContain('not found');
    expect(err.fix).toContain('./pipeline.yml by default');
    expect(err.format(dir)).toMatch(/^pipeline\.yml: error: file not found/);
  });

  it('file not found: points at a .yaml file of the same name', () => {
    const sub = path.join(dir, 'yaml-ext');
    mkdirSync(sub);
    writeFileSync(path.join(sub, 'pipeline.yaml'), 'steps: {a: {run: x}}\n');
    const err = errorOf(() => loadPipeline(path.join(sub, 'pipeline.yml')));
    expect(err.code).toBe('file-not-found');
    expect(err.fix).toContain('"pipeline.yaml"');
  });

  it('a folder instead of a file', () => {
    const sub = path.join(dir, 'project');
    mkdirSync(sub);
    writeFileSync(path.join(sub, 'pipeline.yml'), 'steps: {a: {run: x}}\n');
    const err = errorOf(() => loadPipeline(sub));
    expect(err.code).toBe('file-unreadable');
    expect(err.problem).toContain('folder');
    expect(err.fix).toContain(path.join(sub, 'pipeline.yml'));
  });
});

describe('more problems, in pipeline text', () => {
  const cases: { name: string; text: string; code: PipelineErrorCode; at: [number, number]; problem: string }[] = [
    { name: 'unclosed flow map', text: 'steps: {a: {run: x}\n', code: 'yaml-syntax', at: [1, 8], problem: 'flow map' },
    { name: 'unclosed list inside a map', text: 'steps:\n  a:\n    run: x\n    env: {A: [1, 2}\n', code: 'yaml-syntax', at: [4, 14], problem: 'flow sequence' },
    { name: 'file is a string', text: 'make all\n', code: 'not-a-map', at: [1, 1], problem: 'not a map' },
    { name: 'steps with no value', text: 'steps:\n', code: 'steps-empty', at: [1, 1], problem: 'steps is empty' },
    { name: 'steps is a string', text: 'steps: make\n', code: 'steps-not-a-map', at: [1, 8], problem: 'not the text "make"' },
    { name: 'run is a number', text: 'steps:\n  a:\n    run: 42\n', code: 'bad-run', at: [3, 10], problem: 'the number 42' },
    { name: 'run is true', text: 'steps:\n  a:\n    run: true\n', code: 'bad-run', at: [3, 10], problem: 'the boolean true' },
    { name: 'run with no value', text: 'steps:\n  a:\n    run:\n', code: 'bad-run', at: [3, 5], problem: 'is empty' },
    { name: 'run is a map', text: 'steps:\n  a:\n    run:\n      sh: x\n', code: 'bad-run', at: [4, 7], problem: 'a map' },
    { name: 'cwd with ~', text: 'steps:\n  a:\n    run: x\n    cwd: ~/data\n', code: 'bad-cwd', at: [4, 10], problem: '"~"' },
    { name: 'cwd is ..', text: 'steps:\n  a:\n    run: x\n    cwd: ..\n', code: 'bad-cwd', at: [4, 10], problem: 'outside' },
    { name: 'cwd is empty', text: 'steps:\n  a:\n    run: x\n    cwd: ""\n', code: 'bad-cwd', at: [4, 10], problem: 'empty' },
    { name: 'cwd is a list', text: 'steps:\n  a:\n    run: x\n    cwd: [a]\n', code: 'bad-cwd', at: [4, 10], problem: 'a list' },
    { name: 'env is a string', text: 'env: LC_ALL=C\nsteps:\n  a:\n    run: x\n', code: 'bad-env', at: [1, 6], problem: 'map of NAME: value' },
    { name: 'env name with =', text: 'env:\n  "A=B": 1\nsteps:\n  a:\n    run: x\n', code: 'bad-env', at: [2, 3], problem: 'invalid variable name' },
    { name: 'env value is a map', text: 'steps:\n  a:\n    run: x\n    env:\n      A: {b: c}\n', code: 'bad-env', at: [5, 10], problem: 'a map' },
    { name: 'duplicate env variable', text: 'env:\n  A: 1\n  A: 2\nsteps:\n  a:\n    run: x\n', code: 'duplicate-key', at: [3, 3], problem: 'duplicate variable "A"' },
    { name: 'duplicate top-level key', text: 'steps:\n  a:\n    run: x\nsteps:\n  b:\n    run: y\n', code: 'duplicate-key', at: [4, 1], problem: 'duplicate key "steps"' },
    { name: 'ignore is a map', text: 'ignore:\n  tmp: /tmp\nsteps:\n  a:\n    run: x\n', code: 'bad-ignore', at: [2, 3], problem: 'not a map' },
    { name: 'ignore entry is a list', text: 'ignore:\n  - [a]\nsteps:\n  a:\n    run: x\n', code: 'bad-ignore', at: [2, 5], problem: 'glob string' },
    { name: 'ignore glob unquoted *', text: 'ignore: [*.log]\nsteps:\n  a:\n    run: x\n', code: 'unknown-alias', at: [1, 10], problem: '"*.log"' },
    { name: 'ignore glob that never matches', text: 'ignore: ["[z-a]"]\nsteps:\n  a:\n    run: x\n', code: 'bad-ignore', at: [1, 10], problem: 'never match' },
    { name: 'needs entry is a map', text: 'steps:\n  a:\n    run: x\n  b:\n    run: y\n    needs: [{a: 1}]\n', code: 'bad-needs', at: [6, 13], problem: 'a map' },
    { name: 'needs entry empty', text: 'steps:\n  a:\n    run: x\n  b:\n    run: y\n    needs: [""]\n', code: 'bad-needs', at: [6, 13], problem: 'empty' },
    { name: 'needs a missing step, no near name', text: 'steps:\n  a:\n    run: x\n  b:\n    run: y\n    needs: zzzzzz\n', code: 'unknown-step', at: [6, 12], problem: 'not a step' },
    { name: 'three-step cycle', text: 'steps:\n  a:\n    run: x\n    needs: c\n  b:\n    run: y\n    needs: a\n  c:\n    run: z\n    needs: [b]\n', code: 'needs-cycle', at: [7, 12], problem: 'a -> c -> b -> a' },
    { name: 'step name ..', text: 'steps:\n  "..":\n    run: x\n', code: 'bad-step-name', at: [2, 3], problem: 'reserved' },
    { name: 'step name with a slash', text: 'steps:\n  a/b:\n    run: x\n', code: 'bad-step-name', at: [2, 3], problem: '"a/b"' },
    { name: 'empty step name', text: 'steps:\n  "":\n    run: x\n', code: 'bad-step-name', at: [2, 3], problem: 'invalid step name ""' },
    { name: 'null key', text: 'steps:\n  ~:\n    run: x\n', code: 'bad-key', at: [2, 3], problem: 'empty key' },
    { name: 'list as key', text: 'steps:\n  ? [a, b]\n  : {run: x}\n', code: 'bad-key', at: [2, 5], problem: 'a list' },
    { name: 'step looks like it belongs under steps', text: 'clean:\n  run: x\nsteps:\n  a:\n    run: x\n', code: 'unknown-key', at: [1, 1], problem: 'looks like a step' },
    { name: 'top-level key in a step', text: 'steps:\n  a:\n    run: x\n    ignore: [a]\n', code: 'unknown-key', at: [4, 5], problem: 'top-level key' },
    { name: 'merge key', text: 'steps:\n  a:\n    <<: {run: x}\n', code: 'unknown-key', at: [3, 5], problem: 'merge keys' },
    { name: 'unknown key, no near name', text: 'steps:\n  a:\n    run: x\n    timeout: 5\n', code: 'unknown-key', at: [4, 5], problem: 'unknown key "timeout" in step "a"' },
    { name: 'BOM keeps columns right', text: '\ufeffstep:\n  a:\n    run: x\n', code: 'unknown-key', at: [1, 1], problem: '"step"' },
    { name: 'CRLF line ends', text: 'steps:\r\n  a:\r\n    run: x\r\n    nedds: [a]\r\n', code: 'unknown-key', at: [4, 5], problem: '"nedds"' },
    { name: 'executor is empty', text: 'executor:\nsteps:\n  a:\n    run: x\n', code: 'bad-executor', at: [1, 1], problem: 'executor is empty' },
    { name: 'executor is a list', text: 'executor: [slurm]\nsteps:\n  a:\n    run: x\n', code: 'bad-executor', at: [1, 11], problem: 'not a list' },
    { name: 'executor misspelt', text: 'executor: slrum\nsteps:\n  a:\n    run: x\n', code: 'bad-executor', at: [1, 11], problem: 'Did you mean "slurm"?' },
    { name: 'executor in a step', text: 'steps:\n  a:\n    run: x\n    executor: slurm\n', code: 'unknown-key', at: [4, 5], problem: 'top-level key' },
    { name: 'resources is a list', text: 'resources: [cpus]\nsteps:\n  a:\n    run: x\n', code: 'bad-resources', at: [1, 12], problem: 'must be a map' },
    { name: 'resources walltime', text: 'steps:\n  a:\n    run: x\n    resources: { walltime: 30 }\n', code: 'bad-resources', at: [4, 18], problem: 'Did you mean "time"?' },
    { name: 'resources cpus zero', text: 'steps:\n  a:\n    run: x\n    resources:\n      cpus: 0\n', code: 'bad-resources', at: [5, 13], problem: 'cpus: must be a whole number' },
    { name: 'resources time with a unit', text: 'resources:\n  time: 2h\nsteps:\n  a:\n    run: x\n', code: 'bad-resources', at: [2, 9], problem: 'time: must be minutes' },
    { name: 'resources value missing', text: 'resources:\n  mem:\nsteps:\n  a:\n    run: x\n', code: 'bad-resources', at: [2, 3], problem: 'mem in the resources of the pipeline has no value' },
    { name: 'resources value is a map', text: 'resources:\n  gpus: {a100: 2}\nsteps:\n  a:\n    run: x\n', code: 'bad-resources', at: [2, 9], problem: 'single value' },
    { name: 'resources slurm is a string', text: 'resources:\n  slurm: --qos=long\nsteps:\n  a:\n    run: x\n', code: 'bad-resources', at: [2, 10], problem: 'list of sbatch flags' },
    { name: 'resources slurm flag without a dash', text: 'resources:\n  slurm: [qos=long]\nsteps:\n  a:\n    run: x\n', code: 'bad-resources', at: [2, 10], problem: 'list of sbatch flags' },
    { name: 'resources duplicate key', text: 'resources:\n  mem: 1G\n  mem: 2G\nsteps:\n  a:\n    run: x\n', code: 'duplicate-key', at: [3, 3], problem: 'duplicate key "mem" in the resources of the pipeline' },
    { name: 'first problem only (document order)', text: 'steps:\n  a:\n    runn: x\n  b:\n    cmd: y\n', code: 'unknown-key', at: [3, 5], problem: '"runn"' },
  ];

  it.each(cases)('$name', (c) => {
    const err = errorOf(() => parsePipeline(c.text, '/w/pipeline.yml'));
    expect(err.code).toBe(c.code);
    expect([err.line, err.col]).toEqual(c.at);
    expect(err.problem.toLowerCase()).toContain(c.problem.toLowerCase());
    expect(err.fix.length).toBeGreaterThan(10);
  });
});

describe('suggestions', () => {
  it.each([
    ['nedds', ['run', 'cwd', 'env', 'needs'], 'needs'],
    ['need', ['run', 'cwd', 'env', 'needs'], 'needs'],
    ['Run', ['run', 'cwd', 'env', 'needs'], 'run'],
    ['cdw', ['run', 'cwd', 'env', 'needs'], 'cwd'],
    ['step', ['env', 'ignore', 'steps'], 'steps'],
    ['envs', ['env', 'ignore', 'steps'], 'env'],
    ['enviroment', ['env', 'ignore', 'steps'], 'env'],
    ['ignroe', ['env', 'ignore', 'steps'], 'ignore'],
    ['claen', ['clean', 'stats'], 'clean'],
    ['timeout', ['run', 'cwd', 'env', 'needs'], undefined],
    ['x', ['run', 'cwd', 'env', 'needs'], undefined],
  ])('%s -> %s', (word, candidates, expected) => {
    expect(suggest(word, candidates)).toBe(expected);
  });

  it('aliases from other tools win over spelling', () => {
    const aliases = { command: 'run', dir: 'cwd', depends: 'needs', deps: 'needs', dependson: 'needs' };
    expect(suggest('command', ['run', 'cwd', 'env', 'needs'], aliases)).toBe('run');
    expect(suggest('dir', ['run', 'cwd', 'env', 'needs'], aliases)).toBe('cwd');
    expect(suggest('depends_on', ['run', 'cwd', 'env', 'needs'], aliases)).toBe('needs');
    expect(suggest('dependsOn', ['run', 'cwd', 'env', 'needs'], aliases)).toBe('needs');
  });

  it('the loader knows the usual words', () => {
    const keyIn = (k: string) => errorOf(() => parsePipeline(`steps:\n  a:\n    run: x\n    ${k}: y\n`, '/w/p.yml')).problem;
    expect(keyIn('cmd')).toContain('Did you mean "run"?');
    expect(keyIn('script')).toContain('Did you mean "run"?');
    expect(keyIn('workdir')).toContain('Did you mean "cwd"?');
    expect(keyIn('working_directory')).toContain('Did you mean "cwd"?');
    expect(keyIn('deps')).toContain('Did you mean "needs"?');
    expect(keyIn('depends_on')).toContain('Did you mean "needs"?');
    expect(keyIn('environment')).toContain('Did you mean "env"?');
    const top = (k: string) => errorOf(() => parsePipeline(`${k}: y\nsteps:\n  a:\n    run: x\n`, '/w/p.yml')).problem;
    expect(top('environment')).toContain('Did you mean "env"?');
    expect(top('jobs')).toContain('Did you mean "steps"?');
    expect(top('exclude')).toContain('Did you mean "ignore"?');
  });

  it('edit distance counts a transposition as one edit', () => {
    expect(editDistance('nedds', 'needs')).toBe(1);
    expect(editDistance('ab', 'ba')).toBe(1);
    expect(editDistance('', 'abc')).toBe(3);
  });
});
