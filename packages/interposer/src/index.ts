/**
 * @prov-make/interposer: trace a command and reduce what it did to a step's dependencies.
 *
 *   traceCommand(cmd, { cwd }) -> TraceResult      run under the interposer, wait, reduce
 *   startTrace(cmd, opts) -> { child, result }       same, with the ChildProcess for streaming/killing
 *   readLogDir(dir) / parseLog(bytes, pid)           the raw records
 *   reduceRecords(records, { ignore, disk })         records -> StepDependencies
 */
export type { StepDependencies, TraceProblem, TraceResult, UntracedProgram, WriteKind } from './types.js';
export type { LogRecord, RecordKind, TraceStatus, LogDirContents } from './logs.js';
export { parseLog, readLogDir, readStatus } from './logs.js';
export { reduceRecords, liveDisk, type DiskView, type ReduceOptions } from './reduce.js';
export {
  interposerLibrary,
  fileCheckProgram,
  startTrace,
  traceCommand,
  tracedEnv,
  prepareLogDir,
  collectTrace,
  type TraceOptions,
  type RunningTrace,
} from './launch.js';
