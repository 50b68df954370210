/** Why an execution may not be skipped or cached although it succeeded (kept in the deps log). */
export type Distrust =
  | { kind: 'untraced-program'; path: string; reason: string }
  | { kind: 'trace-incomplete'; problem: string; message: string }
  | { kind: 'input-changed-while-running'; path: string };
