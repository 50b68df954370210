/**
 * @prov-make/interposer: trace a command and reduce what it did to a step's dependencies.
 *
 *   traceCommand(cmd, { cwd }) -> TraceResult      run under the interposer, wait, reduce
 *   startTrace(cmd, opts) -> { child, result }       same, with the ChildProcess for streaming/killing
 *   readTraceLog(dir)                                the raw records of a step's trace log
 *   reduceRecords(records, { ignore, disk })         records -> StepDependencies
 *   collectTrace(logDir, opts)                       a finished log -> dependencies, problems (big logs: pm-collect)
 *   decodePath / encodePath / fsPath / displayPath   file names as bytes (byte-path.ts)
 */
export { RECORD, describeUntracedReason, type PathStat, type RecordKind, type StepDependencies, type TraceProblem, type TraceResult, type TraceStats, type UntracedProgram, type WriteKind } from './types.js';
export type { LogRecord, TraceStatus, TraceLog } from './logs.js';
export { LOG_LAYOUT, parseRecords, readTraceLog } from './logs.js';
export { programEscape, supervisorTraces } from './program.js';
export { decodePath, displayPath, encodePath, fsPath, hasRawBytes, readdirPaths, readlinkPath, realPathOf } from './byte-path.js';
export { reduceRecords, liveDisk, type DiskView, type ReduceOptions } from './reduce.js';
export {
  interposerLibrary,
  fileCheckProgram,
  supervisorProgram,
  startTrace,
  traceCommand,
  tracedEnv,
  prepareLogDir,
  collectTrace,
  type TraceOptions,
  type RunningTrace,
} from './launch.js';
