/**
 * The local step runner: the command under the interposer, in a process group of its own, its
 * output captured and split into lines. The groups of running steps are noted in
 * `<runDir>/process-groups@<host>` with their leaders' start times, so the next run on this host
 * can stop what a killed run left behind (a process group means nothing on another host sharing
 * the workspace), and only that: a group whose number a new process took since is not touched.
 * Should this process exit before its steps end (a second Ctrl-C, a crash), their groups are
 * killed on the way out.
 */
import { readFileSync, rmSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { formatIdentity, parseIdentity, processStartTime, removeAbandonedLogs, type ProcessIdentity } from '@prov-make/interposer';
import { shellArgv } from '../pipeline/shell.js';
import { LeftoversFile } from './leftovers-file.js';
import type { StartedStep, StepLaunch, StepRunner } from './step-runner.js';

export class LocalStepRunner implements StepRunner {
  private readonly groups: LeftoversFile;
  /** Running steps' groups (a group's id is its leader's pid), killed should this process exit first. */
  private readonly live = new Set<number>();
  private readonly killLive = () => {
    for (const pgid of this.live) signalGroup(pgid, 'SIGKILL');
  };

  /** `runDir`: a folder of the workspace's own (notes files, the process-groups file). */
  constructor(private readonly runDir: string) {
    this.groups = new LeftoversFile(join(runDir, `process-groups@${hostname()}`));
  }

  async stopLeftovers(): Promise<void> {
    removeAbandonedLogs(); // of this workspace's killed runs, and of any other
    const left = this.groups.left();
    if (left.length === 0) return; // the last run ended cleanly
    for (const leader of left.map(parseIdentity)) if (leader && isLeftover(leader)) signalGroup(leader.pid, 'SIGKILL');
    this.groups.clear();
  }

  async start(launch: StepLaunch): Promise<StartedStep> {
    // Loaded on the first step: a no-op run only stops leftovers.
    const [{ startTrace }, { OutputCapture }] = await Promise.all([import('@prov-make/interposer'), import('./output-capture.js')]);
    const notesFile = join(this.runDir, `${launch.step}.notes`);
    rmSync(notesFile, { force: true });
    const env = stepEnvironment(launch, notesFile);
    const capture = new OutputCapture(launch.onLine);
    const { child, result } = startTrace(shellArgv(launch.shell, launch.command), { cwd: launch.cwd, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true, ignore: launch.ignore });
    child.stdout!.on('data', (b: Buffer) => capture.write(b));
    child.stderr!.on('data', (b: Buffer) => capture.write(b));
    const pid = child.pid;
    const noted = pid ? this.noteGroup(pid) : null;
    let cancelled = false;
    const cancel = (signal: NodeJS.Signals) => {
      cancelled = true;
      if (pid) signalGroup(pid, signal);
    };
    const done = result
      .then((trace) => {
        capture.end();
        return { trace, output: capture.bytes(), annotations: readNotes(notesFile), cancelled };
      })
      .finally(() => noted && this.forgetGroup(noted));
    return { done, cancel };
  }

  /** Notes a new step's group, by its leader's pid and start time. */
  private noteGroup(pgid: number): ProcessIdentity {
    const leader = { pid: pgid, start: processStartTime(pgid) ?? '0' };
    if (this.live.size === 0) process.on('exit', this.killLive);
    this.live.add(pgid);
    this.groups.add(formatIdentity(leader));
    return leader;
  }

  private forgetGroup(leader: ProcessIdentity): void {
    this.live.delete(leader.pid);
    if (this.live.size === 0) process.off('exit', this.killLive);
    this.groups.delete(formatIdentity(leader));
  }
}

/**
 * Whether a group noted by a killed run is still that run's: its leader is the very process noted
 * (same start time), or the leader is gone and the group lives on in its other members (the
 * number cannot be reused while the group holds it). A new process with the old pid is not it.
 */
function isLeftover(leader: ProcessIdentity): boolean {
  const start = processStartTime(leader.pid);
  return start === null || start === leader.start;
}

function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    /* already gone */
  }
}

/**
 * What a step's command sees, whichever runner starts it: its clean environment (pipeline/step-env.ts:
 * the allowlist, passEnv, env:; nothing else of this process's) and prov-make's own variables.
 */
export function stepEnvironment(launch: StepLaunch, notesFile: string): NodeJS.ProcessEnv {
  return {
    ...launch.env,
    PROV_MAKE_STEP: launch.step,
    // CamFlow-style annotations: lines a step writes here are attached to its execution.
    PROV_MAKE_ANNOTATE: notesFile,
  };
}

/** The lines a step appended to its $PROV_MAKE_ANNOTATE file (removed once read). */
export function readNotes(file: string): string[] {
  try {
    return readFileSync(file, 'utf8').split('\n').map((l) => l.trimEnd()).filter(Boolean);
  } catch {
    return [];
  } finally {
    rmSync(file, { force: true });
  }
}
