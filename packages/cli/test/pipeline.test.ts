import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml, parseDocument } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import {
  canonicalDefinition,
  definitionOf,
  loadPipeline,
  parsePipeline,
  STEP_KEYS,
  STEP_NAME_PATTERN,
  TOP_LEVEL_KEYS,
} from '../src/pipeline/pipeline.js';
import { PIPELINE_SCHEMA_PATH } from '../src/schema/index.js';

const BAD = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../fixtures/bad-pipelines');

/** Good pipelines: each must load, and the JSON Schema must accept each. */
const GOOD: Record<string, string> = {
  'design example': `# pipeline.yml
env:                       # optional: set for every step, and part of every step's identity
  LC_ALL: C
ignore: ["/tmp/**"]        # optional: paths never treated as dependencies (picomatch globs)
steps:
  clean:
    run: python3 clean.py data/raw.csv build/clean.csv
  stats:
    run: python3 stats.py build/clean.csv > out.csv
`,
  'every feature': `env:
  LC_ALL: C
  SEED: 42
  VERSION: 1.10
  HEX: 0x1F
  DEBUG: false
  EMPTY: ""
ignore:
  - /tmp/**
  - "**/*.log"
steps:
  zeta:
    run: ./fetch.sh
    env:
      SEED: 7
      EXTRA: "a: b"
  alpha:
    run: |
      python3 clean.py
      python3 check.py
    cwd: ./sub/dir/
    needs: zeta
  mid.step-2_b:
    run: "[ -f out.csv ] || make out.csv"
    cwd: sub
    needs: [alpha, zeta, alpha]
    env:
  "01":
    run: echo numbered
    needs:
`,
  'flow style': `{steps: {a: {run: make}, b: {run: make test, needs: [a]}}}
`,
  'anchors and aliases': `env: &common
  LC_ALL: C
steps:
  a:
    run: &cmd make all
    env: *common
  b:
    run: *cmd
    needs: [a]
`,
  'on a cluster': `executor: slurm
resources:
  partition: short
  time: "1:00:00"
  mem: 2G
  slurm: ["--qos=normal"]
steps:
  align:
    run: bwa mem ref.fa reads.fq > aligned.sam
    resources: { cpus: 8, mem: 16000, time: 240, gpus: "a100:1", account: lab-7, slurm: ["--constraint=avx2"] }
  plot:
    run: python3 plot.py aligned.sam
    resources:
`,
  'null optional keys': `env:
ignore:
steps:
  a:
    run: make
    env: ~
    needs: null
`,
};

describe('good pipelines', () => {
  it.each(Object.entries(GOOD))('%s loads', (_name, text) => {
    const p = parsePipeline(text, '/w/pipeline.yml');
    expect(p.steps.length).toBeGreaterThan(0);
  });

  it('the design example', () => {
    const p = parsePipeline(GOOD['design example'], '/w/project/pipeline.yml');
    expect(p).toEqual({
      file: '/w/project/pipeline.yml',
      workspace: '/w/project',
      env: { LC_ALL: 'C' },
      passEnv: [],
      shell: ['/bin/sh', '-e', '-c'],
      ignore: ['/tmp/**'],
      steps: [
        {
          name: 'clean',
          run: 'python3 clean.py data/raw.csv build/clean.csv',
          cwd: '/w/project',
          cwdRelative: '.',
          env: { LC_ALL: 'C' },
          passEnv: [],
          shell: ['/bin/sh', '-e', '-c'],
          needs: [],
          location: { line: 6, col: 3 },
        },
        {
          name: 'stats',
          run: 'python3 stats.py build/clean.csv > out.csv',
          cwd: '/w/project',
          cwdRelative: '.',
          env: { LC_ALL: 'C' },
          passEnv: [],
          shell: ['/bin/sh', '-e', '-c'],
          needs: [],
          location: { line: 8, col: 3 },
        },
      ],
    });
  });

  it('keeps file order, merges env, normalises needs, resolves cwd, keeps scalars as written', () => {
    const p = parsePipeline(GOOD['every feature'], '/w/pipeline.yml');
    expect(p.steps.map((s) => s.name)).toEqual(['zeta', 'alpha', 'mid.step-2_b', '01']);
    expect(p.env).toEqual({ LC_ALL: 'C', SEED: '42', VERSION: '1.10', HEX: '0x1F', DEBUG: 'false', EMPTY: '' });
    expect(p.ignore).toEqual(['/tmp/**', '**/*.log']);

    const [zeta, alpha, mid, numbered] = p.steps;
    expect(zeta.env).toEqual({ LC_ALL: 'C', SEED: '7', VERSION: '1.10', HEX: '0x1F', DEBUG: 'false', EMPTY: '', EXTRA: 'a: b' });
    expect(zeta.needs).toEqual([]);
    expect(zeta.cwd).toBe('/w');

    expect(alpha.run).toBe('python3 clean.py\npython3 check.py\n');
    expect(alpha.cwd).toBe('/w/sub/dir');
    expect(alpha.cwdRelative).toBe('./sub/dir/');
    expect(alpha.needs).toEqual(['zeta']);
    expect(alpha.location).toEqual({ line: 17, col: 3 });

    expect(mid.run).toBe('[ -f out.csv ] || make out.csv');
    expect(mid.cwd).toBe('/w/sub');
    expect(mid.needs).toEqual(['alpha', 'zeta']);
    expect(mid.env).toEqual(p.env);

    expect(numbered.name).toBe('01');
    expect(numbered.needs).toEqual([]);
  });

  it('flow style, aliases and empty optional keys', () => {
    const flow = parsePipeline(GOOD['flow style'], '/w/pipeline.yml');
    expect(flow.steps.map((s) => [s.name, s.run, s.needs])).toEqual([
      ['a', 'make', []],
      ['b', 'make test', ['a']],
    ]);
    const aliased = parsePipeline(GOOD['anchors and aliases'], '/w/pipeline.yml');
    expect(aliased.steps.map((s) => [s.run, s.env])).toEqual([
      ['make all', { LC_ALL: 'C' }],
      ['make all', { LC_ALL: 'C' }],
    ]);
    const empty = parsePipeline(GOOD['null optional keys'], '/w/pipeline.yml');
    expect(empty.env).toEqual({});
    expect(empty.ignore).toEqual([]);
    expect(empty.steps[0]).toMatchObject({ env: {}, needs: [] });
  });

  it('executor and resources: the pipeline\'s resources under each step\'s own, slurm flags added up; none of it in a step\'s identity', () => {
    const p = parsePipeline(GOOD['on a cluster'], '/w/pipeline.yml');
    expect(p.executor).toBe('slurm');
    const [align, plot] = p.steps;
    expect(align.resources).toEqual({ partition: 'short', time: 240, mem: 16000, cpus: 8, gpus: 'a100:1', account: 'lab-7', slurm: ['--qos=normal', '--constraint=avx2'] });
    expect(plot.resources).toEqual({ partition: 'short', time: '1:00:00', mem: '2G', slurm: ['--qos=normal'] });
    const bare = parsePipeline('steps:\n  align:\n    run: bwa mem ref.fa reads.fq > aligned.sam\n  plot:\n    run: python3 plot.py aligned.sam\n', '/w/pipeline.yml');
    expect(bare.executor).toBeUndefined();
    expect(bare.steps[0].resources).toBeUndefined();
    expect(p.steps.map(canonicalDefinition)).toEqual(bare.steps.map(canonicalDefinition));
  });

  it('a variable named __proto__ is an ordinary variable', () => {
    const p = parsePipeline('env:\n  __proto__: x\nsteps:\n  a:\n    run: make\n', '/w/pipeline.yml');
    expect(Object.keys(p.steps[0].env)).toEqual(['__proto__']);
    expect(Object.getPrototypeOf(p.steps[0].env)).toBe(Object.prototype);
    expect(Object.keys(definitionOf(p.steps[0]).env)).toEqual(['__proto__']);
  });

  it('resolves a relative file path against the working folder', () => {
    const p = parsePipeline('steps: {a: {run: x}}', 'some/dir/pipeline.yml');
    expect(p.file).toBe(path.resolve('some/dir/pipeline.yml'));
    expect(p.workspace).toBe(path.resolve('some/dir'));
  });

  describe('from disk', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'prov-make-pipeline-'));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));
    it('loadPipeline reads the file', () => {
      const file = path.join(dir, 'pipeline.yml');
      writeFileSync(file, GOOD['design example']);
      const p = loadPipeline(file);
      expect(p.file).toBe(file);
      expect(p.workspace).toBe(dir);
      expect(p.steps.map((s) => s.name)).toEqual(['clean', 'stats']);
    });
  });
});

describe('step definitions', () => {
  const stepOf = (text: string, file = '/w/pipeline.yml') => parsePipeline(text, file).steps[0];

  it('is run, normalised relative cwd and merged env with sorted keys', () => {
    const step = stepOf('env: {Z: 1, A: 2}\nsteps:\n  a:\n    run: make\n    cwd: ./sub/dir/\n    env: {M: 3, Z: 9}\n');
    const def = definitionOf(step);
    expect(def).toEqual({ run: 'make', cwd: 'sub/dir', env: { A: '2', M: '3', Z: '9' }, shell: ['/bin/sh', '-e', '-c'] });
    expect(Object.keys(def)).toEqual(['run', 'cwd', 'env', 'shell']);
    expect(Object.keys(def.env)).toEqual(['A', 'M', 'Z']);
    expect(canonicalDefinition(step)).toBe('{"run":"make","cwd":"sub/dir","env":{"A":"2","M":"3","Z":"9"},"shell":["/bin/sh","-e","-c"]}');
  });

  it('does not change with env order, cwd spelling, needs or the workspace path', () => {
    const a = stepOf('steps:\n  a:\n    run: make\n    cwd: sub\n    env: {X: 1, Y: 2}\n', '/one/pipeline.yml');
    const b = stepOf('steps:\n  a:\n    run: make\n    cwd: ./sub/\n    env: {Y: 2, X: 1}\n', '/two/elsewhere/pipeline.yml');
    expect(canonicalDefinition(a)).toBe(canonicalDefinition(b));
    const withNeeds = parsePipeline('steps:\n  b:\n    run: x\n  a:\n    run: make\n    cwd: sub\n    env: {X: 1, Y: 2}\n    needs: [b]\n', '/w/p.yml').steps[1];
    expect(withNeeds.name).toBe('a');
    expect(canonicalDefinition(withNeeds)).toBe(canonicalDefinition(a));
  });

  it('changes with the command, the cwd or any env value (top-level included)', () => {
    const base = canonicalDefinition(stepOf('env: {A: 1}\nsteps:\n  a:\n    run: make\n'));
    expect(canonicalDefinition(stepOf('env: {A: 1}\nsteps:\n  a:\n    run: make all\n'))).not.toBe(base);
    expect(canonicalDefinition(stepOf('env: {A: 1}\nsteps:\n  a:\n    run: make\n    cwd: sub\n'))).not.toBe(base);
    expect(canonicalDefinition(stepOf('env: {A: 2}\nsteps:\n  a:\n    run: make\n'))).not.toBe(base);
    expect(canonicalDefinition(stepOf('env: {A: 1.0}\nsteps:\n  a:\n    run: make\n'))).not.toBe(base);
    expect(canonicalDefinition(stepOf('steps:\n  a:\n    run: make\n'))).not.toBe(base);
    expect(canonicalDefinition(stepOf('steps:\n  a:\n    run: make\n    cwd: .\n'))).toBe(canonicalDefinition(stepOf('steps:\n  a:\n    run: make\n')));
    expect(canonicalDefinition(stepOf('env: {A: 1}\nsteps:\n  a:\n    run: make\n    shell: bash\n'))).not.toBe(base);
    expect(canonicalDefinition(stepOf('env: {A: 1}\nshell: bash\nsteps:\n  a:\n    run: make\n    shell: sh\n'))).toBe(base);
  });

  it('keeps secrets hashed: env values and inherited values whose names say so', () => {
    const step = stepOf('env: {API_TOKEN: abc, PLAIN: abc}\nsteps:\n  a:\n    run: make\n');
    const def = definitionOf(step, { GITHUB_TOKEN: 'ghp_x', CC: 'gcc' });
    expect(def.env.PLAIN).toBe('abc');
    expect(def.env.API_TOKEN).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(def.inherited).toEqual({ CC: 'gcc', GITHUB_TOKEN: expect.stringMatching(/^sha256:/) });
    expect(JSON.stringify(def)).not.toContain('ghp_x');
  });
});

// --- JSON Schema ---------------------------------------------------------------------------------------------

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type Schema = { [k: string]: Json } | boolean;

const schema = JSON.parse(readFileSync(PIPELINE_SCHEMA_PATH, 'utf8')) as { [k: string]: Json };

/** Keywords that only annotate (editors show them); the validator below skips them. */
const ANNOTATIONS = new Set(['$schema', 'title', 'description', 'markdownDescription', 'defaultSnippets', 'examples', 'default', 'definitions']);

function typeOf(v: Json): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v;
}

/**
 * A tiny draft-07 validator for exactly the keywords pipeline.schema.json uses. It throws on any other
 * keyword, so the schema cannot grow a rule this test silently ignores.
 */
function validate(s: Schema, v: Json, at = '$'): string[] {
  if (s === true) return [];
  if (s === false) return [`${at}: not allowed`];
  const errors: string[] = [];
  for (const [kw, arg] of Object.entries(s)) {
    if (ANNOTATIONS.has(kw)) continue;
    switch (kw) {
      case '$ref': {
        const target = (arg as string).replace(/^#\//, '').split('/').reduce<Json>((o, k) => (o as { [k: string]: Json })[k], schema);
        if (target === undefined) throw new Error(`unresolved $ref ${String(arg)}`);
        errors.push(...validate(target as Schema, v, at));
        break;
      }
      case 'type': {
        const types = Array.isArray(arg) ? (arg as string[]) : [arg as string];
        const t = typeOf(v);
        const ok = types.some((x) => x === t || (x === 'integer' && typeof v === 'number' && Number.isInteger(v)));
        if (!ok) errors.push(`${at}: is ${t}, not ${types.join('|')}`);
        break;
      }
      case 'enum':
        if (!(arg as Json[]).some((e) => JSON.stringify(e) === JSON.stringify(v))) errors.push(`${at}: not in enum`);
        break;
      case 'pattern':
        if (typeof v === 'string' && !new RegExp(arg as string, 'u').test(v)) errors.push(`${at}: does not match ${String(arg)}`);
        break;
      case 'minimum':
        if (typeof v === 'number' && v < (arg as number)) errors.push(`${at}: below ${String(arg)}`);
        break;
      case 'minLength':
        if (typeof v === 'string' && [...v].length < (arg as number)) errors.push(`${at}: too short`);
        break;
      case 'minProperties':
        if (typeOf(v) === 'object' && Object.keys(v as object).length < (arg as number)) errors.push(`${at}: too few properties`);
        break;
      case 'required':
        if (typeOf(v) === 'object') for (const k of arg as string[]) if (!(k in (v as object))) errors.push(`${at}: missing ${k}`);
        break;
      case 'properties':
        if (typeOf(v) === 'object') {
          for (const [k, sub] of Object.entries(arg as { [k: string]: Json })) {
            if (Object.prototype.hasOwnProperty.call(v, k)) errors.push(...validate(sub as Schema, (v as { [k: string]: Json })[k], `${at}.${k}`));
          }
        }
        break;
      case 'additionalProperties':
        if (typeOf(v) === 'object') {
          const known = Object.keys((s.properties ?? {}) as object);
          for (const [k, sub] of Object.entries(v as { [k: string]: Json })) {
            if (!known.includes(k)) errors.push(...validate(arg as Schema, sub, `${at}.${k}`));
          }
        }
        break;
      case 'propertyNames':
        if (typeOf(v) === 'object') for (const k of Object.keys(v as object)) errors.push(...validate(arg as Schema, k, `${at}[name ${k}]`));
        break;
      case 'items':
        if (Array.isArray(v)) v.forEach((item, i) => errors.push(...validate(arg as Schema, item, `${at}[${i}]`)));
        break;
      case 'anyOf':
        if (!(arg as Schema[]).some((sub) => validate(sub, v, at).length === 0)) errors.push(`${at}: matches none of anyOf`);
        break;
      case 'not':
        if (validate(arg as Schema, v, at).length === 0) errors.push(`${at}: matches "not"`);
        break;
      default:
        throw new Error(`schema keyword "${kw}" is not handled by the test validator`);
    }
  }
  return errors;
}

/** Fixtures whose problem the schema cannot express (semantic checks only the loader makes). */
const SCHEMA_CANNOT_EXPRESS = new Set([
  'cwd-escapes-workspace.yml', // "sub/../../x": needs path arithmetic
  'duplicate-step-key.yml', // duplicate keys vanish before validation
  'duplicate-step-name.yml',
  'ignore-invalid-glob.yml', // glob syntax
  'needs-missing-step.yml', // references between steps
  'needs-itself.yml',
  'needs-cycle.yml',
  'needs-later-step.yml',
  'resources-reserved-flag.yml', // which sbatch flags prov-make sets itself
]);
/** Fixtures that are not valid YAML (or use an undefined alias): editors flag those without the schema. */
const NOT_YAML = new Set([
  'yaml-unclosed-quote.yml',
  'yaml-tab-indentation.yml',
  'yaml-unquoted-colon-in-run.yml',
  'yaml-unquoted-bracket-in-run.yml',
  'yaml-multiple-documents.yml',
  'unknown-alias.yml',
]);

function yamlToJson(text: string): Json {
  return parseYaml(text, { uniqueKeys: false }) as Json;
}

describe('pipeline.schema.json', () => {
  it('is draft-07 and describes exactly the keys the loader accepts', () => {
    expect(schema.$schema).toBe('http://json-schema.org/draft-07/schema#');
    expect(schema.type).toBe('object');
    expect(schema.additionalProperties).toBe(false);
    expect(schema.required).toEqual(['steps']);
    const props = schema.properties as { [k: string]: { [k: string]: Json } };
    expect(Object.keys(props).sort()).toEqual([...TOP_LEVEL_KEYS].sort());
    const step = (schema.definitions as { [k: string]: { [k: string]: Json } }).step;
    expect(step.additionalProperties).toBe(false);
    expect(step.required).toEqual(['run']);
    expect(Object.keys(step.properties as object).sort()).toEqual([...STEP_KEYS].sort());
    expect((props.steps.propertyNames as { pattern: string }).pattern).toBe(STEP_NAME_PATTERN.source);
    expect(props.steps.additionalProperties).toEqual({ $ref: '#/definitions/step' });
  });

  it('gives every key a description (editors show it on hover)', () => {
    const missing: string[] = [];
    const walk = (node: Json, where: string): void => {
      if (node === null || typeof node !== 'object') return;
      if (Array.isArray(node)) return node.forEach((n, i) => walk(n, `${where}[${i}]`));
      if (node.properties && typeof node.properties === 'object') {
        for (const [k, sub] of Object.entries(node.properties as { [k: string]: Json })) {
          if (typeof (sub as { description?: unknown }).description !== 'string') missing.push(`${where}.${k}`);
        }
      }
      for (const [k, sub] of Object.entries(node)) if (k !== 'defaultSnippets') walk(sub, `${where}.${k}`);
    };
    walk(schema, '$');
    expect(missing).toEqual([]);
    expect(typeof schema.description).toBe('string');
  });

  it.each(Object.entries(GOOD))('accepts the good pipeline: %s', (_name, text) => {
    expect(validate(schema, yamlToJson(text))).toEqual([]);
  });

  const fixtures = readdirSync(BAD).filter((f) => f.endsWith('.yml')).sort();

  it.each(fixtures.filter((f) => !NOT_YAML.has(f) && !SCHEMA_CANNOT_EXPRESS.has(f)))('rejects the bad pipeline %s', (f) => {
    const text = readFileSync(path.join(BAD, f), 'utf8');
    expect(validate(schema, yamlToJson(text))).not.toEqual([]);
  });

  it.each([...SCHEMA_CANNOT_EXPRESS])('cannot express %s (only the loader catches it)', (f) => {
    const text = readFileSync(path.join(BAD, f), 'utf8');
    expect(validate(schema, yamlToJson(text))).toEqual([]);
    expect(() => loadPipeline(path.join(BAD, f))).toThrow();
  });

  it.each([...NOT_YAML])('%s is not valid YAML', (f) => {
    const text = readFileSync(path.join(BAD, f), 'utf8');
    const doc = parseDocument(text);
    const broken = doc.errors.length > 0 || (() => { try { doc.toJS(); return false; } catch { return true; } })();
    expect(broken).toBe(true);
  });
});
