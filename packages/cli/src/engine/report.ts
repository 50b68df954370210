/** What a run or a plan reports: one entry per step (DESIGN section 6), hazards, and the events a UI shows. */
import type { Step } from '../pipeline/types.js';
import type { Reason } from './reasons.js';

export type RunStatus = 'ran' | 'skipped' | 'restored' | 'failed' | 'blocked';
export type PlanStatus = 'would-run' | 'up-to-date' | 'would-restore';

export interface StepReport {
  name: string;
  status: RunStatus | PlanStatus;
  reason: Reason;
  durationMs: number;
  exitCode?: number | null;
  /** Captured output of a failed step. */
  output?: string;
}

export interface Hazard {
  kind: 'two-writers' | 'read-before-write' | 'changed-while-running';
  steps: string[];
  path: string;
  message: string;
  fix: string;
}

export interface RunReport {
  ok: boolean;
  steps: StepReport[];
  hazards: Hazard[];
  interrupted: boolean;
  durationMs: number;
}

export interface RunEvents {
  /** `host`: set when the other run is on another host (a shared file system). */
  waitingForLock?(pid: number, host?: string | null): void;
  stepStarted?(step: Step, reason: Reason): void;
  stepLine?(step: Step, line: string): void;
  stepFinished?(report: StepReport): void;
  hazard?(hazard: Hazard): void;
}
