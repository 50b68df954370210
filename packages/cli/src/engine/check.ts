/**
 * Is a step up to date? DESIGN section 3, in order; the first failing rule is the reason.
 * The fast path compares version tokens (one lstat per distinct file per run); a token that
 * differs is confirmed by content hash, so touching a file or an upstream step rewriting the same
 * bytes (early cutoff) reruns nothing.
 */
import type { Step } from '../pipeline/pipeline.js';
import type { DepsLog, StepState } from './deps-log.js';
import { describeDefinitionChange, definitionHash } from './definition.js';
import { listingToken } from './listing.js';
import { absolutePath } from './workspace.js';
import type { Workspace } from './workspace.js';
import { ABSENT, statOf, tokenOf, nowNs, tokenToRecord } from './version-token.js';
import type { FileHasher } from './hasher.js';

export type Verdict =
  | { action: 'skip'; reason: string }
  | { action: 'restore'; reason: string; restore: RestoreItem[] }
  | { action: 'run'; reason: string };

export interface RestoreItem {
  path: string; // absolute
  /** null for a folder: it is made again, empty (the files in it are outputs of their own). */
  hash: string | null;
  mode: number;
}

/** Current tokens of files, shared by every check of one run; invalidated when a step writes. */
export class TokenCache {
  /** Indexed by file id; NaN: not looked at yet in this run. */
  private tokens = new Float64Array(0);
  constructor(private readonly ws: Workspace, private readonly log: DepsLog) {}

  current(id: number): number {
    if (id >= this.tokens.length) {
      const grown = new Float64Array(Math.max(id + 1, this.log.fileCount + 1, this.tokens.length * 2)).fill(NaN);
      grown.set(this.tokens);
      this.tokens = grown;
    }
    let t = this.tokens[id];
    if (t !== t) {
      t = tokenOf(statOf(absolutePath(this.ws, this.log.pathOf(id))));
      this.tokens[id] = t;
    }
    return t;
  }

  forget(id: number): void {
    if (id < this.tokens.length) this.tokens[id] = NaN;
  }

}

export interface CheckContext {
  ws: Workspace;
  log: DepsLog;
  tokens: TokenCache;
  hasher: FileHasher;
  /** Whether the content store holds a blob. */
  hasBlob(hash: string): boolean;
  /** status: files that steps planned to restore would bring back (absolute path -> xxh64 hash). */
  planned?: Map<string, string | null>;
  /** For listings: true for outputs of steps after `stepIndex`. */
  notListed(stepIndex: number): (absPath: string) => boolean;
}

export async function checkStep(
  step: Step,
  stepIndex: number,
  ctx: CheckContext,
  options: { force?: boolean; state?: StepState } = {},
): Promise<Verdict> {
  // The runner passes the state it already decoded: decoding a million dependencies twice shows.
  const state = options.state ?? ctx.log.get(step.name);
  if (!state) return { action: 'run', reason: 'it has never run' };
  if (options.force) return { action: 'run', reason: 'forced (--force)' };
  const defHash = definitionHash(step);
  if (state.definitionHash !== defHash) return { action: 'run', reason: describeDefinitionChange(ctx, step) };
  if (!state.succeeded) return { action: 'run', reason: `its last run failed (${state.exitCode === null ? 'killed' : `exit code ${state.exitCode}`})` };
  if (!state.trusted) return { action: 'run', reason: `its last run cannot be trusted: ${state.distrust ?? 'not fully observed'}` };

  const inputReason = await checkInputs(step, state, ctx);
  if (inputReason) return { action: 'run', reason: inputReason };

  for (let i = 0; i < state.absent.length; i++) {
    const id = state.absent[i];
    if (ctx.tokens.current(id) !== ABSENT) {
      return { action: 'run', reason: `${ctx.log.pathOf(id)} appeared (it looked for it and it was absent)` };
    }
  }
  const later = ctx.notListed(stepIndex);
  for (let i = 0; i < state.listed.length; i += 2) {
    const dir = ctx.log.pathOf(state.listed[i]);
    if (listingToken(absolutePath(ctx.ws, dir), later) !== state.listed[i + 1]) {
      return { action: 'run', reason: `the entries of folder ${dir === '.' ? './' : dir + '/'} changed (it listed them)` };
    }
  }
  return checkOutputs(state, ctx, step);
}

async function checkInputs(step: Step, state: StepState, ctx: CheckContext): Promise<string | null> {
  const mismatched: number[] = [];
  const ins = state.inputs;
  for (let i = 0; i < ins.length; i += 2) {
    if (ctx.tokens.current(ins[i]) !== ins[i + 1]) mismatched.push(i);
  }
  if (mismatched.length === 0) return null;
  const hashes = ctx.log.getHashes(step.name);
  const refreshed = Float64Array.from(ins);
  const now = nowNs();
  for (const i of mismatched) {
    const stored = ctx.log.pathOf(ins[i]);
    const abs = absolutePath(ctx.ws, stored);
    const recorded = hashes?.inputs[i / 2] ?? null;
    if (ctx.planned?.has(abs)) {
      if (ctx.planned.get(abs) === recorded) continue; // an upstream restore brings this version back
      return `${describeInput(stored)} ${stored} changed`;
    }
    const st = statOf(abs);
    if (!st) return `${describeInput(stored)} ${stored} was deleted`;
    const current = st.isDirectory() ? null : await ctx.hasher.hashOf(abs, st);
    if (recorded === null || current !== recorded) return `${describeInput(stored)} ${stored} changed`;
    refreshed[i + 1] = tokenToRecord(st, now);
  }
  if (ctx.planned) return null; // status writes nothing
  ctx.log.refreshTokens(step.name, refreshed, state.outputs);
  state.inputs = refreshed;
  return null;
}

async function checkOutputs(state: StepState, ctx: CheckContext, step: Step): Promise<Verdict> {
  const outs = state.outputs;
  const mismatched: number[] = [];
  for (let i = 0; i < outs.length; i += 2) {
    if (ctx.tokens.current(outs[i]) !== outs[i + 1]) mismatched.push(i);
  }
  if (mismatched.length === 0) return { action: 'skip', reason: 'up to date' };
  const hashes = ctx.log.getHashes(step.name);
  const refreshed = Float64Array.from(outs);
  const now = nowNs();
  const restore: RestoreItem[] = [];
  const damaged: string[] = [];
  for (const i of mismatched) {
    const stored = ctx.log.pathOf(outs[i]);
    const abs = absolutePath(ctx.ws, stored);
    const st = statOf(abs);
    const recorded = hashes?.outputs[i / 2] ?? null;
    if (st && (st.isDirectory() || (recorded !== null && (await ctx.hasher.hashOf(abs, st)) === recorded))) {
      refreshed[i + 1] = tokenToRecord(st, now); // same content (touched, or a folder's mtime)
      continue;
    }
    const what = st ? 'was modified' : 'was deleted';
    const mode = hashes?.outputModes?.[i / 2] ?? 0o100644;
    if (!st && (mode & 0o170000) === 0o040000) {
      restore.push({ path: abs, hash: null, mode });
      damaged.push(`${stored}/ ${what}`);
      continue;
    }
    if (recorded === null || !ctx.hasBlob(recorded)) {
      return { action: 'run', reason: `output ${stored} ${what} and the cache does not hold its last version` };
    }
    restore.push({ path: abs, hash: recorded, mode });
    damaged.push(`${stored} ${what}`);
  }
  if (restore.length === 0) {
    ctx.log.refreshTokens(step.name, state.inputs, refreshed);
    state.outputs = refreshed;
    return { action: 'skip', reason: 'up to date' };
  }
  const what = damaged.length > 2 ? `${damaged[0]} (and ${damaged.length - 1} more)` : damaged.join(', ');
  return { action: 'restore', reason: `output ${what}; restored from the cache`, restore };
}

function describeInput(stored: string): string {
  return /(^|\/)(bin|sbin|libexec)\/|\.so(\.\d+)*$/.test(stored) && stored.startsWith('/') ? 'program or library' : 'input';
}
