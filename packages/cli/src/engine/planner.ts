/**
 * `status`: the builder's decisions without acting on them. The same checks in file order, with
 * what planned restores and cache hits would bring back taken as done, and a step whose inputs an
 * earlier would-run step makes marked as may-run. Writes nothing, runs nothing, takes no lock.
 */
import type { BuildState } from './build-state.js';
import { checkStep, type Verdict } from './check.js';
import type { Focus } from './focus.js';
import { BuildPlan } from './plan.js';
import type { Reason } from './reasons.js';
import type { RunReport, StepReport } from './report.js';
import { checkStepFolders } from './step-folders.js';
import { stepIndexes } from './targets.js';

export interface PlanOptions {
  /** Steps to plan for (with what they depend on); all when empty. */
  targets?: string[];
  force?: boolean;
}

/** With a `focus` (focus.ts), only the steps it examines are checked: the others are up to date. */
export async function planSteps(b: BuildState, options: PlanOptions, started: number, focus?: Focus): Promise<RunReport> {
  const targets = stepIndexes(b.pipeline, options.targets);
  checkStepFolders(b);
  const plan = new BuildPlan(b.steps.length, 1, () => b.graph(), targets);
  const expectedXxh = new Map<string, string | null>(); // what planned restores bring back, for the checks
  const expectedSha = new Map<string, string>(); // the same for cache keys
  const wouldRun = new Set<number>();
  const steps: StepReport[] = [];
  for (let i = plan.next(); i !== undefined; i = plan.next()) {
    if (focus && !focus.examined.has(i)) {
      steps.push({ name: b.steps[i].name, status: 'up-to-date', reason: { kind: 'up-to-date' }, durationMs: 0 });
      plan.finished(i, false);
      continue;
    }
    const forced = Boolean(options.force) && (targets.length === 0 || targets.includes(i));
    let verdict = await checkStep(b, i, { force: forced, expected: expectedXxh });
    if (verdict.action === 'run' && !forced) verdict = await withCacheHit(b, i, verdict, expectedXxh, expectedSha);
    if (verdict.action === 'restore') for (const r of verdict.restore) if (r.hash) expectedXxh.set(r.path, r.hash);
    const upstream = verdict.action === 'skip' ? upstreamWouldRun(focus ? focus.uses(i) : b.graph().uses[i], wouldRun) : undefined;
    const reason: Reason = upstream === undefined ? verdict.reason : { kind: 'upstream-would-run', step: b.steps[upstream].name };
    const status = upstream !== undefined || verdict.action === 'run' ? 'would-run' : verdict.action === 'restore' ? 'would-restore' : 'up-to-date';
    if (status === 'would-run') wouldRun.add(i);
    steps.push({ name: b.steps[i].name, status, reason, durationMs: 0 });
    plan.finished(i, false);
  }
  return { ok: true, steps, hazards: [], interrupted: false, durationMs: Date.now() - started };
}

/** A step that would run is restored instead when the cache holds an execution for the files as they would be. */
async function withCacheHit(b: BuildState, i: number, verdict: Verdict, expectedXxh: Map<string, string | null>, expectedSha: Map<string, string>): Promise<Verdict> {
  const hit = await b.stores.steps.wouldHit({ step: b.steps[i].name, definitionHash: b.definitionHash(i), leftOut: b.leftOut(i), expected: expectedSha });
  if (!hit) return verdict;
  for (const o of hit.entry.outputs) if (o.kind === 'file') expectedXxh.set(b.abs(o.path), o.hash);
  return { action: 'restore', reason: { kind: 'in-cache', cause: verdict.reason }, restore: [] };
}

/** An earlier step that would run and makes something step i uses (`uses`: its StepGraph.uses). */
function upstreamWouldRun(uses: Iterable<number>, wouldRun: Set<number>): number | undefined {
  if (wouldRun.size === 0) return undefined;
  for (const j of uses) if (wouldRun.has(j)) return j;
  return undefined;
}
