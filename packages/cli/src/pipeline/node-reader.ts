/**
 * What a pipeline key's own module needs of the loader to read its YAML node and to fail with
 * file:line:col (pipeline.ts hands one out): keys kept in files of their own use this.
 */
import type { Pair } from 'yaml';
import type { PipelineErrorCode, SourcePosition } from './errors.js';

export interface NodeReader {
  /** The node an alias stands for (or the node itself). */
  deref(node: unknown): unknown;
  /** Where a node (or a position) is in the file. */
  position(at: unknown): SourcePosition;
  /** Where a pair's value is, or its key when the value is missing. */
  valuePosition(pair: Pair<unknown, unknown>): SourcePosition;
  fail(code: PipelineErrorCode, at: unknown, problem: string, fix: string): never;
  /** A map key's name and position (fails on an empty or non-scalar key). */
  keyOf(pair: Pair<unknown, unknown>, where: string): { name: string; position: SourcePosition };
  /** Fails on a key already seen in this map (`what`: "key \"x\" in ..."). */
  checkDuplicate(seen: Map<string, SourcePosition>, name: string, position: SourcePosition, what: string): void;
  /** `key:` with nothing after it, `~` or `null`. */
  isMissing(node: unknown): boolean;
  /** A scalar's text as written (numbers keep their spelling). */
  text(node: unknown): string;
  /** "a list", "the text \"x\"": for messages. */
  describe(node: unknown): string;
  /** Why a glob cannot work, or undefined. */
  globProblem(glob: string): { problem: string; fix: string } | undefined;
}
