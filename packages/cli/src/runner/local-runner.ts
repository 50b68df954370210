/**
 * The local step runner: the command under the interposer, in a process group of its own, its
 * output captured and split into lines. The groups of running steps are noted in
 * `<runDir>/process-groups`, so the next run can stop what a killed run left behind.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { shellArgv } from '../pipeline/shell.js';
import type { StartedStep, StepLaunch, StepRunner } from './step-runner.js';

const GROUPS_FILE = 'process-groups';

export class LocalStepRunner implements StepRunner {
  private readonly live = new Set<number>();

  /** `runDir`: a folder of the workspace's own (notes files, the process-groups file). */
  constructor(private readonly runDir: string) {}

  async stopLeftovers(): Promise<void> {
    let text = '';
    try {
      text = readFileSync(join(this.runDir, GROUPS_FILE), 'utf8');
    } catch {
      return;
    }
    if (text === '') return; // the last run ended cleanly
    for (const pgid of text.split('\n').map(Number).filter((n) => n > 1)) {
      try {
        process.kill(-pgid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
    writeFileSync(join(this.runDir, GROUPS_FILE), '');
  }

  async start(launch: StepLaunch): Promise<StartedStep> {
    // Loaded on the first step: a no-op run only stops leftovers.
    const [{ startTrace }, { OutputCapture }] = await Promise.all([import('@prov-make/interposer'), import('./output-capture.js')]);
    const notesFile = join(this.runDir, `${launch.step}.notes`);
    rmSync(notesFile, { force: true });
    const env = {
      ...launch.env,
      PROV_MAKE_STEP: launch.step,
      // CamFlow-style annotations: lines a step writes here are attached to its execution.
      PROV_MAKE_ANNOTATE: notesFile,
    };
    const capture = new OutputCapture(launch.onLine);
    const { child, result } = startTrace(shellArgv(launch.shell, launch.command), { cwd: launch.cwd, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true, ignore: launch.ignore });
    child.stdout!.on('data', (b: Buffer) => capture.write(b));
    child.stderr!.on('data', (b: Buffer) => capture.write(b));
    const pid = child.pid;
    if (pid) this.noteGroup(pid, true);
    let cancelled = false;
    const cancel = (signal: NodeJS.Signals) => {
      cancelled = true;
      try {
        if (pid) process.kill(-pid, signal);
      } catch {
        /* already gone */
      }
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
    if (running) this.live.add(pgid);
    else this.live.delete(pgid);
    writeFileSync(join(this.runDir, GROUPS_FILE), [...this.live].join('\n'));
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
