/**
 * DESIGN section 4: a remote cache that is down, slow or broken never fails the build. It costs a
 * warning, and the run finishes in bounded time (the remote is given up after its first failure).
 */
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCli, statuses, workspace, type RunJson } from './cli-helpers.js';
import { freePort, SHELL_OUTPUTS, SHELL_SOURCES } from './nginx.js';

const STEPS = Object.keys(SHELL_OUTPUTS);
const allRan = Object.fromEntries(STEPS.map((n) => [n, 'ran']));

/** Accepts connections and never answers. */
let silent: Server;
let silentPort = 0;
const sockets = new Set<Socket>();
/** Answers GET/HEAD at once (404) but never answers an upload. */
let hangsOnPut: HttpServer;
let hangsOnPutPort = 0;
/** Answers every request with HTTP 500. */
let broken: HttpServer;
let brokenPort = 0;
const requests: string[] = [];

const listen = (srv: Server | HttpServer) =>
  new Promise<number>((resolve) => srv.listen(0, '127.0.0.1', () => resolve((srv.address() as { port: number }).port)));

beforeAll(async () => {
  silent = createServer((s) => {
    sockets.add(s);
    s.on('error', () => undefined);
    s.on('close', () => sockets.delete(s));
  });
  silentPort = await listen(silent);
  hangsOnPut = createHttpServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    if (req.method === 'PUT') return; // never answers
    res.statusCode = 404;
    res.end();
  });
  hangsOnPutPort = await listen(hangsOnPut);
  broken = createHttpServer((req, res) => {
    req.resume();
    res.statusCode = 500;
    res.end('internal error');
  });
  brokenPort = await listen(broken);
});

afterAll(async () => {
  for (const s of sockets) s.destroy();
  silent?.close();
  for (const srv of [hangsOnPut, broken]) {
    srv?.closeAllConnections();
    srv?.close();
  }
});

/** Runs the CLI without blocking this process (the test servers live here), timed. */
async function timedRun(dir: string, args: string[], env: NodeJS.ProcessEnv = {}) {
  const t0 = Date.now();
  const { done } = startCli(dir, ['run', ...args, '--json'], env);
  const r = await done;
  const elapsed = Date.now() - t0;
  let report: RunJson;
  try {
    report = JSON.parse(r.stdout);
  } catch {
    throw new Error(`no JSON (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
  }
  return { ...report, code: r.code, stderr: r.stderr, elapsed };
}

const warnings = (stderr: string) => stderr.split('\n').filter((l) => l.startsWith('prov-make: warning:'));

describe('a remote cache that is down or slow never fails the build', () => {
  it('down (nothing listens on the port): exit 0, every step runs, one warning', async () => {
    const port = await freePort();
    const a = workspace(SHELL_SOURCES);
    const r = await timedRun(a, ['--remote', `http://127.0.0.1:${port}/cache/`]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.ok).toBe(true);
    expect(statuses(r)).toEqual(allRan);
    expect(warnings(r.stderr)).toHaveLength(1);
    expect(r.stderr).toMatch(/prov-make: warning: remote cache http:\/\/127\.0\.0\.1:\d+\/cache is unreachable \(.*ECONNREFUSED.*\); going on without it/);
    expect(r.elapsed).toBeLessThan(30_000);
  });

  it('slow (accepts, never answers) with PROV_MAKE_REMOTE_TIMEOUT_MS=500: exit 0, one warning, bounded time', async () => {
    const a = workspace(SHELL_SOURCES);
    // The remote comes from PROV_MAKE_REMOTE here (no flag).
    const r = await timedRun(a, [], { PROV_MAKE_REMOTE: `http://127.0.0.1:${silentPort}/cache/`, PROV_MAKE_REMOTE_TIMEOUT_MS: '500' });
    expect(r.code, r.stderr).toBe(0);
    expect(statuses(r)).toEqual(allRan);
    expect(warnings(r.stderr)).toEqual([expect.stringMatching(/remote cache .* is unreachable \(no answer within 500 ms\); going on without it/)]);
    // One timeout, then the remote is not asked again: well under a timeout per request (4 steps x several requests).
    expect(r.elapsed).toBeLessThan(20_000);
    // A second run in the same workspace is up to date and does not need the remote at all.
    const again = await timedRun(a, [], { PROV_MAKE_REMOTE: `http://127.0.0.1:${silentPort}/cache/`, PROV_MAKE_REMOTE_TIMEOUT_MS: '500' });
    expect(again.code).toBe(0);
    expect(statuses(again)).toEqual(Object.fromEntries(STEPS.map((n) => [n, 'skipped'])));
  });

  it('slow only when uploading: the upload times out with a warning, the build succeeds', async () => {
    const a = workspace(SHELL_SOURCES);
    const r = await timedRun(a, ['--remote', `http://127.0.0.1:${hangsOnPutPort}/cache/`], { PROV_MAKE_REMOTE_TIMEOUT_MS: '500' });
    expect(r.code, r.stderr).toBe(0);
    expect(statuses(r)).toEqual(allRan);
    expect(warnings(r.stderr)).toEqual([expect.stringMatching(/no answer within 500 ms/)]);
    expect(requests.filter((q) => q.startsWith('PUT '))).toHaveLength(1);
    expect(r.elapsed).toBeLessThan(20_000);
  });

  it('broken (HTTP 500 for everything): treated as misses with warnings, every step runs, exit 0', async () => {
    const a = workspace(SHELL_SOURCES);
    const r = await timedRun(a, ['--remote', `http://127.0.0.1:${brokenPort}/cache/`]);
    expect(r.code, r.stderr).toBe(0);
    expect(statuses(r)).toEqual(allRan);
    expect(r.stderr).toMatch(/prov-make: warning: remote cache answered HTTP 500 .*treated as a miss/);
    expect(r.stderr).toMatch(/prov-make: warning: remote cache upload of .* failed \(HTTP 500\)/);
  });
});
