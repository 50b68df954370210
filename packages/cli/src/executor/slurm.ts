/**
 * Running steps as Slurm jobs: submit one step as one batch job, follow its output, learn Slurm's
 * final state and exit code, cancel jobs.
 *
 * Why `sbatch --parsable` and our own polling, not `srun` or `sbatch --wait` (docs/slurm.md):
 * - the job id is known the moment sbatch returns, so Ctrl-C can cancel pending jobs too and the
 *   engine can record the id before the step starts (for `log`, `why`, and for cancelling leftovers
 *   after a `kill -9` of prov-make, which a batch job survives);
 * - a batch job does not depend on a process of the submitting host staying alive and connected,
 *   and it is what clusters expect from workflow tools (srun jobs count as interactive at some sites);
 * - `sbatch --wait` polls the controller per job with a back-off up to 10 s; one `squeue` for all jobs
 *   in flight finds ends sooner and costs the controller one request per tick, whatever `-j` is.
 * The price: output reaches the submitting host through a file on the shared file system (followed
 * at each tick), and the controller starts batch jobs on its scheduling tick, not at once.
 */
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, existsSync, fstatSync, openSync, readFileSync, readSync, statfsSync } from 'node:fs';
import { userInfo } from 'node:os';
import { delimiter, join } from 'node:path';
import { writeFileAtomic } from '@prov-make/cache/atomic-write';
import { interposerLibrary, tracedEnv } from '@prov-make/interposer';
import { RunnerSetupError } from '../runner/step-runner.js';
import { effectiveState, isFinalState, SlurmSubmitError, submitError, type SlurmFinalState, type SlurmJobEnd } from './slurm-outcome.js';
import { resourceOptions, type SlurmResources } from './slurm-resources.js';
import { jobScript, setupProblemIn, type JobScript } from './slurm-script.js';

export interface SlurmJobSpec extends JobScript {
  /** The environment the command sees (without the interposer's variables: those go in execEnv). */
  env: NodeJS.ProcessEnv;
  /** The job's standard output and error, interleaved; its folder must be on the shared file system. */
  outputFile: string;
  resources?: SlurmResources;
  /** Job name shown by squeue. */
  name?: string;
  /** New output of the job, as it appears in outputFile (read at each poll). */
  onOutput?: (chunk: Buffer) => void;
  /** The job's state and Slurm's reason for it, when they change (PENDING Resources, RUNNING None...). */
  onState?: (state: string, reason: string) => void;
}

export interface SlurmJob {
  id: string;
  /** Resolves when Slurm reports the job ended. */
  done: Promise<SlurmJobEnd>;
}

export interface SlurmClientOptions {
  /** Where sbatch, squeue, scancel and sacct are found (PATH), and SLURM_CONF and SBATCH_* defaults. Default: process.env. */
  env?: NodeJS.ProcessEnv;
  /**
   * Polling interval bounds, in ms. Each tick waits a quarter of the youngest job's age, within the
   * bounds: new jobs are checked often, long ones rarely. Default 250 to 5000.
   */
  pollMs?: { min: number; max: number };
  /** Told when Slurm cannot be asked (the controller restarting...): polling goes on. */
  onWarning?: (message: string) => void;
}

interface Watch {
  spec: SlurmJobSpec;
  submittedAt: number;
  /** Bytes of outputFile already passed to onOutput. */
  offset: number;
  /** Last state and reason passed to onState. */
  seen: string;
  /** Ticks in a row that neither squeue nor sacct knew the job. */
  unknown: number;
  resolve: (end: SlurmJobEnd) => void;
}

/** One row of `squeue -O JobID,State,exit_code,NodeList,Reason` (or of sacct, for a job squeue forgot). */
interface JobRow {
  state: string;
  reason: string;
  /** Wait status: exit code << 8 | signal. */
  waitStatus: number | null;
  nodes: string | null;
}

interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** How much of the output's start and end is read for prov-make's and slurmstepd's own messages. */
const OUTPUT_PEEK = 4096;
/** Ticks without any record of a job before its outcome is unknown. */
const UNKNOWN_AFTER = 3;
const TMPFS = new Set([0x01021994, 0x858458f6]); // tmpfs, ramfs: never visible from another machine

/**
 * The variables that make a job's command traced into `logDir`, and what the node must reach for it
 * (the interposer, and the ptrace supervisor when this build has one). `library`: the interposer
 * where compute nodes load it, when that is not where tracedEnv names it (see shareableLibrary).
 */
export function jobTracing(env: NodeJS.ProcessEnv, logDir: string, library?: string): Pick<SlurmJobSpec, 'execEnv' | 'requiredPaths' | 'syncDir'> {
  const traced = tracedEnv(env, logDir);
  // tracedEnv names the interposer first
  if (library) traced.LD_PRELOAD = [library, ...(traced.LD_PRELOAD ?? '').split(':').slice(1)].join(':');
  const execEnv: Record<string, string | undefined> = {};
  for (const name of new Set([...Object.keys(traced), ...Object.keys(env)])) {
    if (traced[name] !== env[name]) execEnv[name] = traced[name];
  }
  const libraries = (execEnv.LD_PRELOAD ?? '').split(/[: ]/).filter(Boolean);
  const supervisor = execEnv.PROV_MAKE_SUPERVISOR;
  return { execEnv, requiredPaths: supervisor ? [...libraries, supervisor] : libraries, syncDir: logDir };
}

/**
 * The interposer as LD_PRELOAD can name it on the compute nodes: where prov-make is installed, or,
 * when that path holds a space or a colon (ld.so splits the variable at both), a copy in the
 * workspace's `.prov-make/lib/`, since the copy tracedEnv makes in this host's /tmp is not on the
 * nodes. A workspace path with a space or colon too leaves no name to give: RunnerSetupError.
 */
export function shareableLibrary(stateDir: string, installed = interposerLibrary): string {
  if (!/[ :]/.test(installed)) return installed;
  const bytes = readFileSync(installed);
  const copy = join(stateDir, 'lib', `prov-make-${createHash('sha256').update(bytes).digest('hex').slice(0, 16)}.so`);
  if (/[ :]/.test(copy)) {
    throw new RunnerSetupError(`cannot run steps on Slurm: the interposer (${installed}) and the workspace (${stateDir}) both have a space or a colon in their path, and LD_PRELOAD cannot name a library at such a path`,
      'install prov-make, or move the workspace, to a path on the shared file system without spaces or colons');
  }
  if (!existsSync(copy)) writeFileAtomic(copy, bytes);
  return copy;
}

function findProgram(name: string, env: NodeJS.ProcessEnv): string {
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (dir && existsSync(join(dir, name))) return join(dir, name);
  }
  throw new Error(`${name} is not on the PATH: the Slurm executor needs Slurm's client commands (module load slurm, or install slurm-client)`);
}

function run(program: string, args: readonly string[], env: NodeJS.ProcessEnv, input?: string): Promise<Ran> {
  return new Promise((resolve) => {
    // in a process group of its own: a Ctrl-C at the terminal must not kill sbatch between the
    // controller accepting a job and the job id reaching us (prov-make cancels what it submitted)
    const child = spawn(program, args, { env, stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'], detached: true });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (b) => (stdout += b));
    child.stderr!.on('data', (b) => (stderr += b));
    child.on('error', (err) => resolve({ code: null, stdout, stderr: `${stderr}${err.message}` }));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    if (input !== undefined) child.stdin!.end(input);
  });
}

/** Paths compute nodes can never see: refused before submitting, with the reason. */
export function localOnlyProblem(path: string): string | null {
  try {
    if (TMPFS.has(statfsSync(path).type)) return `${path} is in memory on this machine (tmpfs): compute nodes cannot read it`;
  } catch {
    return `${path} does not exist`;
  }
  return null;
}

/** "768" (squeue's wait status) or "3:0" (sacct's code:signal) -> wait status. */
function waitStatusOf(text: string): number | null {
  const pair = /^(\d+):(\d+)$/.exec(text);
  if (pair) return (Number(pair[1]) << 8) | Number(pair[2]);
  return /^\d+$/.test(text) ? Number(text) : null;
}

/** Bytes of `file` from `offset` (negative: that many before the end), at most `max`; none when it is missing. */
function readFrom(file: string, offset: number, max = Infinity): Buffer {
  let fd: number;
  try {
    fd = openSync(file, 'r'); // an open revalidates NFS's cached attributes (close-to-open)
  } catch {
    return Buffer.alloc(0);
  }
  try {
    const start = offset < 0 ? Math.max(0, fstatSync(fd).size + offset) : offset;
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const buf = Buffer.alloc(Math.min(256 * 1024, max - total));
      const n = buf.length ? readSync(fd, buf, 0, buf.length, start + total) : 0;
      if (n === 0) break;
      chunks.push(buf.subarray(0, n));
      total += n;
    }
    return Buffer.concat(chunks);
  } finally {
    closeSync(fd);
  }
}

export class SlurmClient {
  private readonly env: NodeJS.ProcessEnv;
  private readonly programs = new Map<string, string>();
  private readonly poll: { min: number; max: number };
  private readonly watched = new Map<string, Watch>();
  private timer: NodeJS.Timeout | null = null;
  private polling = false;

  constructor(private readonly options: SlurmClientOptions = {}) {
    this.env = options.env ?? process.env;
    this.poll = options.pollMs ?? { min: 250, max: 5000 };
  }

  private program(name: string): string {
    let path = this.programs.get(name);
    if (!path) this.programs.set(name, (path = findProgram(name, this.env)));
    return path;
  }

  /** Throws when a client command prov-make needs is not on the PATH (checked before the first submission). */
  requirePrograms(): void {
    for (const name of ['sbatch', 'squeue', 'scancel']) this.program(name);
  }

  /** Variables sbatch itself reads: which cluster, and the user's own sbatch defaults. */
  private clientVariables(): NodeJS.ProcessEnv {
    return Object.fromEntries(Object.entries(this.env).filter(([k]) => k === 'SLURM_CONF' || k.startsWith('SBATCH_')));
  }

  /**
   * Submits the step; resolves with its job id as soon as Slurm accepted it. Each job carries a tag
   * of its own (`--comment=prov-make:...`), to be found if the controller does not answer sbatch.
   */
  async submit(spec: SlurmJobSpec): Promise<SlurmJob> {
    const tag = `prov-make:${randomBytes(8).toString('hex')}`;
    for (const p of [...(spec.requiredPaths ?? []), ...(spec.syncDir ? [spec.syncDir] : [])]) {
      const problem = localOnlyProblem(p);
      if (problem) throw new Error(`cannot run the step on Slurm: ${problem} (prov-make and the workspace must be on a file system the compute nodes share)`);
    }
    const args = [
      '--parsable',
      '--no-requeue', // a requeued job would run the step again into the same trace
      '--export=ALL', // the job's environment is sbatch's: spec.env (never the interposer's variables)
      `--chdir=${spec.cwd}`,
      `--output=${spec.outputFile.replace(/%/g, '%%')}`, // % starts Slurm's file name patterns (%j)
      '--open-mode=truncate',
      ...(spec.name ? [`--job-name=${spec.name}`] : []),
      `--comment=${tag}`,
      ...resourceOptions(spec.resources ?? {}),
    ];
    const env = { ...this.clientVariables(), ...spec.env };
    const r = await run(this.program('sbatch'), args, env, jobScript(spec));
    let id = r.code === 0 ? /^(\d+)/.exec(r.stdout.trim())?.[1] : undefined;
    if (!id) {
      const error = submitError(r.stderr || r.stdout, spec.resources ?? {});
      if (!error.unanswered) throw error;
      id = await this.unansweredSubmission(error, tag);
    }
    const done = new Promise<SlurmJobEnd>((resolve) => {
      this.watched.set(id, { spec, submittedAt: Date.now(), offset: 0, seen: '', unknown: 0, resolve });
    });
    this.schedule();
    return { id, done };
  }

  /**
   * sbatch heard no answer (the controller overloaded or restarting), yet the controller may have
   * taken the job: it is looked for by its tag, a few times. Found: it is the job. Not found, or
   * Slurm cannot be asked: SlurmSubmitError, with the tag when the job may exist all the same.
   */
  private async unansweredSubmission(error: SlurmSubmitError, tag: string): Promise<string> {
    let asked = false;
    for (const wait of [1000, 2000, 4000]) {
      await new Promise((r) => setTimeout(r, wait));
      const found = await this.findTagged([tag]).catch(() => null);
      if (found?.has(tag)) return found.get(tag)!;
      asked ||= found !== null;
    }
    // the controller may still take a late request: the tag is kept to look again
    const detail = asked ? 'and it holds no job of this submission' : 'nor to the question whether it took the job';
    throw new SlurmSubmitError(`${error.message}, ${detail}: the step was not started`, null, error.slurmMessage, true, tag);
  }

  /** Job ids by tag, for jobs of this user that the controller holds with one of `tags` (one squeue). */
  async findTagged(tags: readonly string[]): Promise<Map<string, string>> {
    const r = await run(this.program('squeue'), ['--noheader', '--states=all', `--user=${userInfo().username}`, '--Format=JobID:|,Comment:|'], this.env);
    if (r.code !== 0) throw new Error(r.stderr.trim() || `squeue: exit code ${r.code}`);
    const wanted = new Set(tags);
    const found = new Map<string, string>();
    for (const line of r.stdout.split('\n')) {
      const [id, comment] = line.split('|').map((s) => s.trim());
      if (id && wanted.has(comment)) found.set(comment, id);
    }
    return found;
  }

  /** Cancels jobs (pending or running); ids Slurm no longer knows are ignored. */
  async cancel(jobIds: readonly string[]): Promise<void> {
    if (!jobIds.length) return;
    const r = await run(this.program('scancel'), jobIds, this.env);
    if (r.code !== 0 && !/invalid job id|already completing or completed/i.test(r.stderr)) {
      throw new Error(`scancel ${jobIds.join(' ')} failed: ${r.stderr.trim() || `exit code ${r.code}`}`);
    }
    this.schedule(0);
  }

  /** Cancels jobs and waits until none of them runs any more (its processes gone); returns those still there after `timeoutMs`. */
  async cancelAndWait(jobIds: readonly string[], timeoutMs = 60_000): Promise<string[]> {
    await this.cancel(jobIds);
    const end = Date.now() + timeoutMs;
    for (;;) {
      const rows = await this.queueRows([...jobIds]);
      const left = jobIds.filter((id) => rows.has(id) && !isFinalState(rows.get(id)!.state));
      if (left.length === 0 || Date.now() >= end) return left;
      await new Promise((r) => setTimeout(r, this.poll.min));
    }
  }

  private schedule(delay?: number): void {
    if (this.polling || this.watched.size === 0) return;
    if (this.timer) {
      if (delay === undefined) return;
      clearTimeout(this.timer);
    }
    const youngest = Math.max(...[...this.watched.values()].map((w) => w.submittedAt));
    const wait = delay ?? Math.min(this.poll.max, Math.max(this.poll.min, (Date.now() - youngest) / 4));
    this.timer = setTimeout(() => void this.tick(), wait);
  }

  private async tick(): Promise<void> {
    this.timer = null;
    this.polling = true;
    try {
      const ids = [...this.watched.keys()];
      const rows = await this.queueRows(ids);
      for (const id of ids) {
        const watch = this.watched.get(id)!;
        this.follow(watch);
        const row = rows.get(id) ?? (await this.accountingRow(id));
        // a controller with a short MinJobAge may forget a job before slurmdbd has it: ask again
        watch.unknown = row ? 0 : watch.unknown + 1;
        if (row ? isFinalState(row.state) : watch.unknown >= UNKNOWN_AFTER) this.finish(id, watch, row);
        else if (row) this.report(watch, row);
      }
    } catch (err) {
      this.options.onWarning?.(`cannot ask Slurm about the running jobs, trying again: ${(err as Error).message}`);
    } finally {
      this.polling = false;
      this.schedule();
    }
  }

  /** New output since the last tick, to onOutput. */
  private follow(watch: Watch): void {
    if (!watch.spec.onOutput) return;
    const chunk = readFrom(watch.spec.outputFile, watch.offset);
    watch.offset += chunk.length;
    if (chunk.length) watch.spec.onOutput(chunk);
  }

  private report(watch: Watch, row: JobRow): void {
    const seen = `${row.state} ${row.reason}`;
    if (seen === watch.seen) return;
    watch.seen = seen;
    watch.spec.onState?.(row.state, row.reason);
  }

  private finish(id: string, watch: Watch, row: JobRow | null): void {
    this.watched.delete(id);
    this.follow(watch);
    const waitStatus = row?.waitStatus ?? null;
    const signal = waitStatus === null ? null : waitStatus & 0x7f;
    const exitCode = waitStatus === null || signal ? null : (waitStatus >> 8) & 0xff;
    const setup = setupProblemIn(exitCode, readFrom(watch.spec.outputFile, 0, OUTPUT_PEEK).toString('utf8'));
    const tail = readFrom(watch.spec.outputFile, -OUTPUT_PEEK).toString('utf8');
    const state = row ? effectiveState(row.state as SlurmFinalState, tail) : 'UNKNOWN';
    watch.resolve({ jobId: id, state, exitCode, signal: signal || null, nodes: row?.nodes || null, setupProblem: setup });
  }

  /** The controller's view of the jobs it still holds (it forgets finished jobs after MinJobAge). */
  private async queueRows(ids: string[]): Promise<Map<string, JobRow>> {
    const r = await run(this.program('squeue'), ['--noheader', '--states=all', `--jobs=${ids.join(',')}`, '--Format=JobID:|,State:|,exit_code:|,NodeList:|,Reason:|'], this.env);
    const rows = new Map<string, JobRow>();
    if (r.code !== 0) {
      if (/invalid job id/i.test(r.stderr)) return rows; // all forgotten
      throw new Error(r.stderr.trim() || `squeue: exit code ${r.code}`);
    }
    for (const line of r.stdout.split('\n')) {
      const [id, state, status, nodes, reason] = line.split('|').map((s) => s.trim());
      if (id) rows.set(id, { state, reason, waitStatus: waitStatusOf(status), nodes: nodes || null });
    }
    return rows;
  }

  /** A job the controller forgot, from the accounting database (slurmdbd), or null. */
  private async accountingRow(id: string): Promise<JobRow | null> {
    let sacct: string;
    try {
      sacct = this.program('sacct');
    } catch {
      return null;
    }
    const r = await run(sacct, ['--noheader', '--parsable2', '--allocations', `--jobs=${id}`, '--format=State,ExitCode,NodeList'], this.env);
    const [state, status, nodes] = (r.code === 0 ? r.stdout.split('\n')[0] : '').split('|');
    if (!state) return null;
    // "CANCELLED by 1234"
    return { state: state.split(' ')[0], reason: '', waitStatus: waitStatusOf(status ?? ''), nodes: nodes || null };
  }
}
