import * as path from 'node:path';

/** 1-based line and column in the pipeline file. */
export interface SourcePosition {
  line: number;
  col: number;
}

/** Stable machine-readable kind of a pipeline problem (tests and tools match on it, never on wording). */
export type PipelineErrorCode =
  | 'file-not-found'
  | 'file-unreadable'
  | 'file-too-large'
  | 'yaml-syntax'
  | 'unknown-alias'
  | 'empty-file'
  | 'not-a-map'
  | 'missing-steps'
  | 'steps-not-a-map'
  | 'steps-empty'
  | 'bad-key'
  | 'duplicate-key'
  | 'unknown-key'
  | 'bad-step-name'
  | 'step-not-a-map'
  | 'missing-run'
  | 'bad-run'
  | 'bad-cwd'
  | 'bad-env'
  | 'bad-pass-env'
  | 'bad-shell'
  | 'bad-ignore'
  | 'bad-needs'
  | 'bad-executor'
  | 'bad-resources'
  | 'unknown-step'
  | 'self-need'
  | 'needs-cycle'
  | 'needs-later-step'
  | 'bad-foreach';

export interface PipelineErrorInit {
  code: PipelineErrorCode;
  /** Absolute path of the pipeline file. */
  file: string;
  /** Where the offending node starts; absent when there is no position (file not found). */
  position?: SourcePosition;
  /** What is wrong, one sentence (no file or position prefix). */
  problem: string;
  /** What to do about it, one sentence. */
  fix: string;
}

/**
 * One problem in a pipeline file, reported as a compiler would:
 *   pipeline.yml:7:5: error: unknown key "nedds" in step "stats". Did you mean "needs"?
 *     hint: rename it to "needs". A step accepts: run, cwd, env, needs, foreach.
 * The loader stops at the first problem, so there is only ever one.
 */
export class PipelineError extends Error {
  readonly code: PipelineErrorCode;
  readonly file: string;
  /** 1-based; undefined when the problem has no position in the file. */
  readonly line: number | undefined;
  /** 1-based; undefined when the problem has no position in the file. */
  readonly col: number | undefined;
  readonly problem: string;
  readonly fix: string;

  constructor(init: PipelineErrorInit) {
    super(formatPipelineError(init.file, init.position, init.problem, init.fix));
    this.name = 'PipelineError';
    this.code = init.code;
    this.file = init.file;
    this.line = init.position?.line;
    this.col = init.position?.col;
    this.problem = init.problem;
    this.fix = init.fix;
  }

  /**
   * The full two-line message. The file is shown relative to `cwd` (default: the process's working
   * folder) when it lies below it, absolute otherwise.
   */
  format(cwd: string = process.cwd()): string {
    const position = this.line === undefined ? undefined : { line: this.line, col: this.col ?? 1 };
    return formatPipelineError(this.file, position, this.problem, this.fix, cwd);
  }
}

export function isPipelineError(e: unknown): e is PipelineError {
  return e instanceof PipelineError;
}

function displayPath(file: string, cwd: string): string {
  const rel = path.relative(cwd, file);
  if (rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel)) return rel;
  return file;
}

function formatPipelineError(
  file: string,
  position: SourcePosition | undefined,
  problem: string,
  fix: string,
  cwd: string = process.cwd(),
): string {
  const where = position ? `${displayPath(file, cwd)}:${position.line}:${position.col}` : displayPath(file, cwd);
  return `${where}: error: ${problem}\n  hint: ${fix}`;
}
