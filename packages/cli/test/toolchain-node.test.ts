/**
 * Node through the real CLI: libuv stats every path with syscall(SYS_statx), and with
 * UV_USE_IO_URING=1 reads through io_uring. Module resolution, fs calls and a pipeline whose
 * output depends on which file `require` finds.
 */
import { symlinkSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli, reasonOf, runJson, statuses, workspace } from './cli-helpers.js';
/** The lists of `prov-make trace --json`. */
interface TraceJson { exitCode: number | null; reads: string[]; writes: string[]; deleted: string[]; absent: string[]; listed: string[]; executed: string[]; untraced: string[] }

/** `prov-make trace --json -- node -e SCRIPT` in ws, workspace paths made relative to it. */
function traceNode(ws: string, script: string, env: NodeJS.ProcessEnv = {}): TraceJson & { stderr: string } {
  const r = cli(ws, ['trace', '--json', '--', process.execPath, '-e', script], env);
  expect(r.code, r.stderr).toBe(0);
  const json = JSON.parse(r.stdout) as TraceJson;
  const inside = (list: string[]) => list.filter((p) => p.startsWith(ws + '/')).map((p) => p.slice(ws.length + 1));
  return {
    ...json,
    reads: inside(json.reads),
    writes: inside(json.writes),
    absent: inside(json.absent),
    listed: inside(json.listed),
    deleted: inside(json.deleted),
    stderr: r.stderr,
  };
}

describe('node -e under the tracer', () => {
  it('fs.statSync of a missing path is an absent path', () => {
    const ws = workspace();
    const t = traceNode(ws, 'try { require("fs").statSync("missing.json") } catch {}');
    expect(t.absent).toEqual(['missing.json']);
    expect(t.untraced).toEqual([]);
  });

  it('require of a module found after probes: the probes that missed are absent', () => {
    const ws = workspace({ 'lib/index.js': 'module.exports = "dir";\n' });
    const t = traceNode(ws, 'process.stderr.write(require("./lib"))');
    expect(t.stderr).toContain('dir');
    expect(t.reads).toEqual(['lib/index.js']);
    expect(t.absent).toEqual(expect.arrayContaining(['lib.js', 'lib.json', 'lib.node', 'lib/package.json']));
  });

  it('fs.readdirSync lists the folder; fs.realpathSync reads the symlink it goes through', () => {
    const ws = workspace({ 'data/a.csv': '1\n', 'data/b.csv': '2\n', 'real/f.txt': 'f\n' });
    symlinkSync('real', join(ws, 'link'));
    const t = traceNode(ws, 'const fs = require("fs"); fs.readdirSync("data"); process.stderr.write(fs.realpathSync("link/f.txt"))');
    expect(t.stderr).toContain(join(ws, 'real/f.txt'));
    expect(t.listed).toEqual(['data']);
    expect(t.reads).toEqual(expect.arrayContaining(['link', 'real/f.txt']));
  });

  it('fs.promises.readFile is a read, with io_uring allowed (UV_USE_IO_URING=1) or not', () => {
    const ws = workspace({ 'in.txt': 'content\n' });
    const script = 'require("fs").promises.readFile("in.txt", "utf8").then((t) => process.stderr.write(t))';
    for (const env of [{}, { UV_USE_IO_URING: '1' }]) {
      const t = traceNode(ws, script, env);
      expect(t.stderr).toContain('content');
      expect(t.reads).toEqual(['in.txt']);
    }
  });
});

describe('a node step whose require finds a new file', () => {
  it('adding lib.js, which shadows lib/index.js, reruns the step, and the output says so', () => {
    const ws = workspace({
      'pipeline.yml': 'steps:\n  build:\n    run: node b.js\n',
      'b.js': 'require("fs").writeFileSync("o.txt", require("./lib"));\n',
      'lib/index.js': 'module.exports = "dir";\n',
    });
    expect(statuses(runJson(ws))).toEqual({ build: 'ran' });
    expect(readFileSync(join(ws, 'o.txt'), 'utf8')).toBe('dir');
    expect(statuses(runJson(ws))).toEqual({ build: 'skipped' });
    writeFileSync(join(ws, 'lib.js'), 'module.exports = "file";\n');
    const r = runJson(ws);
    expect(statuses(r)).toEqual({ build: 'ran' });
    expect(reasonOf(r, 'build')).toMatch(/lib\.js appeared/);
    expect(readFileSync(join(ws, 'o.txt'), 'utf8')).toBe('file');
    expect(statuses(runJson(ws))).toEqual({ build: 'skipped' });
  });
});
