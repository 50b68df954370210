/**
 * prov-make as a library: what the commands call, and what a test, a watch loop or another tool can
 * import. Importing it loads no store, parser or engine: each loads on first use.
 *
 *   openWorkspace(pipelineFile, { disk?, runner?, blobs?, cacheDir?, stateDir?, remote?, pipeline? }) -> Workspace
 *     .runPipeline({ targets?, jobs?, force?, events?, signal?, waitForLock? }) -> RunReport
 *     .planPipeline({ targets?, force? }) -> RunReport        (status: runs nothing, writes nothing)
 *     .explainFile(path) -> WhyAnswer                          (why)
 *     .openStores() -> WorkspaceStores                          (history, content store, ...)
 *     .close()
 *   runPipeline / planPipeline / explainFile(pipelineFile, ...)  the same, opened and closed once
 *   watchPipeline(workspace, { targets?, jobs?, keepGoing?, signal }, view)   watch mode on a handle
 *   loadPipeline(file) -> Pipeline;  describe(reason) -> string
 */
export { runPipeline, planPipeline, explainFile, loadPipeline, watchPipeline } from './api.js';
export type { WatchOptions, WatchView } from './watch/watch-loop.js';
export type { Change } from './watch/watch-set.js';
export { openWorkspace, Workspace, type OpenOptions, type RunOptions, type PlanOptions } from './workspace/workspace.js';
export { LockedError } from './workspace/lock.js';
export type { WorkspacePaths } from './workspace/paths.js';
export { UnknownStepError } from './engine/targets.js';
export { describe, type Reason, type Distrust, type DefinitionChange, type DamagedOutput } from './engine/reasons.js';
export type { RunReport, StepReport, RunStatus, PlanStatus, Hazard, RunEvents } from './engine/report.js';
export { LocalStepRunner } from './runner/local-runner.js';
export type { StepRunner, StepLaunch, StartedStep, StepExecution } from './runner/step-runner.js';
export type { Pipeline, Step } from './pipeline/types.js';
export type { WhyAnswer, Staleness } from './provenance/why.js';
export type { LineageNode, ProducerNode, VersionInfo } from './provenance/lineage.js';
export type { Disk, FileStat, BlobStore } from '@prov-make/cache';
