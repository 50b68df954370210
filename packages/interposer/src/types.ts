/**
 * The trace log's records, as native/record.h names them (test/record-names.test.ts checks that the
 * two agree). A record is `KIND \t TIME \t ARG \t PATH [\t PATH2]`.
 */
export const RECORD = {
  kind: {
    read: 'R',
    write: 'W',
    absent: 'A',
    stat: 'S',
    listed: 'D',
    executed: 'X',
    untraced: 'U',
    renamed: 'M',
    removed: 'K',
    process: 'P',
    lookedUp: 'L',
  },
  /** ARG of records without one. */
  argNone: '-',
  /** Letters of a `write` record's ARG. */
  write: {
    create: 'c',
    truncate: 't',
    append: 'a',
    alsoRead: 'r',
    empty: 'e',
    mkdir: 'd',
    newName: 'n',
    metadata: 'm',
  },
  /** ARG of a `listed` record: the role the listing was made in (native/python.c). */
  listed: { pythonImport: 'i', pythonSite: 's', pythonLookups: 'n' },
  /** ARG of an `executed` record. */
  exec: { program: 'p', library: 'l' },
  /** ARG of a `removed` record. */
  removed: { file: 'f', folder: 'd' },
  /** ARG of an `untraced` record: why the program escaped both the interposer and the ptrace supervisor. */
  why: {
    static: 'static',
    go: 'go',
    loader: 'loader',
    setuid: 'setuid',
    setgid: 'setgid',
    capabilities: 'capabilities',
    architecture: 'architecture',
    ptrace: 'ptrace',
    seccomp: 'seccomp',
  },
} as const;

export type RecordKind = (typeof RECORD.kind)[keyof typeof RECORD.kind];
export type WriteLetter = (typeof RECORD.write)[keyof typeof RECORD.write];

/**
 * What one traced command did, reduced from the interposer's logs.
 * Every path is absolute and lexically normalised (no `.`/`..`, no trailing slash).
 */
export interface StepDependencies {
  /** Files whose first access by the command was a read (open for reading, stat of a regular file, readlink). */
  reads: string[];
  /** Files (and folders) created, written, truncated, renamed into place, or whose metadata changed, that still exist at the end. */
  writes: string[];
  /**
   * How each path of `writes` was written, when not 'new' (the engine decides from this what the
   * command produced: engine/outputs.ts in the cli).
   */
  writeKinds?: Record<string, WriteKind>;
  /** Files that existed before the command and that it removed (unlink, rename away, rmdir). */
  deleted: string[];
  /** Paths looked up and not found (ENOENT/ENOTDIR), that the command did not create itself. */
  absent: string[];
  /** Folders whose entries the command read (opendir, scandir, getdents, glob), unless it had made them itself. */
  listed: string[];
  /**
   * Folders of `listed` that were only listed by a lister looking for names of one kind, with the
   * listing rules that say which entries count (@prov-make/cache listing-rules.ts).
   */
  listingRules?: Record<string, string[]>;
  /** Programs executed and shared libraries loaded (start-up DT_NEEDED and dlopen). */
  executed: string[];
  /** Programs that ran unobserved: setuid/setgid to another user, file capabilities, another architecture, or a
   *  static/Go program where the ptrace supervisor was not allowed. */
  untraced: UntracedProgram[];
}

/**
 * How a command wrote a path:
 * - new: nothing of the version before survives (created, truncated, made, renamed into place),
 *   and the command did not read that version first;
 * - new-if-created: opened with O_CREAT, not truncated, and empty when opened: made by the command
 *   if it did not exist before (its birth time says so), else an empty file it may have kept;
 * - replaced-after-read: nothing of the old version survives, but the command read it first (`sed -i`);
 * - in-place: opened for writing without truncating (append, read-write, a write into the middle),
 *   perhaps not written at all: the old content may survive, and its mtime says whether it moved;
 * - in-place-retimed: the same, and its times were set too (`touch` opens, then sets them): the
 *   mtime says nothing;
 * - metadata: only its mode, owner or times changed (chmod, chown, utime).
 */
export type WriteKind = 'new' | 'new-if-created' | 'replaced-after-read' | 'in-place' | 'in-place-retimed' | 'metadata';

/** Why a program ran unobserved, in words for a person (the stored reason stays the short code). */
export function describeUntracedReason(reason: string): string {
  switch (reason) {
    case 'static': return 'statically linked, and the ptrace supervisor could not start it';
    case 'go': return 'a Go program, and the ptrace supervisor could not start it';
    case 'loader': return 'built for another program loader (musl), and the ptrace supervisor could not start it';
    case 'setuid': return 'setuid to another user: nothing may observe it';
    case 'setgid': return 'setgid to another group: nothing may observe it';
    case 'capabilities': return 'has file capabilities: nothing may observe it';
    case 'architecture': return 'built for another architecture (32-bit or x32)';
    case 'ptrace': return 'a static or Go program, and ptrace is not allowed here: Yama, a container or a debugger';
    case 'seccomp': return 'a static or Go program, and seccomp filters are not available here';
    default: return reason; // a reason from a newer version: the code itself
  }
}

export interface UntracedProgram {
  path: string;
  reason: (typeof RECORD.why)[keyof typeof RECORD.why];
}

/** Problems that make a trace incomplete: the step must not be skipped or cached on it. */
export interface TraceProblem {
  kind: 'log-lost' | 'log-malformed' | 'log-missing' | 'log-unreadable' | 'supervisor-died';
  message: string;
}

/** What lstat said of a path (the fields of Node's BigIntStats that a file version is made of;
 * @prov-make/cache's FileStat adds the birth time). */
export interface PathStat {
  dev: bigint;
  ino: bigint;
  mode: bigint;
  size: bigint;
  mtimeNs: bigint;
  ctimeNs: bigint;
  isFile(): boolean;
  isDirectory(): boolean;
  isSymbolicLink(): boolean;
}

/** What lstat said of a trace's paths when the step had ended, as the log's reader saw them. */
export interface TraceStats {
  /** null: the path did not exist; undefined: not looked at (look yourself). */
  of(path: string): PathStat | null | undefined;
}

export interface TraceResult {
  /** Exit code of the command, or null when it ended by a signal. */
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  deps: StepDependencies;
  problems: TraceProblem[];
  /** True when nothing escaped observation: no untraced program and no trace problem. */
  fullyObserved: boolean;
  /** What lstat said of the trace's paths after the step, as the reduction looked at them. */
  stats?: TraceStats;
  /** Wall-clock start and end of the command, in ms since the epoch. */
  startedAt: number;
  finishedAt: number;
}
