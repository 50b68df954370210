/**
 * Why a step runs, is restored, skipped or blocked, and why an execution is not trusted: typed
 * values, said in words by describe() alone. Code decides on `kind`, never on the words.
 */
import type { Distrust } from '@prov-make/cache';
import { describeUntracedReason } from '@prov-make/interposer';
import { shownPath } from '../workspace/paths.js';

export type { Distrust };

export type DefinitionChange =
  | { what: 'command' }
  | { what: 'cwd'; before: string; after: string }
  | { what: 'shell'; before: string; after: string }
  /** Values are null for a secret (step-env.ts): they are never shown. */
  | { what: 'env-added'; name: string; value: string | null }
  | { what: 'env-removed'; name: string }
  | { what: 'env-changed'; name: string; before: string | null; after: string | null }
  | { what: 'other' };

/** An output found damaged: restored from the cache, or the reason the step runs. */
export interface DamagedOutput {
  path: string;
  deleted: boolean;
  folder: boolean;
}

/**
 * Why a cluster job ended when its command's own exit status does not say (Slurm's final states),
 * or why it could not start the command. `limit` is the step's resource as written ("mem=2G"), or
 * null when the partition's default applied.
 */
export type JobFailure =
  | { state: 'OUT_OF_MEMORY'; limit: string | null }
  | { state: 'TIMEOUT'; limit: string | null }
  | { state: 'CANCELLED' | 'PREEMPTED' | 'DEADLINE' }
  | { state: 'NODE_FAIL' | 'BOOT_FAIL'; nodes: string | null }
  /** The job ran, but its node could not start the command ("the job could not start on node7: cannot enter /w"). */
  | { state: 'SETUP'; problem: string }
  /** Slurm forgot the job before its end was seen. */
  | { state: 'UNKNOWN'; jobId: string };

export type Reason =
  | { kind: 'never-ran' }
  | { kind: 'forced' }
  | { kind: 'definition-changed'; change: DefinitionChange }
  | { kind: 'last-run-failed'; exitCode: number | null }
  | { kind: 'untrusted'; distrust: Distrust }
  /** `program`: a program or library outside the workspace (under bin/, sbin/, libexec/, or a .so). */
  | { kind: 'input-changed'; path: string; program: boolean; before: string | null; after: string | null }
  | { kind: 'input-deleted'; path: string; program: boolean }
  | { kind: 'absent-appeared'; path: string }
  /** `appeared`/`vanished`: an entry name, when the listing's names were kept. */
  | { kind: 'listing-changed'; path: string; appeared?: string; vanished?: string }
  /** An output is damaged and the cache does not hold its last version. */
  | { kind: 'output-lost'; output: DamagedOutput }
  | { kind: 'up-to-date' }
  | { kind: 'outputs-restored'; damaged: DamagedOutput[] }
  | { kind: 'restore-failed'; message: string }
  /** It ran (or would) for `cause`, and its outputs came (or would come) from the cache instead. */
  | { kind: 'from-cache'; cause: Reason; from: 'local' | 'remote' }
  | { kind: 'in-cache'; cause: Reason }
  /** `status`: an earlier step would run, and it may change what this one reads. */
  | { kind: 'upstream-would-run'; step: string }
  /** `fault`: what the machine did to it (`no space left on the device (while writing X)`). */
  | { kind: 'failed'; exitCode: number | null; signal: string | null; cause: Reason; fault?: string }
  /** The scheduler ended its job (or the job could not start the command). */
  | { kind: 'job-failed'; scheduler: 'Slurm'; failure: JobFailure; cause: Reason }
  /** Its job was refused (sbatch named the option): it did not start, and nothing is recorded. */
  | { kind: 'not-started'; message: string }
  /** prov-make could not record it: the machine's fault (a full disk), said as such. */
  | { kind: 'fault'; message: string }
  | { kind: 'interrupted' }
  /** Its working folder could not be used when it was to start (engine/step-folders.ts). */
  | { kind: 'folder-unusable'; cwd: string; problem: 'missing' | 'not-a-folder' | 'outside'; at: string }
  | { kind: 'blocked'; by: string; byWasBlocked: boolean; neverRan: boolean }
  /** Not started: `after` failed and the run stopped there (no --keep-going). */
  | { kind: 'stopped'; after: string }
  /** The reason history keeps for an execution taken over from the cache. */
  | { kind: 'adopted'; executionId: string };

/** One sentence for people. */
export function describe(r: Reason | Distrust): string {
  switch (r.kind) {
    case 'never-ran': return 'it has never run';
    case 'forced': return 'forced (--force)';
    case 'definition-changed': return describeDefinitionChange(r.change);
    case 'last-run-failed': return `its last run failed (${r.exitCode === null ? 'killed' : `exit code ${r.exitCode}`})`;
    case 'untrusted': return `its last run cannot be trusted: ${describe(r.distrust)}`;
    case 'input-changed': return `${r.program ? 'program or library' : 'input'} ${shownPath(r.path)} changed`;
    case 'input-deleted': return `${r.program ? 'program or library' : 'input'} ${shownPath(r.path)} was deleted`;
    case 'absent-appeared': return `${shownPath(r.path)} appeared (it looked for it and it was absent)`;
    case 'listing-changed': return describeListingChange(r);
    case 'output-lost': return `${describeDamage(r.output)} and the content store does not hold its last version`;
    case 'up-to-date': return 'up to date';
    case 'outputs-restored': return `output ${damagedList(r.damaged)}; restored from the cache${r.damaged.some((d) => !d.deleted && !d.folder) ? ' (the edited version is kept first: `prov-make log` shows how to get it back)' : ''}`;
    case 'restore-failed': return `restoring from the cache failed (${r.message})`;
    case 'from-cache': return `${r.cause.kind === 'output-lost' ? describeDamage(r.cause.output) : describe(r.cause)}; restored its outputs from the ${r.from === 'remote' ? 'remote ' : ''}cache`;
    case 'in-cache': return `${describe(r.cause)}; its outputs are in the cache`;
    case 'upstream-would-run': return `it may need to after ${r.step} runs (its outputs are inputs here)`;
    case 'failed': return `${r.fault ? `${r.fault}: ` : ''}${r.signal ? `killed by ${r.signal}` : `exit code ${r.exitCode}`} (it ran because ${describe(r.cause)})`;
    case 'job-failed': return `${describeJobFailure(r.scheduler, r.failure)} (it ran because ${describe(r.cause)})`;
    case 'not-started':
    case 'fault': return r.message;
    case 'interrupted': return 'interrupted';
    case 'folder-unusable': return `its folder ${r.cwd} ${r.problem === 'missing' ? 'does not exist' : r.problem === 'not-a-folder' ? 'is not a folder' : 'leads outside the workspace'} (cwd at ${r.at}): it did not start`;
    case 'blocked': return describeBlocked(r);
    case 'stopped': return `not started: the run stopped when ${r.after} failed (-k keeps going)`;
    case 'adopted': return `restored from the cache (made by execution ${r.executionId})`;
    case 'untraced-program': return `${shownPath(r.path)} ran without being observed (${describeUntracedReason(r.reason)})`;
    case 'trace-incomplete': return r.message;
    case 'input-changed-while-running': return `input ${shownPath(r.path)} changed while the step ran`;
  }
}

function describeDefinitionChange(c: DefinitionChange): string {
  switch (c.what) {
    case 'command': return 'its command changed';
    case 'cwd': return `its working folder changed (${c.before} -> ${c.after})`;
    case 'shell': return `its shell changed (${c.before} -> ${c.after})`;
    case 'env-added': return `env ${c.name} was added (${c.value === null ? 'a secret' : `${c.name}=${shortValue(c.value)}`})`;
    case 'env-removed': return `env ${c.name} was removed`;
    case 'env-changed': return `env ${c.name} changed (${c.before === null ? 'a secret: values not shown' : `${shortValue(c.before)} -> ${shortValue(c.after!)}`})`;
    case 'other': return 'its definition changed';
  }
}

function describeListingChange(r: Extract<Reason, { kind: 'listing-changed' }>): string {
  const folder = r.path === '.' ? './' : `${shownPath(r.path)}/`;
  const entry = (name: string) => shownPath(r.path === '.' ? name : `${r.path}/${name}`);
  if (r.appeared !== undefined) return `${entry(r.appeared)} appeared in folder ${folder} (it listed it)`;
  if (r.vanished !== undefined) return `${entry(r.vanished)} vanished from folder ${folder} (it listed it)`;
  return `the entries of folder ${folder} changed (it listed them)`;
}

/** A value in a sentence: long ones (a PATH) keep their two ends. */
function shortValue(v: string): string {
  return v.length > 60 ? `${v.slice(0, 28)}...${v.slice(-28)}` : v;
}

function describeDamage(d: DamagedOutput): string {
  return `output ${shownPath(d.path)}${d.folder ? '/' : ''} ${d.deleted ? 'was deleted' : 'was modified'}`;
}

/** A job failure in words ("killed by Slurm: out of memory (mem=2G)"). */
export function describeJobFailure(scheduler: string, f: JobFailure): string {
  const by = `killed by ${scheduler}`;
  switch (f.state) {
    case 'OUT_OF_MEMORY': return `${by}: out of memory (${f.limit ?? 'mem not set: the partition\'s default memory applied'})`;
    case 'TIMEOUT': return `${by}: time limit exceeded (${f.limit ?? 'time not set: the partition\'s default limit applied'})`;
    case 'CANCELLED': return `${by}: cancelled (scancel, or an administrator)`;
    case 'PREEMPTED': return `${by}: preempted by a job of higher priority`;
    case 'DEADLINE': return `${by}: its deadline passed`;
    case 'NODE_FAIL': return `${by}: the node failed${f.nodes ? ` on ${f.nodes}` : ''}`;
    case 'BOOT_FAIL': return `${by}: the node failed to boot${f.nodes ? ` on ${f.nodes}` : ''}`;
    case 'SETUP': return f.problem;
    case 'UNKNOWN': return `${scheduler} no longer knows job ${f.jobId} (purged by the controller, and sacct has no record of it): its outcome is unknown`;
  }
}

function damagedList(damaged: DamagedOutput[]): string {
  const items = damaged.map((d) => describeDamage(d).slice('output '.length));
  return items.length > 2 ? `${items[0]} (and ${items.length - 1} more)` : items.join(', ');
}

function describeBlocked(r: Extract<Reason, { kind: 'blocked' }>): string {
  const what = r.byWasBlocked ? 'was blocked' : 'failed';
  return r.neverRan ? `it has never run, so it may use what ${r.by} makes, and ${r.by} ${what}` : `it depends on ${r.by}, which ${what}`;
}
