/**
 * The local step runner: the command under the interposer, in a process group of its own, its
 * output captured and split into lines. The groups of running steps are noted in
 * `<runDir>/process-groups@<host>`, so the next run on this host can stop what a killed run left
 * behind (a process group means nothing on another host sharing the workspace).
 */
import { readFileSync, rmSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { shellArgv } from '../pipeline/shell.js';
import { LeftoversFile } from './leftovers-file.js';
import type { StartedStep, StepLaunch, StepRunner } from './step-runner.js';

export class LocalStepRunner implements StepRunner {
  private readonly groups: LeftoversFile;

  /** `runDir`: a folder of the workspace's own (notes files, the process-groups file). */
  constructor(private readonly runDir: string) {
    this.groups = new LeftoversFile(join(runDir, `process-groups@${hostname()}`));
  }

  async stopLeftovers(): Promise<void> {
    const left = this.groups.left();
    if (left.length === 0) return; // the last run ended cleanly
    for (const pgid of left.map(Number).filter((n) => n > 1)) {
      try {
        process.kill(-pgid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
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
    if (pid) this.groups.add(String(pid));
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
      .finally(() => pid && this.groups.delete(String(pid)));
    return { done, cancel };
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
