/**
 * @prov-make/interposer: trace a command and reduce what it did to a step's dependencies.
 *
 *   traceCommand(cmd, { cwd }) -> TraceResult      run under the interposer, wait, reduce
 *   startTrace(cmd, opts) -> { child, result }       same, with the ChildProcess for streaming/killing
 *   readTraceLog(dir)                                the raw records of a step's trace log
 *   reduceRecords(records, { ignore, disk })         records -> StepDependencies
 *   removeAbandonedLogs()                            log folders of processes killed before removing them
 *   thisProcess(), isRunning(id)                     a process by pid and start time (a reused pid is another)
 *   collectTrace(logDir, opts)                       a finished log -> dependencies, problems (big logs: pm-collect)
 *   decodePath / encodePath / fsPath                 file names as bytes (byte-path.ts)
 */
export { RECORD, describeUntracedReason, type PathStat, type RecordKind, type StepDependencies, type TraceProblem, type TraceResult, type TraceStats, type UntracedProgram, type WriteKind } from './types.js';
export type { LogRecord, TraceStatus, TraceLog } from './logs.js';
export { LOG_LAYOUT, parseRecords, readTraceLog } from './logs.js';
export { programEscape, supervisorTraces } from './program.js';
export { formatIdentity, isRunning, parseIdentity, processStartTime, thisProcess, type ProcessIdentity } from './process-identity.js';
export { decodePath, encodePath, fsPath, hasRawBytes, readdirPaths, readlinkPath, realPathOf } from './byte-path.js';
export { reduceRecords, liveDisk, type DiskView, type ReduceOptions } from './reduce.js';
export {
  interposerLibrary,
  fileCheckProgram,
  supervisorProgram,
  startTrace,
  traceCommand,
  tracedEnv,
  prepareLogDir,
  removeAbandonedLogs,
  collectTrace,
  type TraceOptions,
  type RunningTrace,
} from './launch.js';
