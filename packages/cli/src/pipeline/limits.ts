/**
 * What the system beneath a step allows, checked when the pipeline is read (with the file, line and
 * column), not when a run fails on it: step names become file names (the runner's notes, a Slurm
 * job's folder `<step>.<pid>.<n>`, at most 255 bytes) and database keys; a step's command is one
 * argument of `/bin/sh -c`, which Linux refuses past MAX_ARG_STRLEN (128 KiB, with its NUL) with E2BIG.
 */

/** Leaves room in a 255-byte file name for what runners add to it. */
export const MAX_STEP_NAME = 200;

export const MAX_RUN_BYTES = 128 * 1024 - 1;

/** Why a step name is too long, or null. */
export function stepNameProblem(name: string): string | null {
  return name.length > MAX_STEP_NAME ? `step name "${name.slice(0, 40)}…" is ${name.length} characters long, over the ${MAX_STEP_NAME} a step name may have` : null;
}

/** Why a step's command is too long, or null. */
export function runProblem(run: string, owner: string): string | null {
  const bytes = Buffer.byteLength(run);
  return bytes > MAX_RUN_BYTES ? `run in ${owner} is ${bytes} bytes long, over the ${MAX_RUN_BYTES} a command may have on Linux` : null;
}

export const STEP_NAME_FIX = `use a shorter name (step names are used in file names)`;
export const RUN_FIX = 'put the commands in a script file beside the pipeline and run that, e.g. run: sh steps/build.sh';
