/**
 * The provenance exports (DESIGN section 5): W3C PROV-JSON from `graph --prov` and `why FILE --prov`,
 * checked by the validator in prov-json-validator.ts (itself tested first on hand-written documents),
 * then for meaning on the bundled example pipeline; and DOT from `graph --dot` / `why FILE --dot`,
 * rendered by Graphviz.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { cli, runJson, statuses, workspace, exampleWorkspace } from './cli-helpers.js';
import { checkProvConstraints, describeIssues, isXsdDateTime, validateProvJson, type ProvIssue } from './prov-json-validator.js';

const example = exampleWorkspace;

// ---------------------------------------------------------------------------------------------
// The validator, on documents written by hand

/* eslint-disable @typescript-eslint/no-explicit-any */
const GOOD = {
  prefix: { ex: 'http://example.org/ns#', pm: 'urn:prov-make:' },
  entity: {
    'ex:raw.csv': { 'prov:label': 'raw data', 'pm:mtimeNs': '1795390957557123456', 'pm:size': 13459, 'ex:note': { $: 'brut', lang: 'fr' } },
    'ex:out.csv': { 'prov:type': { $: 'ex:Table', type: 'xsd:QName' }, 'ex:checked': true, 'ex:tags': ['a', 'b'] },
  },
  activity: {
    'ex:clean-1': { 'prov:startTime': '2024-01-01T10:00:00Z', 'prov:endTime': '2024-01-01T10:00:01.250Z', 'ex:exit': 0 },
    'ex:stats-1': { 'prov:startTime': '2024-01-01T10:00:02Z', 'prov:endTime': '2024-01-01T10:00:03.5Z' },
  },
  agent: { 'ex:tool': { 'prov:type': { $: 'prov:SoftwareAgent', type: 'xsd:QName' }, 'prov:label': 'the tool' } },
  used: {
    '_:u1': { 'prov:activity': 'ex:clean-1', 'prov:entity': 'ex:raw.csv', 'prov:time': '2024-01-01T10:00:00.5Z' },
  },
  wasGeneratedBy: { '_:g1': { 'prov:entity': 'ex:out.csv', 'prov:activity': 'ex:stats-1', 'prov:time': '2024-01-01T10:00:03Z' } },
  wasDerivedFrom: { '_:d1': { 'prov:generatedEntity': 'ex:out.csv', 'prov:usedEntity': 'ex:raw.csv', 'prov:generation': '_:g1', 'prov:usage': '_:u1' } },
  wasInformedBy: { '_:i1': { 'prov:informed': 'ex:stats-1', 'prov:informant': 'ex:clean-1' } },
  wasAssociatedWith: { '_:a1': { 'prov:activity': 'ex:clean-1', 'prov:agent': 'ex:tool' } },
  wasAttributedTo: { 'ex:attr1': { 'prov:entity': 'ex:out.csv', 'prov:agent': 'ex:tool' } },
};
const good = (): any => structuredClone(GOOD);
const rules = (issues: ProvIssue[]) => [...new Set(issues.map((i) => i.rule))].sort();

describe('the PROV-JSON validator itself', () => {
  it('accepts well-formed documents', () => {
    expect(validateProvJson(good()), describeIssues(validateProvJson(good()))).toEqual([]);
    expect(checkProvConstraints(good())).toEqual([]);
    expect(validateProvJson({})).toEqual([]);
    // several records with one id, a bundle with its own records, a default namespace
    const more: any = good();
    more.used['_:u1'] = [more.used['_:u1'], { 'prov:activity': 'ex:stats-1' }];
    more.prefix.default = 'http://example.org/default#';
    more.entity.plain = {};
    more.bundle = { 'ex:b1': { entity: { 'ex:inner': {} }, wasAttributedTo: { '_:x': { 'prov:entity': 'ex:inner', 'prov:agent': 'ex:inner-agent' } }, agent: { 'ex:inner-agent': {} } } };
    expect(validateProvJson(more), describeIssues(validateProvJson(more))).toEqual([]);
  });

  const bad: [string, (d: any) => void, string][] = [
    ['an unknown top-level key', (d) => (d.entities = {}), 'top-level-key'],
    ['a section that is not an object', (d) => (d.used = []), 'section'],
    ['a prefix mapped to something that is not a URI', (d) => (d.prefix.ex = 'not a uri'), 'prefix'],
    ['prov: redefined', (d) => (d.prefix.prov = 'http://example.org/prov#'), 'prefix'],
    ['an id with an undeclared prefix', (d) => (d.entity['zz:x'] = {}), 'undeclared-prefix'],
    ['an attribute with an undeclared prefix', (d) => (d.entity['ex:raw.csv']['zz:size'] = 1), 'undeclared-prefix'],
    ['an id with a slash after the prefix', (d) => (d.entity['ex:data/raw.csv'] = {}), 'id-characters'],
    ['a blank id for an element', (d) => (d.entity['_:e1'] = {}), 'blank-node'],
    ['used without prov:activity', (d) => delete d.used['_:u1']['prov:activity'], 'required-attribute'],
    ['wasGeneratedBy without prov:entity', (d) => delete d.wasGeneratedBy['_:g1']['prov:entity'], 'required-attribute'],
    ['wasDerivedFrom without prov:usedEntity', (d) => delete d.wasDerivedFrom['_:d1']['prov:usedEntity'], 'required-attribute'],
    ['wasDerivedFrom without prov:generatedEntity', (d) => delete d.wasDerivedFrom['_:d1']['prov:generatedEntity'], 'required-attribute'],
    ['wasInformedBy without prov:informant', (d) => delete d.wasInformedBy['_:i1']['prov:informant'], 'required-attribute'],
    ['wasInformedBy without prov:informed', (d) => delete d.wasInformedBy['_:i1']['prov:informed'], 'required-attribute'],
    ['wasAssociatedWith without prov:activity', (d) => delete d.wasAssociatedWith['_:a1']['prov:activity'], 'required-attribute'],
    ['a reference to an undeclared entity', (d) => (d.used['_:u1']['prov:entity'] = 'ex:missing'), 'undeclared-reference'],
    ['a reference to an undeclared activity', (d) => (d.wasInformedBy['_:i1']['prov:informant'] = 'ex:nobody'), 'undeclared-reference'],
    ['an entity where an activity belongs', (d) => (d.used['_:u1']['prov:activity'] = 'ex:raw.csv'), 'wrong-kind'],
    ['prov:generation naming a usage', (d) => (d.wasDerivedFrom['_:d1']['prov:generation'] = '_:u1'), 'undeclared-reference'],
    ['a start time that is not an xsd:dateTime', (d) => (d.activity['ex:clean-1']['prov:startTime'] = '2024-01-01 10:00:00'), 'datetime'],
    ['a prov:time in milliseconds', (d) => (d.used['_:u1']['prov:time'] = 1704103200000), 'datetime'],
    ['a 13th month', (d) => (d.activity['ex:clean-1']['prov:endTime'] = '2024-13-01T10:00:00Z'), 'datetime'],
    ['a nanosecond mtime as a number', (d) => (d.entity['ex:raw.csv']['pm:mtimeNs'] = 1795390957557123456), 'nanoseconds'],
    ['an integer past 2^53', (d) => (d.entity['ex:raw.csv']['pm:inode'] = 2 ** 60), 'unsafe-number'],
    ['a typed literal without "$"', (d) => (d.entity['ex:raw.csv']['ex:note'] = { type: 'xsd:string' }), 'typed-literal'],
    ['a typed literal with other keys', (d) => (d.entity['ex:raw.csv']['ex:note'] = { $: 'x', value: 'y' }), 'typed-literal'],
    ['null as a value', (d) => (d.entity['ex:raw.csv']['ex:note'] = null), 'attribute-value'],
    ['a nested object as a value', (d) => (d.entity['ex:raw.csv']['ex:note'] = { a: { b: 1 } }), 'typed-literal'],
    ['a prov: attribute that does not exist', (d) => (d.entity['ex:raw.csv']['prov:size'] = 3), 'prov-attribute'],
    ['prov:startTime on an entity', (d) => (d.entity['ex:raw.csv']['prov:startTime'] = '2024-01-01T10:00:00Z'), 'prov-attribute'],
    ['prov:type of a PROV type as a plain string', (d) => (d.agent['ex:tool']['prov:type'] = 'prov:SoftwareAgent'), 'qname-literal'],
    ['one id as an entity and an activity', (d) => (d.activity['ex:raw.csv'] = {}), 'duplicate-id'],
    ['an error inside a bundle', (d) => (d.bundle = { 'ex:b': { used: { '_:u': {} } } }), 'required-attribute'],
  ];
  it.each(bad)('rejects %s', (_what, mutate, rule) => {
    const d = good();
    mutate(d);
    const issues = validateProvJson(d);
    expect(rules(issues), describeIssues(issues)).toContain(rule);
  });

  it('checks the time constraints PROV-CONSTRAINTS implies', () => {
    const twice = good();
    twice.wasGeneratedBy['_:g2'] = { 'prov:entity': 'ex:out.csv', 'prov:activity': 'ex:clean-1' };
    expect(validateProvJson(twice)).toEqual([]);
    expect(rules(checkProvConstraints(twice))).toContain('generation-uniqueness');

    const late = good();
    late.wasGeneratedBy['_:g3'] = { 'prov:entity': 'ex:raw.csv', 'prov:activity': 'ex:stats-1', 'prov:time': '2024-01-01T10:00:03Z' };
    expect(rules(checkProvConstraints(late))).toContain('generation-precedes-usage');

    const backwards = good();
    backwards.wasInformedBy['_:i1'] = { 'prov:informed': 'ex:clean-1', 'prov:informant': 'ex:stats-1' };
    expect(rules(checkProvConstraints(backwards))).toEqual(['informant-precedes-informed']);

    const reversed = good();
    reversed.activity['ex:clean-1']['prov:endTime'] = '2024-01-01T09:00:00Z';
    expect(rules(checkProvConstraints(reversed))).toContain('start-precedes-end');
  });

  it('knows an xsd:dateTime', () => {
    for (const t of ['2024-01-01T10:00:00Z', '2024-01-01T10:00:00.123456789+02:00', '2024-02-29T23:59:59', new Date().toISOString()]) expect(isXsdDateTime(t), t).toBe(true);
    for (const t of ['2024-01-01', '10:00:00', '2024-1-01T10:00:00Z', '2024-01-01T10:00Z', 'yesterday', 1700000000000]) expect(isXsdDateTime(t), String(t)).toBe(false);
  });
});

// ---------------------------------------------------------------------------------------------
// prov-make's exports on the example pipeline

type Doc = Record<string, Record<string, any>>;

function provOf(ws: string, args: string[]): Doc {
  const r = cli(ws, args);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as Doc;
}

const rel = (doc: Doc, kind: string) => Object.values(doc[kind] ?? {}) as Record<string, string>[];
const entityOfPath = (doc: Doc, path: string) => Object.keys(doc.entity).filter((id) => doc.entity[id]['pm:path'] === path);
const activitiesOfStep = (doc: Doc, step: string) => Object.keys(doc.activity).filter((id) => doc.activity[id]['pm:step'] === step);

/** All PROV-JSON issues except the one about qualified-name values, which has its own test below. */
const structural = (doc: Doc) => validateProvJson(doc).filter((i) => i.rule !== 'qname-literal');

function render(dot: string): { code: number | null; svg: string; stderr: string } {
  const r = spawnSync('dot', ['-Tsvg'], { input: dot, encoding: 'utf8', timeout: 30_000 });
  return { code: r.status, svg: r.stdout ?? '', stderr: r.stderr ?? String(r.error ?? '') };
}

/** The text Graphviz drew, entities decoded, one string per <text> element. */
function svgTexts(svg: string): string[] {
  const decode = (s: string) => s.replace(/&#(\d+);/g, (_, n) => String.fromCharCode(Number(n))).replace(/&quot;/g, '"').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
  return [...svg.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => decode(m[1]));
}

describe('PROV-JSON and DOT exports of the example pipeline', () => {
  let ws: string;
  let executions: { id: string; step: string }[];

  beforeAll(() => {
    ws = example();
    const r = runJson(ws);
    expect(r.code, r.stderr).toBe(0);
    executions = JSON.parse(cli(ws, ['log', '--json']).stdout);
  });

  it('graph --prov is valid PROV-JSON: an activity per execution, an entity per file version, the tool as agent', () => {
    const doc = provOf(ws, ['graph', '--prov']);
    const issues = structural(doc);
    expect(issues, describeIssues(issues)).toEqual([]);
    expect(Object.keys(doc.prefix)).toContain('pm');

    // one activity per execution, named by its id
    const acts = Object.keys(doc.activity);
    expect(acts).toHaveLength(executions.length);
    for (const e of executions) expect(activitiesOfStep(doc, e.step).filter((a) => a.includes(e.id.replace(/[^A-Za-z0-9._-]/g, '_')))).toHaveLength(1);
    for (const a of acts) {
      expect(isXsdDateTime(doc.activity[a]['prov:startTime'])).toBe(true);
      expect(isXsdDateTime(doc.activity[a]['prov:endTime'])).toBe(true);
    }

    // one entity per file version: no two entities for the same (path, content)
    const versions = Object.values(doc.entity).map((e: any) => `${e['pm:path']}\0${e['pm:hash']}`);
    expect(new Set(versions).size).toBe(versions.length);
    for (const [id, e] of Object.entries(doc.entity)) {
      expect(typeof e['pm:path'], id).toBe('string');
      if (e['pm:mtimeNs'] !== undefined) expect(e['pm:mtimeNs'], id).toMatch(/^\d+$/);
    }
    // nanosecond mtimes are exact (a JSON number would have lost the last digits)
    const [out] = entityOfPath(doc, 'out.csv');
    expect(doc.entity[out]['pm:mtimeNs']).toBe(statSync(join(ws, 'out.csv'), { bigint: true }).mtimeNs.toString());
    expect(doc.entity[out]['pm:size']).toBe(statSync(join(ws, 'out.csv')).size);

    // the tool is the agent every execution is associated with
    const agents = Object.keys(doc.agent);
    expect(agents).toHaveLength(1);
    const type = doc.agent[agents[0]]['prov:type'];
    expect(typeof type === 'string' ? type : type?.$).toBe('prov:SoftwareAgent');
    const associated = rel(doc, 'wasAssociatedWith');
    expect(new Set(associated.map((a) => a['prov:activity']))).toEqual(new Set(acts));
    for (const a of associated) expect(a['prov:agent']).toBe(agents[0]);
  });

  it('graph --prov means what happened: out.csv was generated by stats, from the region files split wrote', () => {
    const doc = provOf(ws, ['graph', '--prov']);
    const [stats] = activitiesOfStep(doc, 'stats');
    const [split] = activitiesOfStep(doc, 'split');
    const [clean] = activitiesOfStep(doc, 'clean');
    expect(doc.activity[stats]['pm:command']).toBe('python3 scripts/stats.py build/regions > out.csv');

    const outs = entityOfPath(doc, 'out.csv');
    expect(outs).toHaveLength(1);
    const gen = rel(doc, 'wasGeneratedBy').filter((g) => g['prov:entity'] === outs[0]);
    expect(gen.map((g) => g['prov:activity'])).toEqual([stats]);

    const regionFiles = readdirSync(join(ws, 'build/regions')).map((f) => `build/regions/${f}`).sort();
    expect(regionFiles).toHaveLength(5);
    const usedByStats = rel(doc, 'used').filter((u) => u['prov:activity'] === stats).map((u) => doc.entity[u['prov:entity']]['pm:path']);
    expect(usedByStats.filter((p: string) => p.startsWith('build/regions/')).sort()).toEqual(regionFiles);
    expect(usedByStats).toContain('scripts/stats.py');
    // ... and each of those region entities was generated by split
    for (const f of regionFiles) {
      const [ent] = entityOfPath(doc, f);
      expect(rel(doc, 'wasGeneratedBy').filter((g) => g['prov:entity'] === ent).map((g) => g['prov:activity'])).toEqual([split]);
    }
    // out.csv derives from the region files (and not from system files)
    const derivedFrom = rel(doc, 'wasDerivedFrom').filter((d) => d['prov:generatedEntity'] === outs[0]).map((d) => doc.entity[d['prov:usedEntity']]['pm:path']);
    for (const f of regionFiles) expect(derivedFrom).toContain(f);
    expect(derivedFrom.some((p: string) => p.startsWith('/'))).toBe(false);

    const informed = rel(doc, 'wasInformedBy');
    expect(informed).toContainEqual({ 'prov:informed': stats, 'prov:informant': split });
    expect(informed).toContainEqual({ 'prov:informed': split, 'prov:informant': clean });
    expect(informed.some((i) => i['prov:informed'] === clean)).toBe(false);
    expect(checkProvConstraints(doc), describeIssues(checkProvConstraints(doc))).toEqual([]);
  });

  it('why out.csv --prov is valid PROV-JSON of out.csv\'s lineage only', () => {
    const doc = provOf(ws, ['why', 'out.csv', '--prov']);
    const issues = structural(doc);
    expect(issues, describeIssues(issues)).toEqual([]);
    expect(Object.values(doc.activity).map((a: any) => a['pm:step']).sort()).toEqual(['clean', 'split', 'stats']);
    const [stats] = activitiesOfStep(doc, 'stats');
    const [out] = entityOfPath(doc, 'out.csv');
    expect(rel(doc, 'wasGeneratedBy').filter((g) => g['prov:entity'] === out).map((g) => g['prov:activity'])).toEqual([stats]);
    expect(entityOfPath(doc, 'data/raw.csv')).toHaveLength(1);
    expect(entityOfPath(doc, 'report.txt')).toHaveLength(0);
    expect(checkProvConstraints(doc)).toEqual([]);
  });

  it('qualified-name values (the agent\'s prov:type) are typed xsd:QName literals', () => {
    // PROV-JSON section 3.1.2: a plain JSON string is an xsd:string literal, so "prov:SoftwareAgent"
    // as a string does not say the agent is a prov:SoftwareAgent.
    for (const args of [['graph', '--prov'], ['why', 'out.csv', '--prov']]) {
      const issues = validateProvJson(provOf(ws, args)).filter((i) => i.rule === 'qname-literal');
      expect(issues, `${args.join(' ')}:\n${describeIssues(issues)}`).toEqual([]);
    }
  });

  it('graph --dot and why out.csv --dot render with Graphviz and name the steps', () => {
    const g = cli(ws, ['graph', '--dot']);
    expect(g.code, g.stderr).toBe(0);
    const gs = render(g.stdout);
    expect(gs.code, gs.stderr).toBe(0);
    expect(gs.svg).toMatch(/^<\?xml|<svg/);
    const gt = svgTexts(gs.svg);
    for (const step of ['clean', 'split', 'top_products', 'stats', 'report']) expect(gt, step).toContain(step);
    for (const f of ['data/raw.csv', 'out.csv', 'report.txt', 'build/regions/west.csv']) expect(gt, f).toContain(f);
    expect(gt).toContain('python3 scripts/stats.py build/regions > out.csv');

    const w = cli(ws, ['why', 'out.csv', '--dot']);
    expect(w.code, w.stderr).toBe(0);
    const ws2 = render(w.stdout);
    expect(ws2.code, ws2.stderr).toBe(0);
    const wt = svgTexts(ws2.svg);
    for (const step of ['clean', 'split', 'stats']) expect(wt, step).toContain(step);
    expect(wt).not.toContain('report');
    expect(wt).not.toContain('top_products');

    const sys = cli(ws, ['graph', '--dot', '--system']);
    expect(render(sys.stdout).code).toBe(0);
  });

  describe('after a rerun that wrote the same bytes (early cutoff)', () => {
    // a comment in clean.py: clean runs again and writes an identical build/clean.csv; nothing downstream runs
    beforeAll(() => {
      const script = join(ws, 'scripts/clean.py');
      writeFileSync(script, '# a comment\n' + readFileSync(script, 'utf8'));
      const r = runJson(ws);
      expect(r.code, r.stderr).toBe(0);
      expect(statuses(r)).toEqual({ clean: 'ran', split: 'skipped', top_products: 'skipped', stats: 'skipped', report: 'skipped' });
    });

    it('why out.csv --prov: split used the build/clean.csv the first clean wrote', () => {
      const lineage = provOf(ws, ['why', 'out.csv', '--prov']);
      expect(structural(lineage)).toEqual([]);
      expect(checkProvConstraints(lineage), describeIssues(checkProvConstraints(lineage))).toEqual([]);
    });

    it('graph --prov still tells the order things happened in', () => {
      // the newest execution of each step; split (run 1) must not be "informed by" the clean of run 2
      const doc = provOf(ws, ['graph', '--prov']);
      expect(structural(doc), describeIssues(structural(doc))).toEqual([]);
      const issues = checkProvConstraints(doc);
      expect(issues, describeIssues(issues)).toEqual([]);
    });

    it('graph --all-history --prov: valid, and each file version is generated once', () => {
      const doc = provOf(ws, ['graph', '--all-history', '--prov']);
      expect(structural(doc), describeIssues(structural(doc))).toEqual([]);
      expect(activitiesOfStep(doc, 'clean')).toHaveLength(2);
      const issues = checkProvConstraints(doc).filter((i) => i.rule === 'generation-uniqueness');
      expect(issues, describeIssues(issues)).toEqual([]);
    });
  });
});

describe('DOT labels of unusual commands', () => {
  it('quotes, backslashes and \\n in a command are drawn as written', () => {
    const command = `printf 'a\\tb\\n' > o.txt && echo "q\\"x" >> o.txt`;
    const ws = workspace({ 'pipeline.yml': `steps:\n  fmt:\n    run: ${JSON.stringify(command)}\n` });
    const r = runJson(ws);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(cli(ws, ['graph', '--json']).stdout).executions[0].command).toBe(command);
    const dot = cli(ws, ['graph', '--dot']).stdout;
    const svg = render(dot);
    expect(svg.code, svg.stderr).toBe(0);
    const texts = svgTexts(svg.svg);
    expect(texts).toContain('fmt');
    expect(texts, `the label should show the command itself; Graphviz drew:\n${texts.join('\n')}`).toContain(command);
  });
});
