/**
 * The engine proper: in file order (or as the graph allows with -j), decide whether each step is up
 * to date, restore or run it, record what it did, and check hazards. runPipeline (run.ts) loads it
 * only when the no-op snapshot cannot answer.
 */
import { mkdirSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { checkRestorePath, prepareRestorePath } from '@prov-make/cache';
import { join } from 'node:path';
import picomatch from 'picomatch';
import type { Pipeline, Step } from '../pipeline/pipeline.js';
import { checkStep, TokenCache, type CheckContext, type RestoreItem, type Verdict } from './check.js';
import type { DepsLog, StepHashes, StepState } from './deps-log.js';
import { startStep, type Execution, type ExecuteContext, type RunningStep, type StepOutcome } from './execute.js';
import { stepDependencies, withDependencies } from './graph.js';
import { listingToken } from './listing.js';
import type { Hazard, RunReport, StepReport } from './report.js';
import { UnknownStepError, type RunOptions } from './run.js';
import type { CacheHit } from './shared-cache.js';
import type { Stores } from './stores.js';
import { recordSnapshot } from './up-to-date-snapshot.js';
import { absolutePath, isInside, storedPath, type Workspace } from './workspace.js';
import { nowNs, statOf, tokenToRecord } from './version-token.js';

/** Caches, Python byte code: written as a side effect, never a step's real product. */
const BUILTIN_IGNORES = ['**/__pycache__/**', '**/*.pyc'];

export class Runner {
  private readonly liveGroups = new Set<number>();

  private noteGroups(): void {
    writeFileSync(join(this.ws.runDir, 'process-groups'), [...this.liveGroups].join('\n'));
  }

  private readonly steps: Step[];
  private readonly states: (StepState | undefined)[];
  /** Stored path -> indexes of steps whose last execution wrote it. */
  private readonly writers = new Map<string, Set<number>>();
  private readonly tokens: TokenCache;
  private readonly ignored: (abs: string) => boolean;
  private readonly hazards: Hazard[] = [];
  private readonly runId = `${Date.now()}-${process.pid}`;
  private executionCounter = 0;

  /** Unique and sortable by time. */
  private newExecutionId(): string {
    return `${String(Date.now()).padStart(15, '0')}-${process.pid}-${++this.executionCounter}`;
  }

  constructor(
    private readonly ws: Workspace,
    private readonly pipeline: Pipeline,
    private readonly log: DepsLog,
    private readonly stores: Stores,
    private readonly options: RunOptions,
  ) {
    this.steps = pipeline.steps;
    this.states = this.steps.map((s) => log.get(s.name));
    this.states.forEach((st, i) => st && this.addWriter(st, i));
    this.tokens = new TokenCache(ws, log);
    const userIgnore = pipeline.ignore.length ? picomatch(pipeline.ignore, { dot: true }) : () => false;
    const builtin = picomatch(BUILTIN_IGNORES, { dot: true });
    this.ignored = (abs) => {
      if (isInside(ws.stateDir, abs) || isInside(ws.cacheDir, abs)) return true;
      const rel = storedPath(ws, abs);
      return builtin(rel) || userIgnore(rel) || userIgnore(abs);
    };
  }

  private addWriter(st: StepState, i: number) {
    for (let k = 0; k < st.outputs.length; k += 2) {
      const p = this.log.pathOf(st.outputs[k]);
      let s = this.writers.get(p);
      if (!s) this.writers.set(p, (s = new Set()));
      s.add(i);
    }
  }

  private removeWriter(st: StepState, i: number) {
    for (let k = 0; k < st.outputs.length; k += 2) this.writers.get(this.log.pathOf(st.outputs[k]))?.delete(i);
  }

  /**
   * Files left out of step i's folder listings: the outputs of step i itself and of later steps.
   * A listing is compared before the step runs (and in a fresh clone its own outputs do not exist
   * yet); later steps' outputs are the read-before-write hazard, not a reason to rerun.
   */
  private notListed = (i: number) => (abs: string) => {
    const w = this.writers.get(storedPath(this.ws, abs));
    if (!w) return false;
    for (const j of w) if (j >= i) return true;
    return false;
  };

  /** status: what the restores it plans would bring back (xxh64 for the deps log, SHA-256 for the cache). */
  private readonly plannedXxh = new Map<string, string | null>();
  private readonly plannedSha = new Map<string, string>();

  private checkContext(): CheckContext {
    return {
      planned: this.options.plan ? this.plannedXxh : undefined,
      ws: this.ws,
      log: this.log,
      tokens: this.tokens,
      hasher: this.stores.hasher,
      hasBlob: (h) => this.stores.hasBlob(h),
      notListed: this.notListed,
    };
  }

  private executeContext(): ExecuteContext {
    return {
      ws: this.ws,
      log: this.log,
      hasher: this.stores.hasher,
      storeBlob: (p, h) => this.stores.storeBlob(p, h),
      storeBytes: (b) => this.stores.storeBytes(b),
      ignored: this.ignored,
      notListed: this.notListed,
      runId: this.runId,
      newExecutionId: () => this.newExecutionId(),
    };
  }

  async run(started: number): Promise<RunReport> {
    const { options } = this;
    // The graph of who uses whose files: built only when something needs it (-j, named steps, a
    // failure to block on, a plan that will run something); a sequential no-op run never does.
    let graph: ReturnType<typeof stepDependencies> | null = null;
    const dependencies = () => (graph ??= stepDependencies(this.steps, this.states, this.log));
    const index = new Map(this.steps.map((s, i) => [s.name, i]));
    let selected: Set<number>;
    if (options.targets?.length) {
      const unknown = options.targets.filter((t) => !index.has(t));
      if (unknown.length) throw new UnknownStepError(`no step named "${unknown[0]}" in ${this.pipeline.file} (steps: ${this.steps.map((s) => s.name).join(', ')})`);
      selected = withDependencies(options.targets.map((t) => index.get(t)!), dependencies().uses);
    } else {
      selected = new Set(this.steps.keys());
    }
    const forced = (i: number) => Boolean(options.force) && (!options.targets?.length || options.targets.includes(this.steps[i].name));
    const jobs = Math.max(1, options.jobs ?? 1);
    const reports = new Map<number, StepReport>();
    const willChange = new Set<number>(); // plan: steps that would run or restore
    const running = new Map<number, Promise<void>>();
    const live = new Map<number, RunningStep>();
    let interrupted = false;
    const onAbort = () => {
      interrupted = true;
      for (const r of live.values()) r.kill('SIGTERM');
      setTimeout(() => { for (const r of live.values()) r.kill('SIGKILL'); }, 3000).unref();
    };
    options.signal?.addEventListener('abort', onAbort, { once: true });
    if (options.signal?.aborted) onAbort();

    const order = [...selected].sort((a, b) => a - b);
    const pending = new Set(order);
    const done = new Set<number>();
    const failed = new Set<number>();

    const finish = (i: number, report: StepReport) => {
      reports.set(i, report);
      done.add(i);
      if (report.status === 'failed' || report.status === 'blocked') failed.add(i);
      options.events?.stepFinished?.(report);
    };

    const process1 = async (i: number) => {
      const step = this.steps[i];
      const t0 = Date.now();
      let verdict: Verdict = await checkStep(step, i, this.checkContext(), { force: forced(i), state: this.states[i] });
      if (options.plan) {
        if (verdict.action === 'run' && !forced(i)) {
          const hit = await this.stores.shared.wouldHit(step, this.notListed(i), this.plannedSha);
          if (hit) {
            verdict = { action: 'restore', reason: `${verdict.reason}; its outputs are in the cache`, restore: [] };
            for (const o of hit.entry.outputs) if (o.kind === 'file') this.plannedXxh.set(absolutePath(this.ws, o.path), o.hash);
          }
        }
        if (verdict.action === 'restore') for (const r of verdict.restore) if (r.hash) this.plannedXxh.set(r.path, r.hash);
        const upstream = willChange.size ? [...dependencies().uses[i]].find((j) => willChange.has(j) && reports.get(j)?.status === 'would-run') : undefined;
        if (verdict.action === 'skip' && upstream !== undefined) {
          verdict = { action: 'run', reason: `it may need to after ${this.steps[upstream].name} runs (its outputs are inputs here)` };
        }
        if (verdict.action !== 'skip') willChange.add(i);
        const status = verdict.action === 'run' ? 'would-run' : verdict.action === 'restore' ? 'would-restore' : 'up-to-date';
        finish(i, { name: step.name, status, reason: verdict.reason, durationMs: 0 });
        return;
      }
      if (verdict.action === 'skip') {
        finish(i, { name: step.name, status: 'skipped', reason: verdict.reason, durationMs: Date.now() - t0 });
        return;
      }
      if (verdict.action === 'restore') {
        try {
          await this.restore(step, verdict.restore);
          finish(i, { name: step.name, status: 'restored', reason: verdict.reason, durationMs: Date.now() - t0 });
          return;
        } catch (err) {
          verdict = { action: 'run', reason: `restoring from the cache failed (${(err as Error).message})` };
        }
      }
      if (!forced(i)) {
        const hit = await this.stores.shared.lookup(step, this.notListed(i));
        if (hit && (await this.stores.shared.fetchBlobs(hit))) {
          try {
            await this.adopt(i, hit);
            finish(i, { name: step.name, status: 'restored', reason: `${verdict.reason}; restored its outputs from the ${hit.from === 'remote' ? 'remote ' : ''}cache`, durationMs: Date.now() - t0 });
            return;
          } catch (err) {
            (options.warn ?? ((m: string) => process.stderr.write(`prov-make: warning: ${m}\n`)))(`could not restore step ${step.name} from the cache (${(err as Error).message}); running it`);
          }
        }
      }
      options.events?.stepStarted?.(step, verdict.reason);
      const handle = startStep(step, i, verdict.reason, this.executeContext(), (line) => options.events?.stepLine?.(step, line));
      live.set(i, handle);
      if (handle.pid) {
        this.liveGroups.add(handle.pid);
        this.noteGroups();
      }
      let outcome: StepOutcome;
      try {
        outcome = await handle.done;
      } finally {
        live.delete(i);
        if (handle.pid) {
          this.liveGroups.delete(handle.pid);
          this.noteGroups();
        }
      }
      if (outcome.interrupted || interrupted) {
        // Nothing is recorded for an interrupted step: next time it runs again.
        finish(i, { name: step.name, status: 'failed', reason: 'interrupted', durationMs: Date.now() - t0, exitCode: outcome.execution.exitCode });
        return;
      }
      this.record(i, outcome);
      const ok = outcome.state.succeeded;
      if (ok) await this.stores.shared.store(step, outcome.execution, this.notListed(i));
      const report: StepReport = {
        name: step.name,
        status: ok ? 'ran' : 'failed',
        reason: ok ? verdict.reason : `${outcome.execution.signal ? `killed by ${outcome.execution.signal}` : `exit code ${outcome.execution.exitCode}`} (it ran because ${verdict.reason})`,
        durationMs: Date.now() - t0,
        exitCode: outcome.execution.exitCode,
      };
      if (!ok) report.output = outcome.output.toString('utf8');
      finish(i, report);
    };

    /** A step whose producers failed is not run: it is blocked, with the reason. */
    const blockedBy = (i: number): boolean => {
      if (options.plan || failed.size === 0) return false;
      const failedDep = [...dependencies().uses[i]].find((j) => failed.has(j));
      if (failedDep === undefined) return false;
      const what = reports.get(failedDep)?.status === 'blocked' ? 'was blocked' : 'failed';
      const reason = this.states[i]
        ? `it depends on ${this.steps[failedDep].name}, which ${what}`
        : `it has never run, so it may use what ${this.steps[failedDep].name} makes, and ${this.steps[failedDep].name} ${what}`;
      finish(i, { name: this.steps[i].name, status: 'blocked', reason, durationMs: 0 });
      return true;
    };

    if (jobs === 1) {
      // In file order, one at a time: every earlier step is done when a step is looked at.
      for (const i of order) {
        if (interrupted) break;
        pending.delete(i);
        if (blockedBy(i)) continue;
        const p = process1(i);
        running.set(i, p);
        await p.finally(() => running.delete(i));
      }
    } else {
      // A step is ready when every selected step it waits for is done; ready steps start in file order.
      const { waitFor } = dependencies();
      const remaining = new Map<number, number>();
      const dependents = new Map<number, number[]>();
      for (const i of order) {
        let n = 0;
        for (const j of waitFor[i]) {
          if (!selected.has(j)) continue;
          n++;
          const list = dependents.get(j);
          if (list) list.push(i);
          else dependents.set(j, [i]);
        }
        remaining.set(i, n);
      }
      const ready = order.filter((i) => remaining.get(i) === 0);
      const release = (i: number) => {
        for (const d of dependents.get(i) ?? []) {
          const left = remaining.get(d)! - 1;
          remaining.set(d, left);
          if (left === 0) {
            let at = ready.length;
            while (at > 0 && ready[at - 1] > d) at--;
            ready.splice(at, 0, d);
          }
        }
      };
      while ((ready.length || running.size) && !interrupted) {
        while (ready.length && running.size < jobs && !interrupted) {
          const i = ready.shift()!;
          pending.delete(i);
          if (blockedBy(i)) {
            release(i);
            continue;
          }
          running.set(i, process1(i).finally(() => {
            running.delete(i);
            release(i);
          }));
        }
        if (running.size) await Promise.race(running.values());
      }
      if (pending.size && !interrupted && !running.size) {
        throw new Error(`internal: no runnable step among ${[...pending].map((i) => this.steps[i].name).join(', ')}`);
      }
    }
    await Promise.allSettled(running.values());
    options.signal?.removeEventListener('abort', onAbort);

    if (!options.plan) this.checkOrderHazards();
    const steps = order.filter((i) => reports.has(i)).map((i) => reports.get(i)!);
    const ok = !interrupted && this.hazards.length === 0 && steps.every((s) => s.status !== 'failed' && s.status !== 'blocked');
    if (!options.plan) {
      this.log.flush();
      recordSnapshot(this.ws, this.pipeline, this.states, this.log, ok && steps.length === this.steps.length, (i, absDir) => {
        let names: string[] = [];
        try {
          names = readdirSync(absDir);
        } catch {
          /* a folder that is gone */
        }
        const left = this.notListed(i);
        return names.filter((n) => left(join(absDir, n)));
      });
    }
    return { ok, steps, hazards: this.hazards, interrupted, durationMs: Date.now() - started };
  }

  private async restore(step: Step, items: RestoreItem[]) {
    // parents first: a deleted folder is made again before the files that go in it
    for (const item of [...items].sort((a, b) => (a.path < b.path ? -1 : 1))) {
      if (item.hash === null) {
        checkRestorePath(this.ws.root, item.path);
        mkdirSync(item.path, { recursive: true, mode: item.mode & 0o7777 });
      } else {
        await this.stores.restoreBlob(item.hash, item.path, item.mode);
      }
    }
    const st = this.log.get(step.name)!;
    const outputs = Float64Array.from(st.outputs);
    const now = nowNs();
    for (let k = 0; k < outputs.length; k += 2) {
      this.tokens.forget(outputs[k]);
      outputs[k + 1] = tokenToRecord(statOf(absolutePath(this.ws, this.log.pathOf(outputs[k]))), now);
    }
    this.log.refreshTokens(step.name, st.inputs, outputs);
  }

  /** Takes a cached execution as this step's own: its outputs restored, its dependencies as they are now. */
  private async adopt(i: number, hit: CacheHit) {
    // parents first: folders are made before what goes in them
    for (const o of [...hit.entry.outputs].sort((a, b) => (a.path < b.path ? -1 : 1))) {
      const abs = absolutePath(this.ws, o.path);
      if (o.kind === 'file') await this.stores.restoreBlob(o.hash, abs, o.mode);
      else {
        checkRestorePath(this.ws.root, abs);
        await prepareRestorePath(this.ws.root, abs); // refuses a symlinked folder on the way
        if (o.kind === 'dir') mkdirSync(abs, { recursive: true, mode: o.mode });
        else {
          rmSync(abs, { force: true });
          symlinkSync(o.target, abs);
        }
      }
    }
    const now = nowNs();
    const set = hit.pathSet;
    const inputs = new Float64Array(set.inputs.length * 2);
    const hashes: StepHashes = { inputs: [], outputs: [], outputModes: [] };
    for (let k = 0; k < set.inputs.length; k++) {
      const abs = absolutePath(this.ws, set.inputs[k]);
      const st = statOf(abs);
      inputs[2 * k] = this.log.idOf(set.inputs[k]);
      inputs[2 * k + 1] = tokenToRecord(st, now);
      hashes.inputs.push(st && !st.isDirectory() ? await this.stores.hasher.hashOf(abs, st) : null);
    }
    const outputs = new Float64Array(hit.entry.outputs.length * 2);
    for (let k = 0; k < hit.entry.outputs.length; k++) {
      const o = hit.entry.outputs[k];
      const abs = absolutePath(this.ws, o.path);
      const st = statOf(abs);
      outputs[2 * k] = this.log.idOf(o.path);
      outputs[2 * k + 1] = tokenToRecord(st, now);
      this.tokens.forget(outputs[2 * k]);
      hashes.outputs.push(o.kind === 'file' ? o.hash : o.kind === 'symlink' ? await this.stores.hasher.hashOf(abs, st) : null);
      hashes.outputModes.push(o.kind === 'file' ? 0o100000 | o.mode : o.kind === 'dir' ? 0o040000 | o.mode : 0o120777);
    }
    const later = this.notListed(i);
    const listed = new Float64Array(set.listed.length * 2);
    set.listed.forEach((p, k) => {
      listed[2 * k] = this.log.idOf(p);
      listed[2 * k + 1] = listingToken(absolutePath(this.ws, p), later);
    });
    const original = hit.entry.execution;
    const execution = {
      ...original,
      id: this.newExecutionId(),
      runId: this.runId,
      reason: `restored from the cache (made by execution ${original.id})`,
      trusted: true,
      distrust: null,
    };
    const state: StepState = {
      definitionHash: original.definitionHash,
      definition: original.definition,
      executionId: execution.id,
      succeeded: true,
      trusted: true,
      distrust: null,
      startedAt: original.startedAt,
      finishedAt: original.finishedAt,
      exitCode: 0,
      inputs,
      outputs,
      absent: Float64Array.from(set.absent.map((p) => this.log.idOf(p))),
      listed,
    };
    this.commit(i, execution, state, hashes);
  }

  /** History first: a kill between the two writes leaves the old state, so the step runs again. */
  private commit(i: number, execution: Execution, state: StepState, hashes: StepHashes) {
    this.stores.recordExecution(execution);
    this.log.put(this.steps[i].name, state, hashes);
    const old = this.states[i];
    if (old) this.removeWriter(old, i);
    this.states[i] = state;
    this.addWriter(state, i);
  }

  private record(i: number, outcome: StepOutcome) {
    const step = this.steps[i];
    const { execution, state, hashes } = outcome;
    this.commit(i, execution, state, hashes);
    for (const p of [...outcome.trace.deps.writes, ...outcome.trace.deps.deleted]) {
      const stored = storedPath(this.ws, p);
      // Only forget ids already interned; new ones have no cached token.
      this.tokens.forget(this.log.idOf(stored));
    }
    for (const out of execution.outputs) {
      const others = [...(this.writers.get(out.path) ?? [])].filter((j) => j !== i);
      const st = statOf(absolutePath(this.ws, out.path));
      if (others.length && st && !st.isDirectory()) {
        const other = this.steps[others[0]].name;
        this.addHazard({
          kind: 'two-writers',
          steps: [other, step.name],
          path: out.path,
          message: `steps "${other}" and "${step.name}" both write ${out.path}`,
          fix: `make only one of them write it, or have one write a different file and the other read that`,
        });
      }
    }
    if (execution.distrust?.includes('changed while the step ran')) {
      const path = execution.distrust.replace(/^input (.*) changed while the step ran$/, '$1');
      this.addHazard({
        kind: 'changed-while-running',
        steps: [step.name],
        path,
        message: `${path} changed while step "${step.name}" was running, so this execution is not trusted`,
        fix: `make sure nothing else writes ${path} while prov-make runs; "${step.name}" runs again next time`,
      });
    }
  }

  /** A step that reads or probes a file a later step writes sees an old or missing version. */
  private checkOrderHazards() {
    // Writers by file id: a million recorded reads are checked with one numeric lookup each.
    const writersById = new Map<number, number[]>();
    this.states.forEach((st, j) => {
      if (!st) return;
      for (let k = 0; k < st.outputs.length; k += 2) {
        const list = writersById.get(st.outputs[k]);
        if (list) list.push(j);
        else writersById.set(st.outputs[k], [j]);
      }
    });
    if (writersById.size === 0) return;
    this.states.forEach((st, i) => {
      if (!st) return;
      const seen = (id: number) => {
        const writers = writersById.get(id);
        if (!writers) return;
        const j = writers.find((w) => w > i);
        if (j === undefined) return;
        const p = this.log.pathOf(id);
        const reader = this.steps[i].name;
        const writer = this.steps[j].name;
        this.addHazard({
          kind: 'read-before-write',
          steps: [reader, writer],
          path: p,
          message: `step "${reader}" reads ${p}, which the later step "${writer}" writes`,
          fix: `move "${writer}" above "${reader}" in ${this.pipeline.file} (and add \`needs: [${writer}]\` to "${reader}"), or stop "${reader}" from reading it`,
        });
      };
      for (let k = 0; k < st.inputs.length; k += 2) seen(st.inputs[k]);
      for (let k = 0; k < st.absent.length; k++) seen(st.absent[k]);
    });
  }


  private addHazard(h: Hazard) {
    if (this.hazards.some((x) => x.kind === h.kind && x.path === h.path && x.steps.join() === h.steps.join())) return;
    this.hazards.push(h);
    this.options.events?.hazard?.(h);
  }
}
