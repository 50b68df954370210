/**
 * Hazards are errors with the fix in the message (DESIGN section 3): two steps write one file; a
 * step reads or probes a file a later step writes; an input changes while its step runs.
 */
import type { StepRecord } from '@prov-make/cache';
import { shownPath } from '../workspace/paths.js';
import type { BuildState } from './build-state.js';
import type { Hazard } from './report.js';

export class Hazards {
  readonly found: Hazard[] = [];

  constructor(private readonly onHazard?: (h: Hazard) => void) {}

  private add(h: Hazard): void {
    if (this.found.some((x) => x.kind === h.kind && x.path === h.path && x.steps.join() === h.steps.join())) return;
    this.found.push(h);
    this.onHazard?.(h);
  }

  /** After step i committed `record`: an input that changed while it ran. */
  afterCommit(b: BuildState, i: number, record: StepRecord): void {
    if (record.distrust?.kind !== 'input-changed-while-running') return;
    const name = b.steps[i].name;
    const path = record.distrust.path;
    this.add({
      kind: 'changed-while-running',
      steps: [name],
      path,
      message: `${shownPath(path)} changed while step "${name}" was running, so this execution is not trusted`,
      fix: `make sure nothing else writes ${shownPath(path)} while prov-make runs; "${name}" runs again next time`,
    });
  }

  /**
   * After a run, from every step's latest execution (not from what ran in this run): two steps that
   * write one file. So a hazard found once is found again with nothing changed, and a step that
   * stopped writing the file is no longer its writer.
   */
  twoWriters(b: BuildState): void {
    for (const [id, steps] of writersById(b)) {
      if (steps.length < 2) continue;
      const path = b.deps.pathOf(id);
      const st = b.disk.lstat(b.abs(path));
      if (!st || st.isDirectory()) continue;
      const [first, second] = steps.map((j) => b.steps[j].name);
      this.add({
        kind: 'two-writers',
        steps: [first, second],
        path,
        message: `steps "${first}" and "${second}" both write ${shownPath(path)}`,
        fix: `make only one of them write it, or have one write a different file and the other read that`,
      });
    }
  }

  /** After a run: a step that reads or probes a file a later step writes sees an old or missing version. */
  readBeforeWrite(b: BuildState): void {
    // Writers by file id: a million recorded reads are checked with one numeric lookup each.
    const writers = writersById(b);
    if (writers.size === 0) return;
    b.states.forEach((st, i) => {
      if (!st) return;
      const seen = (id: number) => {
        const j = writers.get(id)?.find((w) => w > i);
        if (j !== undefined) this.add(readBeforeWrite(b, i, j, b.deps.pathOf(id)));
      };
      const { ids } = st.inputs;
      for (let k = 0; k < ids.length; k++) seen(ids[k]);
      for (let k = 0; k < st.absent.length; k++) seen(st.absent[k]);
    });
  }
}

/** File id -> the steps whose latest execution writes it, in file order. */
function writersById(b: BuildState): Map<number, number[]> {
  const writers = new Map<number, number[]>();
  b.states.forEach((st, j) => {
    const ids = st?.outputs.ids ?? [];
    for (let k = 0; k < ids.length; k++) {
      const list = writers.get(ids[k]);
      if (list) list.push(j);
      else writers.set(ids[k], [j]);
    }
  });
  return writers;
}

function readBeforeWrite(b: BuildState, i: number, j: number, path: string): Hazard {
  const reader = b.steps[i].name;
  const writer = b.steps[j].name;
  return {
    kind: 'read-before-write',
    steps: [reader, writer],
    path,
    message: `step "${reader}" reads ${shownPath(path)}, which the later step "${writer}" writes`,
    fix: `move "${writer}" above "${reader}" in ${b.pipeline.file} (and add \`needs: [${writer}]\` to "${reader}"), or stop "${reader}" from reading it`,
  };
}
