/**
 * What one traced command did, reduced from the interposer's logs.
 * Every path is absolute and lexically normalised (no `.`/`..`, no trailing slash).
 */
export interface StepDependencies {
  /** Files whose first access by the command was a read (open for reading, stat of a regular file, readlink). */
  reads: string[];
  /** Files (and folders) created, written, truncated, or renamed into place that still exist at the end. */
  writes: string[];
  /** Files that existed before the command and that it removed (unlink, rename away, rmdir). */
  deleted: string[];
  /** Paths looked up and not found (ENOENT/ENOTDIR), that the command did not create itself. */
  absent: string[];
  /** Folders whose entries the command read (opendir, scandir, getdents, glob), unless it had made them itself. */
  listed: string[];
  /** Programs executed and shared libraries loaded (start-up DT_NEEDED and dlopen). */
  executed: string[];
  /** Programs that escaped the interposer (static, setuid/setgid to another user, file capabilities). */
  untraced: UntracedProgram[];
}

export interface UntracedProgram {
  path: string;
  reason: 'static' | 'setuid' | 'setgid' | 'capabilities';
}

/** Problems that make a trace incomplete: the step must not be skipped or cached on it. */
export interface TraceProblem {
  kind: 'log-lost' | 'log-missing' | 'log-unreadable';
  message: string;
}

export interface TraceResult {
  /** Exit code of the command, or null when it ended by a signal. */
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  deps: StepDependencies;
  problems: TraceProblem[];
  /** True when nothing escaped observation: no untraced program and no trace problem. */
  fullyObserved: boolean;
  /** Wall-clock start and end of the command, in ms since the epoch. */
  startedAt: number;
  finishedAt: number;
}
