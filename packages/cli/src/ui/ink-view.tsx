/**
 * The terminal view of a run (ink): finished steps scroll above, running steps stay below with
 * their elapsed time, then the counts; failed steps' output and the summary come at the end.
 */
import { useEffect, useState } from 'react';
import { Box, Static, Text, render } from 'ink';
import { describe } from '../engine/reasons.js';
import type { Hazard, RunEvents, RunReport, StepReport } from '../engine/report.js';
import { formatFailedOutputs, formatSummary } from '../format/run.js';
import { formatDuration } from '../format/units.js';
import { describeOwner } from '../workspace/lock.js';

interface Running { name: string; reason: string; startedAt: number; lastLine: string }
interface Finished { key: string; report?: StepReport; hazard?: Hazard }

class ViewState {
  running = new Map<string, Running>();
  finished: Finished[] = [];
  report: RunReport | null = null;
  /** "pid 1234" or "pid 1234 on login2" */
  waitingFor: string | null = null;
  private listeners = new Set<() => void>();
  subscribe(f: () => void) { this.listeners.add(f); return () => { this.listeners.delete(f); }; }
  changed() { for (const f of this.listeners) f(); }
}

const COLORS: Record<string, string> = { ran: 'green', skipped: 'gray', restored: 'cyan', failed: 'red', blocked: 'yellow' };
const MARKS: Record<string, string> = { ran: '✓', skipped: '·', restored: '↺', failed: '✗', blocked: '!' };

function FinishedLine({ item }: { item: Finished }) {
  if (item.hazard) {
    return (
      <Box flexDirection="column">
        <Text color="red">error: {item.hazard.message}</Text>
        <Text>  fix: {item.hazard.fix}</Text>
      </Box>
    );
  }
  const r = item.report!;
  const detail = r.status === 'ran' ? formatDuration(r.durationMs) : r.status === 'skipped' ? 'up to date' : describe(r.reason);
  return (
    <Text>
      <Text color={COLORS[r.status]}>{MARKS[r.status]} {r.name}</Text>
      <Text color="gray"> {detail}</Text>
    </Text>
  );
}

function RunView({ state }: { state: ViewState }) {
  const [, setTick] = useState(0);
  useEffect(() => state.subscribe(() => setTick((t) => t + 1)), [state]);
  useEffect(() => {
    const timer = setInterval(() => setTick((t) => t + 1), 200);
    return () => clearInterval(timer);
  }, []);
  const count = (s: string) => state.finished.filter((f) => f.report?.status === s).length;
  const now = Date.now();
  return (
    <>
      {/* a new array each render: Static memoises on the array itself */}
      <Static items={[...state.finished]}>{(item) => <FinishedLine key={item.key} item={item} />}</Static>
      {state.waitingFor !== null && !state.report && <Text color="yellow">waiting for another prov-make ({state.waitingFor}) in this workspace…</Text>}
      {[...state.running.values()].map((r) => (
        <Box key={r.name} flexDirection="column">
          <Text>
            <Text color="yellow">▶ {r.name}</Text>
            <Text> {formatDuration(now - r.startedAt)}</Text>
            <Text color="gray"> ({r.reason})</Text>
          </Text>
          {r.lastLine ? <Text color="gray" wrap="truncate-end">  {r.lastLine}</Text> : null}
        </Box>
      ))}
      {!state.report && (
        <Text color="gray">
          {count('ran')} ran · {count('skipped')} up to date · {count('restored')} restored · {count('failed')} failed · {state.running.size} running
        </Text>
      )}
    </>
  );
}

export interface RunView {
  events: RunEvents;
  /** Draws the end of the run, lets go of the terminal, then prints failed outputs and the summary. */
  finish(report: RunReport): Promise<void>;
  /** Lets go of the terminal without a report (the run could not start). */
  abandon(): Promise<void>;
}

export function inkRunView(): RunView {
  const state = new ViewState();
  const app = render(<RunView state={state} />, { exitOnCtrlC: false, patchConsole: false });
  let n = 0;
  const events: RunEvents = {
    waitingForLock: (pid, host) => { state.waitingFor = describeOwner(pid, host); state.changed(); },
    stepStarted: (step, reason) => {
      state.waitingFor = null;
      state.running.set(step.name, { name: step.name, reason: describe(reason), startedAt: Date.now(), lastLine: '' });
      state.changed();
    },
    stepLine: (step, line) => {
      const r = state.running.get(step.name);
      if (r && line.trim()) r.lastLine = line;
    },
    stepFinished: (report) => {
      state.running.delete(report.name);
      state.finished.push({ key: `s${n++}`, report });
      state.changed();
    },
    hazard: (hazard) => {
      state.finished.push({ key: `h${n++}`, hazard });
      state.changed();
    },
  };
  return {
    events,
    async finish(report) {
      state.report = report;
      // Draw the final state (finished lines, no running ones) before ink lets go of the terminal.
      app.rerender(<RunView state={state} />);
      await new Promise((r) => setTimeout(r, 30));
      app.unmount();
      await app.waitUntilExit();
      process.stdout.write(formatFailedOutputs(report) + formatSummary(report));
    },
    async abandon() {
      app.clear();
      app.unmount();
      await app.waitUntilExit();
    },
  };
}
