/**
 * The local step runner: the command under the interposer, in a process group of its own, its
 * output captured and split into lines. The groups of running steps are noted in
 * `<runDir>/process-groups` with their leaders' start times, so the next run can stop what a killed
 * run left behind, and only that: a group whose number a new process took since is not touched.
 * Should this process exit before its steps end (a second Ctrl-C, a crash), their groups are
 * killed on the way out.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatIdentity, parseIdentity, processStartTime, removeAbandonedLogs, type ProcessIdentity } from '@prov-make/interposer';
import type { StartedStep, StepLaunch, StepRunner } from './step-runner.js';

const GROUPS_FILE = 'process-groups';

export class LocalStepRunner implements StepRunner {
  /** Running steps' groups: each group's id is its leader's pid. */
  private readonly live = new Map<number, ProcessIdentity>();
  private readonly killLive = () => {
    for (const pgid of this.live.keys()) signalGroup(pgid, 'SIGKILL');
  };

  /** `runDir`: a folder of the workspace's own (notes files, the process-groups file). */
  constructor(private readonly runDir: string) {}

  async stopLeftovers(): Promise<void> {
    let text = '';
    try {
      text = readFileSync(join(this.runDir, GROUPS_FILE), 'utf8');
    } catch {
      text = '';
    }
    if (text !== '') {
      for (const line of text.split('\n')) {
        const leader = parseIdentity(line);
        if (leader && isLeftover(leader)) signalGroup(leader.pid, 'SIGKILL');
      }
      writeFileSync(join(this.runDir, GROUPS_FILE), '');
    }
    removeAbandonedLogs(); // of this workspace's killed runs, and of any other
  }

  async start(launch: StepLaunch): Promise<StartedStep> {
    // Loaded on the first step: a no-op run only stops leftovers.
    const [{ startTrace }, { OutputCapture }] = await Promise.all([import('@prov-make/interposer'), import('./output-capture.js')]);
    const notesFile = join(this.runDir, `${launch.step}.notes`);
    rmSync(notesFile, { force: true });
    const env = {
      ...process.env,
      ...launch.env,
      PROV_MAKE_STEP: launch.step,
      // CamFlow-style annotations: lines a step writes here are attached to its execution.
      PROV_MAKE_ANNOTATE: notesFile,
    };
    const capture = new OutputCapture(launch.onLine);
    const { child, result } = startTrace(launch.command, { cwd: launch.cwd, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true, ignore: launch.ignore });
    child.stdout!.on('data', (b: Buffer) => capture.write(b));
    child.stderr!.on('data', (b: Buffer) => capture.write(b));
    const pid = child.pid;
    if (pid) this.noteGroup(pid, true);
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
      .finally(() => pid && this.noteGroup(pid, false));
    return { done, cancel };
  }

  private noteGroup(pgid: number, running: boolean): void {
    if (running) {
      if (this.live.size === 0) process.on('exit', this.killLive);
      this.live.set(pgid, { pid: pgid, start: processStartTime(pgid) ?? '0' });
    } else {
      this.live.delete(pgid);
      if (this.live.size === 0) process.off('exit', this.killLive);
    }
    try {
      writeFileSync(join(this.runDir, GROUPS_FILE), [...this.live.values()].map(formatIdentity).join('\n'));
    } catch {
      /* the state folder is gone (a step removed it): nothing to note for the next run */
    }
  }
}

/**
 * Whether a group noted by a killed run is still that run's: its leader is the very process noted
 * (same start time), or the leader is gone and the group lives on in its other members (the
 * number cannot be reused while the group holds it). A new process with the old pid is not it.
 */
function isLeftover(leader: ProcessIdentity): boolean {
  const start = processStartTime(leader.pid);
  return start === null ? true : start === leader.start;
}

function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    /* already gone */
  }
}

function readNotes(file: string): string[] {
  try {
    return readFileSync(file, 'utf8').split('\n').map((l) => l.trimEnd()).filter(Boolean);
  } catch {
    return [];
  } finally {
    rmSync(file, { force: true });
  }
}
