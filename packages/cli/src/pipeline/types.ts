/** A parsed pipeline file, as the rest of the tool sees it. */
import type { SlurmResources } from '../executor/slurm-resources.js';
import type { SourcePosition } from './errors.js';

/** Where steps run (`executor:`, `run --executor`). */
export const EXECUTORS = ['local', 'slurm'] as const;
export type ExecutorName = (typeof EXECUTORS)[number];

export interface Step {
  /** The key under `steps:`; matches STEP_NAME_PATTERN. */
  name: string;
  /** The shell command, exactly as written (run through `/bin/sh -c`). */
  run: string;
  /** Absolute, normalised folder the command runs in; always inside the workspace. */
  cwd: string;
  /** `cwd` as written in the file, '.' when absent. */
  cwdRelative: string;
  /** Top-level env with the step's own env merged over it. */
  env: Record<string, string>;
  /** Names of earlier steps this one must run after: deduplicated, in the order written. */
  needs: string[];
  /** Where the step's name is written in the file. */
  location: SourcePosition;
  /** What its cluster job asks for: the top-level `resources:` with the step's own merged over it. Not part of its identity. */
  resources?: SlurmResources;
  /** SHA-256 of definitionOf(step), when already computed (kept with a cached parse). */
  definitionHash?: string;
  /** A foreach step as parsed, before its items are found (pipeline/foreach.ts). */
  foreach?: ForeachSpec;
  /** A step made from a foreach step: which one, and its item. */
  item?: { step: string; item: string };
}

/** `foreach:` as written: a glob (relative to the workspace) or a list of items. */
export interface ForeachSpec {
  glob?: string;
  items?: string[];
  /** Where the foreach value is written. */
  at: SourcePosition;
}

export interface Pipeline {
  /** Absolute path of the pipeline file. */
  file: string;
  /** The folder holding the pipeline file: steps run here by default and may not leave it. */
  workspace: string;
  /** Top-level env only (each step's `env` already includes it). */
  env: Record<string, string>;
  /** picomatch globs, as written, in file order; each has been checked to compile. */
  ignore: string[];
  /** `executor:` (local when absent; `run --executor` overrides it). Not part of any step's identity. */
  executor?: ExecutorName;
  /** In file order: the order steps run in. */
  steps: Step[];
  /** SHA-256 of the file's path and bytes, when loaded through the parse cache: names this exact pipeline. */
  contentKey?: string;
  /** The file's stat stamp taken with those bytes, when it vouches for them (pipeline/load.ts). */
  sourceStamp?: string;
  /** Folders foreach globs walked (stored path), their listing tokens then (a change may mean other items), and the glob. */
  foreachListings?: [folder: string, token: number, glob: string][];
}
