/** A parsed pipeline file, as the rest of the tool sees it. */
import type { SlurmResources } from '../executor/slurm-resources.js';
import type { SourcePosition } from './errors.js';

/** Where steps run (`executor:`, `run --executor`). */
export const EXECUTORS = ['local', 'slurm'] as const;
export type ExecutorName = (typeof EXECUTORS)[number];

export interface Step {
  /** The key under `steps:`; matches STEP_NAME_PATTERN. */
  name: string;
  /** The shell command, exactly as written (run by `shell`). */
  run: string;
  /** Absolute, normalised folder the command runs in; always inside the workspace. */
  cwd: string;
  /** `cwd` as written in the file, '.' when absent. */
  cwdRelative: string;
  /** Where the cwd value is written, when it is (errors about the folder point there). */
  cwdLocation?: SourcePosition;
  /** Top-level env with the step's own env merged over it. */
  env: Record<string, string>;
  /** Names or globs of the caller's variables it sees besides the allowlist: top-level and its own (step-env.ts). */
  passEnv: string[];
  /** The words before the command: the step's `shell`, else the top-level one, else sh (shell.ts). */
  shell: string[];
  /** Names of earlier steps this one must run after: deduplicated, in the order written. */
  needs: string[];
  /** Where the step's name is written in the file. */
  location: SourcePosition;
  /** What its cluster job asks for: the top-level `resources:` with the step's own merged over it. Not part of its identity. */
  resources?: SlurmResources;
  /** SHA-256 of the part of its definition the file alone decides, when already computed (kept with a cached parse). */
  fileDefinitionHash?: string;
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
  /** Top-level passEnv only (each step's `passEnv` already includes it). */
  passEnv: string[];
  /** Top-level shell words (each step's `shell` already includes it). */
  shell: string[];
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
