/**
 * Is a step up to date? DESIGN section 3, in order; the first failing rule is the reason. Tokens
 * are compared first (one lstat per distinct file per run); a token that differs is confirmed by
 * content hash, so touching a file or an upstream step rewriting the same bytes (early cutoff)
 * reruns nothing. Checking writes nothing: confirmed tokens come back in the verdict, for the
 * builder to keep (the planner does not).
 */
import { ABSENT, nowNs, targetOf, tokenToRecord, type StepState } from '@prov-make/cache';
import { pathOfKey } from '@prov-make/cache/workspace-key';
import type { StepDefinition } from '../pipeline/definition.js';
import { isSecretName } from '../pipeline/step-env.js';
import type { BuildState } from './build-state.js';
import type { DamagedOutput, DefinitionChange, Reason } from './reasons.js';

export interface RestoreItem {
  path: string; // absolute
  /** xxh64; null for a folder or a symlink: made again, a folder empty (the files in it are outputs of their own). */
  hash: string | null;
  /** The content-store object (SHA-256) a file is restored from. */
  sha256: string | null;
  mode: number;
  /** A symlink's target. */
  target?: string;
}

/** Tokens confirmed by hash: write them so the next check is one stat again. */
export interface Refresh {
  inputs: Float64Array;
  outputs: Float64Array;
}

export type Verdict =
  | { action: 'skip'; reason: Reason; refresh?: Refresh }
  | { action: 'restore'; reason: Reason; restore: RestoreItem[]; refresh?: Refresh }
  | { action: 'run'; reason: Reason };

export interface CheckOptions {
  force?: boolean;
  /** Planning: the xxh64 files will have after the restores planned so far (absolute path -> hash; null: a folder). */
  expected?: Map<string, string | null>;
}

export async function checkStep(b: BuildState, i: number, options: CheckOptions = {}): Promise<Verdict> {
  const state = b.state(i);
  if (!state) return { action: 'run', reason: { kind: 'never-ran' } };
  if (options.force) return { action: 'run', reason: { kind: 'forced' } };
  if (state.definitionHash !== b.definitionHash(i)) {
    return { action: 'run', reason: { kind: 'definition-changed', change: definitionChange(state.definition, b.identity(i).definition) } };
  }
  if (!state.succeeded) return { action: 'run', reason: { kind: 'last-run-failed', exitCode: state.exitCode } };
  if (state.distrust) return { action: 'run', reason: { kind: 'untrusted', distrust: state.distrust } };

  const inputs = await checkInputs(b, i, state, options.expected);
  if ('reason' in inputs) return { action: 'run', reason: inputs.reason };
  const other = checkAbsentAndListed(b, i, state);
  if (other) return { action: 'run', reason: other };
  return checkOutputs(b, i, state, inputs.tokens);
}

async function checkInputs(b: BuildState, i: number, state: StepState, expected?: Map<string, string | null>): Promise<{ reason: Reason } | { tokens: Float64Array }> {
  const { ids, tokens } = state.inputs;
  const mismatched: number[] = [];
  for (let k = 0; k < ids.length; k++) if (b.tokens.current(ids[k]) !== tokens[k]) mismatched.push(k);
  if (mismatched.length === 0) return { tokens };
  const recordedHashes = b.deps.getHashes(b.steps[i].name)?.inputs;
  const refreshed = Float64Array.from(tokens);
  const now = nowNs();
  for (const k of mismatched) {
    const path = b.deps.pathOf(ids[k]);
    const abs = b.abs(path);
    const before = recordedHashes?.[k] ?? null;
    const program = isSystemProgram(path);
    if (expected?.has(abs)) {
      const after = expected.get(abs)!;
      if (after === before) continue; // an upstream restore brings this version back
      return { reason: { kind: 'input-changed', path, program, before, after } };
    }
    const st = b.disk.lstat(abs);
    if (!st) return { reason: { kind: 'input-deleted', path, program } };
    const after = st.isDirectory() ? null : ((await b.disk.hash(abs, st))?.xxh64 ?? null);
    if (before === null || after !== before) return { reason: { kind: 'input-changed', path, program, before, after } };
    refreshed[k] = tokenToRecord(st, now);
  }
  return { tokens: refreshed };
}

function checkAbsentAndListed(b: BuildState, i: number, state: StepState): Reason | null {
  for (const id of state.absent) {
    if (b.tokens.current(id) !== ABSENT) return { kind: 'absent-appeared', path: b.deps.pathOf(id) };
  }
  const leftOut = b.leftOut(i);
  const { ids, tokens } = state.listed;
  for (let k = 0; k < ids.length; k++) {
    const dir = b.deps.pathOf(ids[k]);
    const now = b.listingOf(b.abs(dir), leftOut, state.listedRules?.[k]);
    if (now.token !== tokens[k]) return { kind: 'listing-changed', path: dir, ...entryChange(b.deps.getHashes(b.steps[i].name)?.listedNames?.[k], now.names) };
  }
  return null;
}

async function checkOutputs(b: BuildState, i: number, state: StepState, inputTokens: Float64Array): Promise<Verdict> {
  const { ids, tokens } = state.outputs;
  const mismatched: number[] = [];
  for (let k = 0; k < ids.length; k++) if (b.tokens.current(ids[k]) !== tokens[k]) mismatched.push(k);
  const refreshInputs = inputTokens !== state.inputs.tokens;
  if (mismatched.length === 0) {
    return { action: 'skip', reason: { kind: 'up-to-date' }, refresh: refreshInputs ? { inputs: inputTokens, outputs: tokens } : undefined };
  }
  const recorded = b.deps.getHashes(b.steps[i].name);
  const refreshed = Float64Array.from(tokens);
  const now = nowNs();
  const restore: RestoreItem[] = [];
  const damaged: DamagedOutput[] = [];
  for (const k of mismatched) {
    const path = b.deps.pathOf(ids[k]);
    const abs = b.abs(path);
    const st = b.disk.lstat(abs);
    const hash = recorded?.outputs[k] ?? null;
    if (st && (st.isDirectory() || (hash !== null && (await b.disk.hash(abs, st))?.xxh64 === hash))) {
      refreshed[k] = tokenToRecord(st, now); // same content (touched, or a folder's mtime)
      continue;
    }
    const mode = recorded?.outputModes?.[k] ?? 0o100644;
    const output: DamagedOutput = { path, deleted: !st, folder: false };
    if (!st && (mode & 0o170000) === 0o040000) {
      restore.push({ path: abs, hash: null, sha256: null, mode });
      damaged.push({ ...output, folder: true });
      continue;
    }
    const target = targetOf(recorded?.outputTargets?.[k]);
    if (target !== undefined && (!st || st.isSymbolicLink() || st.isFile())) {
      restore.push({ path: abs, hash: null, sha256: null, mode, target });
      damaged.push(output);
      continue;
    }
    const sha256 = recorded?.outputSha256?.[k] ?? null;
    if (hash === null || sha256 === null || !b.stores.blobs.has(sha256)) return { action: 'run', reason: { kind: 'output-lost', output } };
    restore.push({ path: abs, hash, sha256, mode });
    damaged.push(output);
  }
  if (restore.length === 0) return { action: 'skip', reason: { kind: 'up-to-date' }, refresh: { inputs: inputTokens, outputs: refreshed } };
  const refresh = refreshInputs ? { inputs: inputTokens, outputs: tokens } : undefined;
  return { action: 'restore', reason: { kind: 'outputs-restored', damaged }, restore, refresh };
}

/** The first entry that appeared in a folder's listing, or vanished from it (when the names were kept). */
function entryChange(before: string | undefined, now: string[] | null): { appeared?: string; vanished?: string } {
  if (before === undefined || now === null) return {};
  const was = new Set(before === '' ? [] : pathOfKey(before).split('\0'));
  const appeared = now.find((n) => !was.has(n));
  if (appeared !== undefined) return { appeared };
  const is = new Set(now);
  const vanished = [...was].find((n) => !is.has(n));
  return vanished === undefined ? {} : { vanished };
}

/** A program or library outside the workspace: how a changed input is named to people. */
function isSystemProgram(stored: string): boolean {
  return stored.startsWith('/') && /(^|\/)(bin|sbin|libexec)\/|\.so(\.\d+)*$/.test(stored);
}

/** What changed between the definition of the last execution and the one it has now. */
function definitionChange(old: StepDefinition, now: StepDefinition): DefinitionChange {
  if (old.run !== now.run) return { what: 'command' };
  if (old.cwd !== now.cwd) return { what: 'cwd', before: old.cwd, after: now.cwd };
  const oldShell = (old.shell ?? ['/bin/sh', '-c']).join(' ');
  const newShell = (now.shell ?? []).join(' ');
  if (oldShell !== newShell) return { what: 'shell', before: oldShell, after: newShell };
  // what the step sees: inherited variables, its env: over them
  const was = { ...old.inherited, ...old.env };
  const is = { ...now.inherited, ...now.env };
  for (const name of [...new Set([...Object.keys(was), ...Object.keys(is)])].sort()) {
    const before = was[name];
    const after = is[name];
    if (before === after) continue;
    const secret = isSecretName(name);
    if (before === undefined) return { what: 'env-added', name, value: secret ? null : after };
    if (after === undefined) return { what: 'env-removed', name };
    return secret ? { what: 'env-changed', name, before: null, after: null } : { what: 'env-changed', name, before, after };
  }
  return { what: 'other' };
}
