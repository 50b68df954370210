/**
 * Graph exports of recorded provenance: W3C PROV-JSON (an activity per execution, an entity per
 * file version, used / wasGeneratedBy / wasDerivedFrom / wasInformedBy, prov-make as the agent)
 * and Graphviz DOT. Identifiers are limited to [A-Za-z0-9._-] after the prefix. Labels show names
 * escaped (shownPath); `pm:path` keeps a name's bytes (\udcXX for one that is not UTF-8).
 */
import { isAbsolute } from 'node:path';
import { cyrb53, isProducerOf, type ExecutionRecord, type RecordedFile } from '@prov-make/cache';
import { pathOfKey } from '@prov-make/cache/workspace-key';
import { shownPath } from '../workspace/paths.js';
import { walk, type LineageNode } from './lineage.js';

export const PROV_NAMESPACE = 'urn:prov-make:';
const VERSION = '0.1.0';

const safe = (s: string) => s.replace(/[^A-Za-z0-9._-]/g, '_');
const hex8 = (s: string) => cyrb53(s).toString(16).padStart(14, '0').slice(-8);

export function entityId(path: string, hash: string | null): string {
  return `pm:f.${safe(path).slice(-60)}.${hex8(path)}.${hash ?? 'none'}`;
}

export function activityId(e: ExecutionRecord): string {
  return `pm:x.${safe(e.step)}.${safe(e.id)}`;
}

interface FileVersionRef {
  path: string;
  hash: string | null;
  size: number | null;
  mtimeNs: string | null;
}

const ref = (f: RecordedFile): FileVersionRef => ({ path: f.path, hash: f.hash, size: f.version?.size ?? null, mtimeNs: f.version?.mtimeNs ?? null });

/**
 * PROV-JSON of a set of executions (and any extra file versions, e.g. a source asked about).
 * An entity is one file version: an output's entity is named after the execution that generated
 * it (so each entity has one generation), and an input is linked to the entity of the execution
 * that wrote that content last before the reader started (as `why` does); otherwise it is a source
 * version named by path, hash and mtime.
 */
export function executionsToProv(executions: ExecutionRecord[], extra: FileVersionRef[] = []) {
  const doc = {
    prefix: { pm: PROV_NAMESPACE },
    agent: { 'pm:prov-make': { 'prov:type': { $: 'prov:SoftwareAgent', type: 'xsd:QName' }, 'prov:label': `prov-make ${VERSION}` } } as Record<string, unknown>,
    activity: {} as Record<string, unknown>,
    entity: {} as Record<string, unknown>,
    used: {} as Record<string, unknown>,
    wasGeneratedBy: {} as Record<string, unknown>,
    wasDerivedFrom: {} as Record<string, unknown>,
    wasInformedBy: {} as Record<string, unknown>,
    wasAssociatedWith: {} as Record<string, unknown>,
  };
  let n = 0;
  const rel = (kind: keyof typeof doc, body: Record<string, unknown>) => {
    (doc[kind] as Record<string, unknown>)[`_:${kind}${++n}`] = body;
  };
  const addEntity = (id: string, f: FileVersionRef) => {
    if (!doc.entity[id]) {
      const attrs: Record<string, unknown> = { 'prov:label': shownPath(f.path), 'pm:path': pathOfKey(f.path), 'pm:system': isAbsolute(f.path) };
      if (f.hash) attrs['pm:hash'] = f.hash;
      if (f.size !== null) attrs['pm:size'] = f.size;
      if (f.mtimeNs !== null) attrs['pm:mtimeNs'] = String(f.mtimeNs);
      doc.entity[id] = attrs;
    }
    return id;
  };
  const sourceId = (f: FileVersionRef) => `${entityId(f.path, f.hash)}.m${f.mtimeNs ?? '0'}`;
  const outputId = (f: FileVersionRef, e: ExecutionRecord) => `${entityId(f.path, f.hash)}.by.${safe(e.id)}`;
  for (const f of extra) addEntity(sourceId(f), f);
  const sorted = [...executions].sort((a, b) => (a.id < b.id ? -1 : 1));
  // path -> executions writing it, in time order, to find each input's producer
  const writers = new Map<string, ExecutionRecord[]>();
  for (const e of sorted) {
    for (const o of e.outputs) {
      const list = writers.get(o.path) ?? [];
      list.push(e);
      writers.set(o.path, list);
    }
  }
  const producer = (f: RecordedFile, reader: ExecutionRecord): ExecutionRecord | undefined => {
    const list = writers.get(f.path) ?? [];
    for (let i = list.length - 1; i >= 0; i--) {
      const w = list[i];
      if (w !== reader && isProducerOf(w, f.path, f.hash, reader.startedAt)) return w;
    }
    return undefined;
  };
  for (const e of sorted) {
    const act = activityId(e);
    const attrs: Record<string, unknown> = {
      'prov:label': e.step,
      'prov:startTime': new Date(e.startedAt).toISOString(),
      'prov:endTime': new Date(e.finishedAt).toISOString(),
      'pm:step': e.step,
      'pm:command': e.definition.run,
      'pm:status': e.status,
      'pm:reason': e.reason,
      'pm:fullyObserved': e.fullyObserved,
    };
    if (e.exitCode !== null) attrs['pm:exitCode'] = e.exitCode;
    if (e.annotations.length) attrs['pm:annotations'] = e.annotations;
    if (e.job) Object.assign(attrs, { 'pm:scheduler': e.job.scheduler, 'pm:jobId': e.job.id, 'pm:jobState': e.job.state }, e.job.nodes ? { 'pm:jobNodes': e.job.nodes } : {});
    doc.activity[act] = attrs;
    rel('wasAssociatedWith', { 'prov:activity': act, 'prov:agent': 'pm:prov-make' });
    for (const o of e.outputs) addEntity(outputId(ref(o), e), ref(o));
  }
  for (const e of sorted) {
    const act = activityId(e);
    const informants = new Set<string>();
    const usedIds = new Map<RecordedFile, string>();
    for (const f of [...e.inputs, ...e.executed]) {
      const p = producer(f, e);
      const id = p ? outputId(ref(f), p) : addEntity(sourceId(ref(f)), ref(f));
      usedIds.set(f, id);
      rel('used', { 'prov:activity': act, 'prov:entity': id });
      if (p) informants.add(activityId(p));
    }
    for (const o of e.outputs) {
      const out = outputId(ref(o), e);
      rel('wasGeneratedBy', { 'prov:entity': out, 'prov:activity': act, 'prov:time': new Date(e.finishedAt).toISOString() });
      // derivations from the workspace's own files (system files are used, not derived from)
      for (const f of e.inputs) {
        if (!isAbsolute(f.path)) rel('wasDerivedFrom', { 'prov:generatedEntity': out, 'prov:usedEntity': usedIds.get(f)!, 'prov:activity': act });
      }
    }
    for (const informant of informants) rel('wasInformedBy', { 'prov:informed': act, 'prov:informant': informant });
  }
  return doc;
}

function lineageExecutions(roots: LineageNode[]): { executions: ExecutionRecord[]; extra: FileVersionRef[] } {
  const executions = new Map<string, ExecutionRecord>();
  const extra: FileVersionRef[] = [];
  for (const root of roots) {
    if (!root.producedBy) extra.push({ path: root.path, hash: root.current?.hash ?? null, size: root.current?.size ?? null, mtimeNs: root.current?.mtimeNs ?? null });
    for (const { node } of walk(root)) if (node.producedBy) executions.set(node.producedBy.execution.id, node.producedBy.execution);
  }
  return { executions: [...executions.values()], extra };
}

export function lineageToProv(roots: LineageNode[]) {
  const { executions, extra } = lineageExecutions(roots);
  return executionsToProv(executions, extra);
}

export function lineageToDot(roots: LineageNode[]): string {
  const { executions, extra } = lineageExecutions(roots);
  return executionsToDot(executions, extra.map((e) => e.path));
}

const escapeDot = (s: string) => s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
const q = (s: string) => `"${escapeDot(s)}"`;

/** DOT: steps as boxes, workspace files as ellipses, system files left out; arrows follow the data. */
export function executionsToDot(executions: ExecutionRecord[], extraFiles: string[] = [], options: { system?: boolean } = {}): string {
  const lines = ['digraph provenance {', '  rankdir=LR;', '  node [fontname="Helvetica", fontsize=10];'];
  const files = new Set<string>(extraFiles);
  const edges: string[] = [];
  for (const e of [...executions].sort((a, b) => (a.id < b.id ? -1 : 1))) {
    const act = `step:${e.step}:${e.id}`;
    const command = e.definition.run.length > 60 ? e.definition.run.slice(0, 57) + '...' : e.definition.run;
    // escaped separately, joined by DOT's own line break: a "\n" inside the command stays as written
    const label = `"${escapeDot(e.step)}\\n${escapeDot(command)}"`;
    lines.push(`  ${q(act)} [shape=box, style="rounded,filled", fillcolor="${e.status === 'succeeded' ? '#dbeafe' : '#fecaca'}", label=${label}];`);
    for (const f of [...e.inputs, ...e.executed]) {
      if (isAbsolute(f.path) && !options.system) continue;
      files.add(f.path);
      edges.push(`  ${q(`file:${f.path}`)} -> ${q(act)};`);
    }
    for (const o of e.outputs) {
      files.add(o.path);
      edges.push(`  ${q(act)} -> ${q(`file:${o.path}`)};`);
    }
  }
  for (const f of [...files].sort()) lines.push(`  ${q(`file:${f}`)} [shape=ellipse, label=${q(shownPath(f))}];`);
  lines.push(...[...new Set(edges)], '}');
  return lines.join('\n') + '\n';
}
