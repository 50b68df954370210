/**
 * A step's working folder must exist and stay inside the workspace when the step starts. The parser
 * checks what it can from the text (no absolute path, no `..` out); the disk is looked at here, on
 * every run: before anything runs (a folder no earlier step makes is an error pointing at `cwd:`),
 * and again when the step starts (an earlier step that never ran may have been meant to make it).
 */
import { isInsideFolder } from '@prov-make/cache';
import { PipelineError } from '../pipeline/errors.js';
import type { Pipeline, Step } from '../pipeline/types.js';
import type { BuildState } from './build-state.js';

export type FolderProblem = 'missing' | 'not-a-folder' | 'outside';

/** What is wrong with step i's folder now, or null. */
export function folderProblem(b: BuildState, step: Step): FolderProblem | null {
  const st = b.disk.lstat(step.cwd);
  if (!st) return 'missing';
  if (b.disk.realPath) {
    const real = b.disk.realPath(step.cwd);
    const root = b.disk.realPath(b.root);
    if (real === null) return 'missing'; // a symlink to nowhere
    if (root !== null && !isInsideFolder(root, real)) return 'outside';
    return b.disk.lstat(real)?.isDirectory() ? null : 'not-a-folder';
  }
  return st.isDirectory() ? null : 'not-a-folder';
}

/** The error for a step's folder, pointing at its `cwd:` (or at the step when it has none). */
export function folderError(pipeline: Pipeline, step: Step, problem: FolderProblem): PipelineError {
  const what = problem === 'missing' ? 'does not exist' : problem === 'not-a-folder' ? 'is not a folder' : 'leads outside the workspace (through a symlink)';
  return new PipelineError({
    code: 'bad-cwd',
    file: pipeline.file,
    position: step.cwdLocation ?? step.location,
    problem: `the folder of step "${step.name}" (cwd ${JSON.stringify(step.cwdRelative)}) ${what}`,
    fix: problem === 'outside'
      ? `steps run inside the workspace (${pipeline.workspace}): point cwd at a real folder inside it`
      : `create it (or have an earlier step create it), or fix the cwd of "${step.name}"`,
  });
}

/**
 * Before anything runs: the first step whose folder is unusable, unless an earlier step may still
 * make it: its last execution made it, or it never ran and its command names the folder
 * (`mkdir -p build`, `cmake -B build`). A folder nothing names is a typo to report now, not after
 * the steps before it ran; one an earlier step was meant to make is checked again when its step starts.
 */
export function checkStepFolders(b: BuildState): void {
  const problems = new Map<string, FolderProblem | null>(); // most steps share a folder: looked at once
  b.steps.forEach((step, i) => {
    let problem = problems.get(step.cwd);
    if (problem === undefined) problems.set(step.cwd, (problem = folderProblem(b, step)));
    if (!problem) return;
    if (problem === 'missing' && b.steps.slice(0, i).some((_, j) => mayMake(b, j, step))) return;
    throw folderError(b.pipeline, step, problem);
  });
}

function mayMake(b: BuildState, j: number, step: Step): boolean {
  const st = b.state(j);
  if (!st) return b.steps[j].run.includes(step.cwdRelative.replace(/^\.\//, '').split('/')[0]);
  const stored = b.stored(step.cwd);
  for (const id of st.outputs.ids) {
    const p = b.deps.pathOf(id);
    if (p === stored || p.startsWith(`${stored}/`)) return true; // the folder, or a file made in it
  }
  return false;
}
