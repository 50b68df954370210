/**
 * Lineage: from a file back to its sources through the recorded executions (DESIGN section 5).
 * Each node is a file version; each producer is the newest execution that wrote that exact content.
 */
import { isAbsolute } from 'node:path';
import { fromWorkspaceKey, type Disk, type ExecutionRecord, type ProvenanceStore, type RecordedFile } from '@prov-make/cache';
import type { StepIdentities } from '../pipeline/definition.js';
import type { Pipeline } from '../pipeline/types.js';

export interface VersionInfo {
  size: number | null;
  mtimeNs: string | null;
  hash: string | null;
  /** Its content-store object, when the version's bytes were kept (SHA-256). */
  sha256?: string | null;
  /** 'symlink' for a link: its size is its target's name, not the file it leads to. */
  kind?: 'file' | 'dir' | 'symlink' | 'other';
}

export interface LineageNode {
  /** As stored: relative to the workspace inside it, absolute outside. */
  path: string;
  /** Outside the workspace (compilers, interpreters, libraries, system headers). */
  system: boolean;
  /** A program or library the step executed, rather than a file it read. */
  executed: boolean;
  /** The version this node stands for: the one on disk (the root) or the one a step used. */
  version: VersionInfo | null;
  /** What is on disk now (null when the file is gone). */
  current: VersionInfo | null;
  /** The version used differs from the one on disk now. */
  changed: boolean;
  producedBy: ProducerNode | null;
}

export interface ProducerNode {
  execution: ExecutionRecord;
  step: string;
  command: string;
  /** null: the step is in pipeline.yml as it ran; 'edited' or 'removed': answered from history. */
  history: null | 'edited' | 'removed';
  inputs: LineageNode[];
}

export interface LineageContext {
  /** The workspace: stored paths are relative to it. */
  root: string;
  history: ProvenanceStore;
  disk: Disk;
  pipeline: Pipeline | null;
  /** The steps' identities under the caller's environment (an execution made under another one is 'edited'). */
  identities: StepIdentities;
}

export async function currentVersion(ctx: LineageContext, stored: string): Promise<VersionInfo | null> {
  const abs = fromWorkspaceKey(ctx.root, stored);
  const st = ctx.disk.lstat(abs);
  if (!st) return null;
  const hash = (await ctx.disk.hash(abs, st))?.xxh64 ?? null;
  return { size: Number(st.size), mtimeNs: st.mtimeNs.toString(), hash };
}

function versionOf(r: RecordedFile): VersionInfo {
  return { size: r.version?.size ?? null, mtimeNs: r.version?.mtimeNs ?? null, hash: r.hash, sha256: r.sha256 ?? null, kind: r.version?.kind };
}

function historyMark(ctx: LineageContext, e: ExecutionRecord): ProducerNode['history'] {
  if (!ctx.pipeline) return null;
  const step = ctx.pipeline.steps.find((s) => s.name === e.step);
  if (!step) return 'removed';
  return ctx.identities.of(step).hash === e.definitionHash ? null : 'edited';
}

export async function buildLineage(ctx: LineageContext, stored: string): Promise<LineageNode> {
  const current = await currentVersion(ctx, stored);
  const producer = current?.hash ? ctx.history.producerOf(stored, current.hash) : undefined;
  const root: LineageNode = {
    path: stored,
    system: isAbsolute(stored),
    executed: false,
    version: current,
    current,
    changed: false,
    producedBy: null,
  };
  const memo = new Map<string, ProducerNode>();
  if (producer) root.producedBy = await expand(ctx, producer, memo, new Set());
  return root;
}

async function expand(
  ctx: LineageContext,
  e: ExecutionRecord,
  memo: Map<string, ProducerNode>,
  visiting: Set<string>,
): Promise<ProducerNode> {
  const known = memo.get(e.id);
  if (known) return known;
  const node: ProducerNode = {
    execution: e,
    step: e.step,
    command: e.definition.run,
    history: historyMark(ctx, e),
    inputs: [],
  };
  memo.set(e.id, node);
  if (visiting.has(e.id)) return node;
  visiting.add(e.id);
  const files: [RecordedFile, boolean][] = [...e.inputs.map((f) => [f, false] as [RecordedFile, boolean]), ...e.executed.map((f) => [f, true] as [RecordedFile, boolean])];
  for (const [f, executed] of files) {
    const system = isAbsolute(f.path);
    const current = system ? null : await currentVersion(ctx, f.path);
    const version = versionOf(f);
    const child: LineageNode = {
      path: f.path,
      system,
      executed,
      version,
      current,
      changed: !system && (current === null || current.hash !== version.hash),
      producedBy: null,
    };
    if (!system) {
      // The newest execution that makes these bytes, not the one that made them before this reader
      // started: after early cutoff (a rerun that wrote the same bytes) or a restore, that one's
      // inputs are what the bytes stand for now, as `status` sees them.
      const p = f.hash === null ? undefined : ctx.history.producerOf(f.path, f.hash);
      if (p && p.id !== e.id) child.producedBy = await expand(ctx, p, memo, visiting);
    }
    node.inputs.push(child);
  }
  visiting.delete(e.id);
  return node;
}

/** Every node in the tree, nearest first: an output's own inputs before theirs (each producer once). */
export function* nearestFirst(root: LineageNode): Iterable<LineageNode> {
  const seen = new Set<string>();
  for (let level = [root]; level.length; ) {
    const next: LineageNode[] = [];
    for (const node of level) {
      yield node;
      const p = node.producedBy;
      if (p && !seen.has(p.execution.id)) {
        seen.add(p.execution.id);
        next.push(...p.inputs);
      }
    }
    level = next;
  }
}

/** Every node in the tree, depth first (each producer once). */
export function* walk(root: LineageNode): Iterable<{ node: LineageNode; parent: ProducerNode | null }> {
  const seen = new Set<string>();
  function* visit(node: LineageNode, parent: ProducerNode | null): Iterable<{ node: LineageNode; parent: ProducerNode | null }> {
    yield { node, parent };
    const p = node.producedBy;
    if (!p || seen.has(p.execution.id)) return;
    seen.add(p.execution.id);
    for (const child of p.inputs) yield* visit(child, p);
  }
  yield* visit(root, null);
}
