/**
 * The batch script of one step's job. Neither sbatch nor this script's own shell is traced: the
 * interposer's variables (`execEnv`) are set in a subshell that then execs the step's command, so
 * only the command and its children load the library, exactly as when prov-make spawns it locally.
 */

export interface JobScript {
  /** A shell command line (run with /bin/sh -c, as local steps are) or an argv. */
  command: string | readonly string[];
  cwd: string;
  /** Variables set (a string) or removed (undefined) only for the command: LD_PRELOAD, the trace variables. */
  execEnv?: Record<string, string | undefined>;
  /** Paths the node must be able to read before the command starts (the interposer library...). */
  requiredPaths?: readonly string[];
  /** A folder the node must be able to write, flushed to the shared file system when the command ends (the trace logs). */
  syncDir?: string;
}

/** Exit status of a job that could not start its command; its output then has a line starting with SETUP_MARKER. */
const SETUP_EXIT = 199;
const SETUP_MARKER = 'prov-make: the job could not start on ';

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** The script's text (given to sbatch on its standard input). */
export function jobScript(job: JobScript): string {
  const q = shellQuote;
  const lines = [
    '#!/bin/sh',
    '# One prov-make step as one Slurm job.',
    `pm_setup_failed() { echo "${SETUP_MARKER}\${SLURMD_NODENAME:-$(hostname)}: $*" >&2; exit ${SETUP_EXIT}; }`,
  ];
  for (const p of job.requiredPaths ?? []) {
    lines.push(`[ -r ${q(p)} ] || pm_setup_failed ${q(`cannot read ${p}: prov-make must be installed on a file system the compute nodes share`)}`);
  }
  if (job.syncDir) {
    lines.push(`[ -w ${q(job.syncDir)} ] || pm_setup_failed ${q(`cannot write ${job.syncDir}: the workspace must be on a file system the compute nodes share`)}`);
  }
  lines.push(`cd ${q(job.cwd)} || pm_setup_failed ${q(`cannot enter ${job.cwd}: the workspace must be on a file system the compute nodes share`)}`);

  const settings: string[] = [];
  for (const [name, value] of Object.entries(job.execEnv ?? {})) {
    if (!NAME.test(name)) throw new Error(`cannot pass the variable ${JSON.stringify(name)} to a Slurm job: not a shell variable name`);
    settings.push(value === undefined ? `unset ${name}` : `${name}=${q(value)}; export ${name}`);
  }
  const command = typeof job.command === 'string' ? `/bin/sh -c ${q(job.command)}` : job.command.map(q).join(' ');
  lines.push(`(${[...settings, `exec ${command}`].join('; ')})`, 'status=$?');
  if (job.syncDir) {
    // Trace logs are written through memory maps; on NFS they reach the server when flushed, so
    // the submitting host reads them whole once the job has ended.
    lines.push(`sync -f ${q(job.syncDir)} 2>/dev/null || sync`);
  }
  // A command killed by a signal ends the job with that signal, as Slurm then reports it.
  lines.push('[ "$status" -gt 128 ] && [ "$status" -lt 193 ] && kill -$((status - 128)) $$', 'exit "$status"', '');
  return lines.join('\n');
}

/** Why the job could not start the command ("the job could not start on node7: cannot enter ..."), or null. */
export function setupProblemIn(exitCode: number | null, outputHead: string): string | null {
  if (exitCode !== SETUP_EXIT) return null;
  // slurmstepd may have written first ("couldn't chdir to ...: going to /tmp instead")
  const line = outputHead.split('\n').find((l) => l.startsWith(SETUP_MARKER));
  return line ? line.slice('prov-make: '.length) : null;
}
