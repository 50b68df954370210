/**
 * Annotations (CamFlow-style, no library): a step appends lines to the file named by
 * $PROV_MAKE_ANNOTATE; they are attached to its execution and shown by `why`, `log`, `log --json`
 * and the PROV-JSON export (activity attribute pm:annotations).
 */
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { cli, runJson, statuses, workspace } from './cli-helpers.js';
import { describeIssues, validateProvJson } from './prov-json-validator.js';

const PIPELINE = `steps:
  count:
    run: cp in.txt rows.txt && echo "rows=3" >> "$PROV_MAKE_ANNOTATE"
  copy:
    run: cat rows.txt > copy.txt
`;

/** pm:annotations as a list, whether written as one value or several. */
const notesOf = (v: unknown): string[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]).map((x) => (typeof x === 'object' && x !== null ? (x as { $: string }).$ : String(x)));

describe('annotations a step writes to $PROV_MAKE_ANNOTATE', () => {
  let ws: string;
  beforeAll(() => {
    ws = workspace({ 'pipeline.yml': PIPELINE, 'in.txt': 'a\nb\nc\n' });
    const r = runJson(ws);
    expect(r.code, r.stderr).toBe(0);
    expect(statuses(r)).toEqual({ count: 'ran', copy: 'ran' });
  });

  it('appear in why, under the step that wrote them', () => {
    const r = cli(ws, ['why', 'rows.txt']);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.split('\n');
    const made = lines.findIndex((l) => /made by step count,/.test(l));
    expect(made).toBeGreaterThan(0);
    expect(lines[made + 1].trim()).toBe('$ cp in.txt rows.txt && echo "rows=3" >> "$PROV_MAKE_ANNOTATE"');
    expect(lines[made + 2].trim()).toBe('note: rows=3');
    // further down the tree too
    const down = cli(ws, ['why', 'copy.txt']);
    expect(down.stdout).toMatch(/made by step copy,[\s\S]*made by step count,[\s\S]*note: rows=3/);
    expect(down.stdout.match(/note:/g)).toHaveLength(1);
    const j = JSON.parse(cli(ws, ['why', 'rows.txt', '--json']).stdout);
    expect(j.executions[j.producedBy].annotations).toEqual(['rows=3']);
  });

  it('appear in log and log --json', () => {
    const r = cli(ws, ['log']);
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    const count = lines.findIndex((l) => / count /.test(l));
    expect(lines[count + 1].trim()).toBe('note: rows=3');
    expect(lines.filter((l) => /note:/.test(l))).toHaveLength(1);
    const j = JSON.parse(cli(ws, ['log', '--json']).stdout) as { step: string; annotations: string[] }[];
    expect(j.map((e) => [e.step, e.annotations])).toEqual([['copy', []], ['count', ['rows=3']]]); // newest first
  });

  it('appear in the PROV-JSON export as pm:annotations of the activity', () => {
    for (const args of [['graph', '--prov'], ['why', 'copy.txt', '--prov']]) {
      const doc = JSON.parse(cli(ws, args).stdout);
      const issues = validateProvJson(doc).filter((i) => i.rule !== 'qname-literal');
      expect(issues, describeIssues(issues)).toEqual([]);
      const acts = Object.values(doc.activity) as Record<string, unknown>[];
      const count = acts.find((a) => a['pm:step'] === 'count')!;
      expect(notesOf(count['pm:annotations']), args.join(' ')).toEqual(['rows=3']);
      const copy = acts.find((a) => a['pm:step'] === 'copy')!;
      expect(notesOf(copy['pm:annotations'])).toEqual([]);
    }
  });

  it('the notes file is neither an input nor an output of the step, so nothing reruns', () => {
    const g = JSON.parse(cli(ws, ['graph', '--json']).stdout);
    const count = g.executions.find((e: { step: string }) => e.step === 'count');
    expect(count.outputs.map((o: { path: string }) => o.path)).toEqual(['rows.txt']);
    expect(count.inputs.map((o: { path: string }) => o.path)).toEqual(['in.txt']);
    expect(statuses(runJson(ws))).toEqual({ count: 'skipped', copy: 'skipped' });
  });

  it('each execution keeps its own notes; several lines are several notes', () => {
    const ws2 = workspace({
      'pipeline.yml': `steps:\n  count:\n    run: 'wc -l < in.txt > n.txt && echo "rows=$(cat n.txt)" >> "$PROV_MAKE_ANNOTATE" && printf "source=in.txt\\nchecked: \\"yes\\" é\\n" >> "$PROV_MAKE_ANNOTATE"'\n`,
      'in.txt': 'a\nb\nc\n',
    });
    expect(runJson(ws2).code).toBe(0);
    appendFileSync(join(ws2, 'in.txt'), 'd\n');
    expect(statuses(runJson(ws2))).toEqual({ count: 'ran' });
    const j = JSON.parse(cli(ws2, ['log', '--json']).stdout) as { annotations: string[] }[];
    expect(j.map((e) => e.annotations)).toEqual([
      ['rows=4', 'source=in.txt', 'checked: "yes" é'],
      ['rows=3', 'source=in.txt', 'checked: "yes" é'],
    ]);
    const why = cli(ws2, ['why', 'n.txt']).stdout;
    expect(why).toContain('note: rows=4');
    expect(why).not.toContain('rows=3');
    const doc = JSON.parse(cli(ws2, ['graph', '--all-history', '--prov']).stdout);
    expect(validateProvJson(doc).filter((i) => i.rule !== 'qname-literal')).toEqual([]);
    const notes = (Object.values(doc.activity) as Record<string, unknown>[]).map((a) => notesOf(a['pm:annotations']));
    expect(notes).toContainEqual(['rows=4', 'source=in.txt', 'checked: "yes" é']);
  });
});
