/**
 * A validator for W3C PROV-JSON documents (the PROV-JSON Member Submission, 24 April 2013, and its
 * JSON schema), written for the tests of `prov-make graph --prov` and `prov-make why FILE --prov`.
 *
 * `validateProvJson` checks the serialization:
 * - the document is an object whose keys are `prefix`, `bundle`, the three element kinds (`entity`,
 *   `activity`, `agent`) and the PROV relation names, each a map from an identifier to a record (or
 *   to an array of records sharing that identifier);
 * - `prefix` maps names to absolute URIs (`prov` and `xsd` are implicit; if declared, to their
 *   standard namespaces);
 * - every qualified name (record ids, attribute names, references, `type` of typed literals) uses a
 *   declared prefix; `_:` names blank relation identifiers only;
 * - attribute values are strings, finite numbers, booleans, typed literals `{"$": string, "type"?:
 *   qualified name, "lang"?: string}`, or arrays of these;
 * - every relation has its required formal attributes (PROV-DM), every formal attribute refers to a
 *   declared record of the right kind, times are xsd:dateTime;
 * - a qualified-name value (`prov:type` of `prov:SoftwareAgent`…) is a typed literal of type
 *   `xsd:QName` (submission section 3.1.2): a plain string is an xsd:string literal, not the type;
 * plus the rules prov-make's DESIGN adds: ids after the prefix only `[A-Za-z0-9._-]`, nanosecond
 * times as strings (and no integer a JSON reader would round).
 *
 * `checkProvConstraints` checks a few PROV-CONSTRAINTS inferences that times make checkable:
 * generation-uniqueness, generation-precedes-usage, the ordering wasInformedBy implies,
 * derivation ordering, and start-precedes-end.
 */

export interface ProvIssue {
  /** A short rule name, stable for tests to filter on. */
  rule: string;
  /** Where in the document (section and id). */
  where: string;
  message: string;
}

export interface ValidateOptions {
  /** Allowed characters of an element id after its prefix (DESIGN: [A-Za-z0-9._-]). null: no check. */
  idLocalPattern?: RegExp | null;
  /** Attributes holding nanosecond times, which must be strings of digits. */
  nanosecondAttributes?: string[];
}

type Kind = 'entity' | 'activity' | 'agent';
type Ref = Kind | 'any' | 'generation' | 'usage';

interface RelationSpec {
  required: Record<string, Ref>;
  optional: Record<string, Ref>;
  time?: boolean;
}

/** PROV-DM relations as PROV-JSON names them, with their formal attributes. */
export const RELATIONS: Record<string, RelationSpec> = {
  wasGeneratedBy: { required: { 'prov:entity': 'entity' }, optional: { 'prov:activity': 'activity' }, time: true },
  used: { required: { 'prov:activity': 'activity' }, optional: { 'prov:entity': 'entity' }, time: true },
  wasInformedBy: { required: { 'prov:informed': 'activity', 'prov:informant': 'activity' }, optional: {} },
  wasStartedBy: { required: { 'prov:activity': 'activity' }, optional: { 'prov:trigger': 'entity', 'prov:starter': 'activity' }, time: true },
  wasEndedBy: { required: { 'prov:activity': 'activity' }, optional: { 'prov:trigger': 'entity', 'prov:ender': 'activity' }, time: true },
  wasInvalidatedBy: { required: { 'prov:entity': 'entity' }, optional: { 'prov:activity': 'activity' }, time: true },
  wasDerivedFrom: {
    required: { 'prov:generatedEntity': 'entity', 'prov:usedEntity': 'entity' },
    optional: { 'prov:activity': 'activity', 'prov:generation': 'generation', 'prov:usage': 'usage' },
  },
  wasAttributedTo: { required: { 'prov:entity': 'entity', 'prov:agent': 'agent' }, optional: {} },
  wasAssociatedWith: { required: { 'prov:activity': 'activity' }, optional: { 'prov:agent': 'agent', 'prov:plan': 'entity' } },
  actedOnBehalfOf: { required: { 'prov:delegate': 'agent', 'prov:responsible': 'agent' }, optional: { 'prov:activity': 'activity' } },
  wasInfluencedBy: { required: { 'prov:influencee': 'any', 'prov:influencer': 'any' }, optional: {} },
  specializationOf: { required: { 'prov:specificEntity': 'entity', 'prov:generalEntity': 'entity' }, optional: {} },
  alternateOf: { required: { 'prov:alternate1': 'entity', 'prov:alternate2': 'entity' }, optional: {} },
  hadMember: { required: { 'prov:collection': 'entity', 'prov:entity': 'entity' }, optional: {} },
  mentionOf: { required: { 'prov:specificEntity': 'entity', 'prov:generalEntity': 'entity', 'prov:bundle': 'entity' }, optional: {} },
};

const ELEMENTS: Kind[] = ['entity', 'activity', 'agent'];
/** prov: attributes any record may carry (PROV-DM section 5.7.2). */
const COMMON_PROV_ATTRIBUTES = new Set(['prov:label', 'prov:type', 'prov:location', 'prov:role', 'prov:value']);
const IMPLICIT_PREFIXES: Record<string, string> = { prov: 'http://www.w3.org/ns/prov#', xsd: 'http://www.w3.org/2001/XMLSchema#' };
const PREFIX_NAME = /^[A-Za-z_][A-Za-z0-9._-]*$/;
const ABSOLUTE_URI = /^[A-Za-z][A-Za-z0-9+.-]*:\S*$/;
const XSD_DATETIME = /^-?\d{4,}-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d+)?(Z|[+-]\d{2}:\d{2})?$/;

export function isXsdDateTime(v: unknown): boolean {
  if (typeof v !== 'string') return false;
  const m = XSD_DATETIME.exec(v);
  if (!m) return false;
  const [month, day, hour, minute, second] = m.slice(1, 6).map(Number);
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 24 || minute > 59 || second > 60) return false;
  return !Number.isNaN(Date.parse(m[7] ? v : `${v}Z`));
}

const article = (w: string) => (/^[aeiou]/.test(w) ? 'an' : 'a');
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Records of one section: id -> records (PROV-JSON allows an array for several records with one id). */
function recordsOf(section: Record<string, unknown>): [string, unknown][] {
  const out: [string, unknown][] = [];
  for (const [id, v] of Object.entries(section)) {
    if (Array.isArray(v)) for (const r of v) out.push([id, r]);
    else out.push([id, v]);
  }
  return out;
}

export function validateProvJson(doc: unknown, options: ValidateOptions = {}): ProvIssue[] {
  const issues: ProvIssue[] = [];
  validateContainer(doc, '', issues, options, {});
  return issues;
}

function validateContainer(doc: unknown, path: string, issues: ProvIssue[], options: ValidateOptions, inherited: Record<string, string>): void {
  const idLocal = options.idLocalPattern === undefined ? /^[A-Za-z0-9._-]+$/ : options.idLocalPattern;
  const nsAttributes = new Set(options.nanosecondAttributes ?? ['pm:mtimeNs']);
  const add = (rule: string, where: string, message: string) => issues.push({ rule, where: path + where, message });

  if (!isObject(doc)) {
    add('document', '', 'a PROV-JSON document (or bundle) is a JSON object');
    return;
  }
  const allowed = new Set(['prefix', 'bundle', ...ELEMENTS, ...Object.keys(RELATIONS)]);
  for (const k of Object.keys(doc)) if (!allowed.has(k)) add('top-level-key', k, `"${k}" is not a PROV-JSON key`);
  for (const k of Object.keys(doc)) {
    if (k !== 'prefix' && allowed.has(k) && !isObject(doc[k])) add('section', k, `"${k}" must map identifiers to records`);
  }

  // prefixes
  const prefixes: Record<string, string> = { ...IMPLICIT_PREFIXES, ...inherited };
  if (doc.prefix !== undefined) {
    if (!isObject(doc.prefix)) add('prefix', 'prefix', 'prefix must be an object of name -> URI');
    else {
      for (const [name, uri] of Object.entries(doc.prefix)) {
        if (!PREFIX_NAME.test(name)) add('prefix', `prefix.${name}`, `"${name}" is not a valid prefix name`);
        if (typeof uri !== 'string' || !ABSOLUTE_URI.test(uri)) add('prefix', `prefix.${name}`, `prefix "${name}" must map to an absolute URI, not ${JSON.stringify(uri)}`);
        else if (IMPLICIT_PREFIXES[name] && IMPLICIT_PREFIXES[name] !== uri) add('prefix', `prefix.${name}`, `prefix "${name}" is reserved for ${IMPLICIT_PREFIXES[name]}`);
        else prefixes[name] = uri;
      }
    }
  }
  const hasDefault = 'default' in prefixes;

  /** A qualified name: "prefix:local" with a declared prefix (or an unprefixed name with a default namespace). */
  const checkQName = (q: unknown, where: string, what: string, opts: { blank?: boolean; element?: boolean } = {}): boolean => {
    if (typeof q !== 'string' || q.length === 0) {
      add('qualified-name', where, `${what} must be a qualified name string, not ${JSON.stringify(q)}`);
      return false;
    }
    const colon = q.indexOf(':');
    if (colon < 0) {
      if (!hasDefault) add('undeclared-prefix', where, `${what} "${q}" has no prefix and no default namespace is declared`);
      return hasDefault;
    }
    const prefix = q.slice(0, colon);
    const local = q.slice(colon + 1);
    if (prefix === '_') {
      if (!opts.blank) add('blank-node', where, `${what} "${q}": blank identifiers are for relations only`);
      return Boolean(opts.blank);
    }
    if (!(prefix in prefixes) || prefix === 'default') {
      add('undeclared-prefix', where, `${what} "${q}" uses the undeclared prefix "${prefix}"`);
      return false;
    }
    if (opts.element && idLocal && !idLocal.test(local)) {
      add('id-characters', where, `${what} "${q}": the part after the prefix must match ${idLocal}`);
      return false;
    }
    if (/\s/.test(local)) {
      add('qualified-name', where, `${what} "${q}" contains white space`);
      return false;
    }
    return true;
  };

  const checkValue = (v: unknown, where: string, attr: string, inArray = false): void => {
    if (Array.isArray(v)) {
      if (inArray) add('attribute-value', where, `${attr}: arrays of arrays are not attribute values`);
      else if (v.length === 0) add('attribute-value', where, `${attr}: an empty array is not an attribute value`);
      else v.forEach((x, i) => checkValue(x, `${where}[${i}]`, attr, true));
      return;
    }
    if (typeof v === 'string' || typeof v === 'boolean') {
      if (attr === 'prov:type' && typeof v === 'string' && /^prov:[A-Za-z]/.test(v)) {
        add('qname-literal', where, `${attr}: "${v}" is a plain string (an xsd:string literal); a qualified name is written {"$": "${v}", "type": "xsd:QName"}`);
      }
      return;
    }
    if (typeof v === 'number') {
      if (!Number.isFinite(v)) add('attribute-value', where, `${attr}: ${v} is not a finite number`);
      else if (Number.isInteger(v) && !Number.isSafeInteger(v)) add('unsafe-number', where, `${attr}: ${v} exceeds 2^53 and is rounded by JSON readers; write it as a string`);
      return;
    }
    if (isObject(v)) {
      const keys = Object.keys(v);
      for (const k of keys) if (!['$', 'type', 'lang'].includes(k)) add('typed-literal', where, `${attr}: "${k}" is not a key of a typed literal ($, type, lang)`);
      if (typeof v.$ !== 'string') add('typed-literal', where, `${attr}: a typed literal needs a string "$"`);
      if (v.type !== undefined && v.lang !== undefined) add('typed-literal', where, `${attr}: a literal has a type or a language tag, not both`);
      if (v.lang !== undefined && (typeof v.lang !== 'string' || !/^[A-Za-z]{1,8}(-[A-Za-z0-9]{1,8})*$/.test(v.lang))) add('typed-literal', where, `${attr}: bad language tag ${JSON.stringify(v.lang)}`);
      if (v.type !== undefined) {
        if (checkQName(v.type, where, `${attr} literal type`)) {
          if (v.type === 'xsd:dateTime' && !isXsdDateTime(v.$)) add('datetime', where, `${attr}: ${JSON.stringify(v.$)} is not an xsd:dateTime`);
          if ((v.type === 'xsd:QName' || v.type === 'prov:QUALIFIED_NAME') && typeof v.$ === 'string') checkQName(v.$, where, `${attr} value`);
        }
      }
      return;
    }
    add('attribute-value', where, `${attr}: ${JSON.stringify(v)} is not a PROV-JSON attribute value`);
  };

  // elements
  const declared = new Map<string, Kind>();
  for (const kind of ELEMENTS) {
    const section = doc[kind];
    if (!isObject(section)) continue;
    for (const [id, rec] of recordsOf(section)) {
      const where = `${kind}.${id}`;
      checkQName(id, where, `${kind} id`, { element: true });
      const before = declared.get(id);
      if (before && before !== kind) add('duplicate-id', where, `"${id}" is declared as both ${before} and ${kind}`);
      declared.set(id, kind);
      if (!isObject(rec)) {
        add('record', where, 'a record is an object of attributes');
        continue;
      }
      for (const [attr, value] of Object.entries(rec)) {
        const aw = `${where}.${attr}`;
        if (!checkQName(attr, aw, 'attribute name')) continue;
        if (attr.startsWith('prov:')) {
          const ok = COMMON_PROV_ATTRIBUTES.has(attr) || (kind === 'activity' && (attr === 'prov:startTime' || attr === 'prov:endTime'));
          if (!ok) add('prov-attribute', aw, `${attr} is not an attribute of a ${kind}`);
          if (attr === 'prov:startTime' || attr === 'prov:endTime') {
            if (!isXsdDateTime(value)) add('datetime', aw, `${attr} ${JSON.stringify(value)} is not an xsd:dateTime`);
            continue;
          }
        }
        if (nsAttributes.has(attr) && !(typeof value === 'string' && /^\d+$/.test(value))) {
          add('nanoseconds', aw, `${attr} is a nanosecond time and must be a string of digits, not ${JSON.stringify(value)}`);
        }
        checkValue(value, aw, attr);
      }
    }
  }

  // relations
  const relationIds = new Map<string, string>(); // id -> relation kind
  for (const name of Object.keys(RELATIONS)) {
    const section = doc[name];
    if (!isObject(section)) continue;
    for (const [id] of recordsOf(section)) relationIds.set(id, name);
  }
  for (const [name, spec] of Object.entries(RELATIONS)) {
    const section = doc[name];
    if (!isObject(section)) continue;
    for (const [id, rec] of recordsOf(section)) {
      const where = `${name}.${id}`;
      checkQName(id, where, `${name} id`, { blank: true, element: !id.startsWith('_:') });
      if (!isObject(rec)) {
        add('record', where, 'a record is an object of attributes');
        continue;
      }
      for (const req of Object.keys(spec.required)) {
        if (rec[req] === undefined || rec[req] === null) add('required-attribute', where, `${name} needs ${req}`);
      }
      const formal = { ...spec.required, ...spec.optional };
      for (const [attr, value] of Object.entries(rec)) {
        const aw = `${where}.${attr}`;
        if (!checkQName(attr, aw, 'attribute name')) continue;
        const target = formal[attr];
        if (target) {
          if (!checkQName(value, aw, attr, { blank: target === 'generation' || target === 'usage' })) continue;
          const ref = value as string;
          if (target === 'generation' || target === 'usage') {
            const want = target === 'generation' ? 'wasGeneratedBy' : 'used';
            if (relationIds.get(ref) !== want) add('undeclared-reference', aw, `${attr} "${ref}" is not a ${want} in this document`);
            continue;
          }
          const kind = declared.get(ref);
          if (!kind) add('undeclared-reference', aw, `${attr} "${ref}" is not declared as an entity, activity or agent`);
          else if (target !== 'any' && kind !== target) add('wrong-kind', aw, `${attr} "${ref}" must be ${article(target)} ${target}, but it is ${article(kind)} ${kind}`);
          continue;
        }
        if (attr === 'prov:time') {
          if (!spec.time) add('prov-attribute', aw, `${name} has no prov:time`);
          else if (!isXsdDateTime(value)) add('datetime', aw, `prov:time ${JSON.stringify(value)} is not an xsd:dateTime`);
          continue;
        }
        if (attr.startsWith('prov:') && !COMMON_PROV_ATTRIBUTES.has(attr)) add('prov-attribute', aw, `${attr} is not an attribute of ${name}`);
        if (nsAttributes.has(attr) && !(typeof value === 'string' && /^\d+$/.test(value))) {
          add('nanoseconds', aw, `${attr} is a nanosecond time and must be a string of digits`);
        }
        checkValue(value, aw, attr);
      }
    }
  }

  // bundles: named containers, each validated with the prefixes in scope
  if (isObject(doc.bundle)) {
    for (const [id, b] of Object.entries(doc.bundle)) {
      checkQName(id, `bundle.${id}`, 'bundle id', { element: true });
      validateContainer(b, `${path}bundle.${id}.`, issues, options, Object.fromEntries(Object.entries(prefixes).filter(([k]) => !IMPLICIT_PREFIXES[k])));
    }
  }
}

/** Some PROV-CONSTRAINTS inferences, checked with the times the document gives. */
export function checkProvConstraints(doc: Record<string, any>): ProvIssue[] {
  const issues: ProvIssue[] = [];
  const add = (rule: string, where: string, message: string) => issues.push({ rule, where, message });
  const activities: Record<string, any> = doc.activity ?? {};
  const time = (s: unknown) => (typeof s === 'string' ? Date.parse(s) : NaN);
  const start = (a: string) => time(activities[a]?.['prov:startTime']);
  const end = (a: string) => time(activities[a]?.['prov:endTime']);

  for (const [id, a] of Object.entries(activities)) {
    if (time(a['prov:startTime']) > time(a['prov:endTime'])) add('start-precedes-end', `activity.${id}`, `${id} ends before it starts`);
  }
  // generation-uniqueness: an entity is generated by at most one generation
  const generations = new Map<string, { id: string; activity?: string; time: number }[]>();
  for (const [gid, g] of recordsOf(doc.wasGeneratedBy ?? {}) as [string, any][]) {
    const list = generations.get(g['prov:entity']) ?? [];
    const t = g['prov:time'] !== undefined ? time(g['prov:time']) : g['prov:activity'] ? end(g['prov:activity']) : NaN;
    list.push({ id: gid, activity: g['prov:activity'], time: t });
    generations.set(g['prov:entity'], list);
  }
  for (const [entity, list] of generations) {
    const acts = new Set(list.map((g) => g.activity));
    if (list.length > 1 && acts.size > 1) {
      add('generation-uniqueness', `entity.${entity}`, `${entity} is generated by ${list.length} different activities: ${[...acts].join(', ')}`);
    }
  }
  const generatedAt = (e: string) => {
    const ts = (generations.get(e) ?? []).map((g) => g.time).filter((t) => !Number.isNaN(t));
    return ts.length ? Math.min(...ts) : NaN;
  };
  // generation-precedes-usage (usage happens within the using activity, so by its end)
  for (const [uid, u] of recordsOf(doc.used ?? {}) as [string, any][]) {
    const e = u['prov:entity'];
    const g = generatedAt(e);
    const usedBy = u['prov:time'] !== undefined ? time(u['prov:time']) : end(u['prov:activity']);
    if (g > usedBy) {
      add('generation-precedes-usage', `used.${uid}`, `${u['prov:activity']} used ${e}, which was generated ${new Date(g).toISOString()}, after that use (${new Date(usedBy).toISOString()})`);
    }
  }
  // wasInformedBy(a2, a1) means a1 generated an entity that a2 used: a1 starts before a2 ends
  for (const [iid, r] of recordsOf(doc.wasInformedBy ?? {}) as [string, any][]) {
    const informed = r['prov:informed'];
    const informant = r['prov:informant'];
    if (start(informant) > end(informed)) {
      add('informant-precedes-informed', `wasInformedBy.${iid}`, `${informed} was informed by ${informant}, which started after ${informed} ended`);
    }
  }
  // derivation: the used entity's generation precedes the generated entity's
  for (const [did, d] of recordsOf(doc.wasDerivedFrom ?? {}) as [string, any][]) {
    const g2 = generatedAt(d['prov:generatedEntity']);
    const g1 = generatedAt(d['prov:usedEntity']);
    if (g1 > g2) add('derivation-generation-generation-ordering', `wasDerivedFrom.${did}`, `${d['prov:generatedEntity']} derives from ${d['prov:usedEntity']}, generated later`);
  }
  return issues;
}

/** One line per issue, for readable assertion failures. */
export function describeIssues(issues: ProvIssue[], max = 20): string {
  const lines = issues.slice(0, max).map((i) => `${i.rule} at ${i.where}: ${i.message}`);
  if (issues.length > max) lines.push(`… and ${issues.length - max} more`);
  return lines.join('\n');
}
