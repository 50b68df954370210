/**
 * DESIGN section 4, the remote cache against a real nginx (WebDAV PUT, Bazel's /ac/ + /cas/ layout):
 * one clone uploads, a fresh clone with an empty local cache restores everything from the remote;
 * read-only mode never uploads; bearer and basic auth, right and wrong.
 */
import { createHash } from 'node:crypto';
import { cpSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, reasonOf, runJson, statuses, workspace, write } from './cli-helpers.js';
import { acDocuments, BASIC_PASSWORD, BASIC_USER, BEARER_TOKEN, SHELL_OUTPUTS, SHELL_SOURCES, startNginx, type Nginx } from './nginx.js';

let nginx: Nginx;
beforeAll(async () => {
  nginx = await startNginx();
});
afterAll(async () => {
  await nginx?.stop();
});

type Location = 'cache' | 'bearer' | 'basic';
const STEPS = Object.keys(SHELL_OUTPUTS);
const all = (status: string) => Object.fromEntries(STEPS.map((n) => [n, status]));
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** Files a namespace of a location holds (each test uses its own namespace under the location). */
function remoteFiles(ns: string, location: Location = 'cache'): string[] {
  return nginx.files(location).filter((f) => f.startsWith(`${ns}/`)).map((f) => f.slice(ns.length + 1));
}

/** Uploads (PUT) nginx logged for a namespace since `from` (an index into the access log). */
function puts(ns: string, from: number, location: Location = 'cache'): string[] {
  return nginx.accessLog().slice(from).filter((l) => l.startsWith('PUT ') && l.includes(`/${location}/${ns}/`));
}

/** A fresh clone of the sources: other path, new mtimes, no outputs, no .prov-make. */
function clone(from: string): string {
  const to = workspace();
  cpSync(from, to, { recursive: true, filter: (src) => !/^(\.prov-make|build)(\/|$)/.test(relative(from, src)) });
  return to;
}

function expectSameOutputs(a: string, b: string) {
  for (const out of Object.values(SHELL_OUTPUTS)) expect(readFileSync(join(b, out)), out).toEqual(readFileSync(join(a, out)));
}

describe('remote cache on nginx', () => {
  it('A uploads with its own local cache; a fresh clone with an empty cache restores every step from the remote', () => {
    const url = `${nginx.url('cache')}share/`;
    const a = workspace(SHELL_SOURCES);
    const first = runJson(a, ['--remote', url]);
    expect(first.code, first.stderr).toBe(0);
    expect(statuses(first)).toEqual(all('ran'));
    expect(first.stderr).not.toMatch(/warning/);

    // Bazel's layout: ac/<sha256> documents, cas/<sha256 of the bytes> blobs.
    const files = remoteFiles('share');
    const ac = files.filter((f) => f.startsWith('ac/'));
    const cas = files.filter((f) => f.startsWith('cas/'));
    for (const f of files) expect(f).toMatch(/^(ac|cas)\/[0-9a-f]{64}$/);
    expect(ac).toHaveLength(8); // an entry and a path-set index per step
    expect(acDocuments(nginx.file('share/ac')).filter((d) => d.doc.step).map((d) => d.doc.step).sort()).toEqual([...STEPS].sort());
    for (const out of Object.values(SHELL_OUTPUTS)) {
      const bytes = readFileSync(join(a, out));
      expect(cas, out).toContain(`cas/${sha256(bytes)}`);
      expect(readFileSync(nginx.file(`share/cas/${sha256(bytes)}`))).toEqual(bytes);
    }

    const logFrom = nginx.accessLog().length;
    const b = clone(a);
    const restored = runJson(b, ['--remote', url, '--cache-dir', workspace()]);
    expect(restored.code, restored.stderr).toBe(0);
    expect(statuses(restored)).toEqual(all('restored'));
    for (const n of STEPS) expect(reasonOf(restored, n)).toMatch(/; restored its outputs from the remote cache$/);
    expectSameOutputs(a, b);
    const history = JSON.parse(cli(b, ['log', '--json']).stdout) as { reason: string }[];
    expect(history).toHaveLength(4);
    for (const e of history) expect(e.reason).toMatch(/^restored from the cache/);
    // Restoring uploads nothing.
    expect(puts('share', logFrom)).toEqual([]);
    expect(remoteFiles('share')).toEqual(files);

    expect(statuses(runJson(b, ['--remote', url]))).toEqual(all('skipped'));

    // PROV_MAKE_REMOTE works like --remote.
    const c = clone(a);
    const viaEnv = runJson(c, [], 'run', { PROV_MAKE_REMOTE: url });
    expect(statuses(viaEnv)).toEqual(all('restored'));
    expect(reasonOf(viaEnv, 'upper')).toMatch(/from the remote cache$/);
  });

  it('read-only mode (flag or PROV_MAKE_REMOTE_READ_ONLY=1): the changed step runs, the rest restores, nothing is uploaded', () => {
    const url = `${nginx.url('cache')}ro/`;
    const a = workspace(SHELL_SOURCES);
    expect(statuses(runJson(a, ['--remote', url]))).toEqual(all('ran'));
    const before = remoteFiles('ro');

    const b2 = clone(a);
    write(b2, 'src/b.txt', 'changed in an untrusted job\n');
    let logFrom = nginx.accessLog().length;
    const ro = runJson(b2, ['--remote', url, '--remote-read-only', '--cache-dir', workspace()]);
    expect(ro.code, ro.stderr).toBe(0);
    expect(statuses(ro)).toEqual({ upper: 'restored', listing: 'restored', count: 'restored', other: 'ran' });
    expect(readFileSync(join(b2, 'build/other.txt'), 'utf8')).toBe('changed in an untrusted job\n'.repeat(2));
    expect(remoteFiles('ro')).toEqual(before);
    expect(puts('ro', logFrom)).toEqual([]);

    const b3 = clone(a);
    write(b3, 'src/a.txt', 'also changed\n');
    logFrom = nginx.accessLog().length;
    const env = runJson(b3, ['--remote', url, '--cache-dir', workspace()], 'run', { PROV_MAKE_REMOTE_READ_ONLY: '1' });
    expect(env.code, env.stderr).toBe(0);
    expect(statuses(env)).toEqual({ upper: 'ran', listing: 'restored', count: 'ran', other: 'restored' });
    expect(remoteFiles('ro')).toEqual(before);
    expect(puts('ro', logFrom)).toEqual([]);

    // Control: the same change without read-only mode does upload.
    const b4 = clone(a);
    write(b4, 'src/b.txt', 'changed in an untrusted job\n');
    const rw = runJson(b4, ['--remote', url, '--cache-dir', workspace()]);
    expect(statuses(rw)).toEqual({ upper: 'restored', listing: 'restored', count: 'restored', other: 'ran' });
    expect(remoteFiles('ro').length).toBeGreaterThan(before.length);
    expect(remoteFiles('ro')).toContain(`cas/${sha256(readFileSync(join(b4, 'build/other.txt')))}`);
  });

  it('bearer token: the right one uploads and restores; a wrong or missing one only warns, the steps run', () => {
    const url = `${nginx.url('bearer')}tok/`;
    const right = { PROV_MAKE_REMOTE_TOKEN: BEARER_TOKEN };
    const a = workspace(SHELL_SOURCES);
    const first = runJson(a, ['--remote', url], 'run', right);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stderr).not.toMatch(/warning/);
    const stored = remoteFiles('tok', 'bearer');
    expect(stored.filter((f) => f.startsWith('ac/'))).toHaveLength(8);
    expect(stored.filter((f) => f.startsWith('cas/'))).toHaveLength(4);

    const b = clone(a);
    const restored = runJson(b, ['--remote', url, '--cache-dir', workspace()], 'run', right);
    expect(statuses(restored)).toEqual(all('restored'));
    expect(reasonOf(restored, 'other')).toMatch(/from the remote cache$/);
    expectSameOutputs(a, b);

    for (const wrong of [{ PROV_MAKE_REMOTE_TOKEN: 'not-the-token' }, {}]) {
      const c = clone(a);
      const r = runJson(c, ['--remote', url, '--cache-dir', workspace()], 'run', wrong);
      expect(r.code, r.stderr).toBe(0);
      expect(r.ok).toBe(true);
      expect(statuses(r)).toEqual(all('ran'));
      expect(r.stderr).toMatch(/prov-make: warning: remote cache refused access \(HTTP 401\)/);
      // Said once, not once per request.
      expect(r.stderr.match(/HTTP 401/g)).toHaveLength(1);
      expectSameOutputs(a, c);
    }
    expect(remoteFiles('tok', 'bearer')).toEqual(stored);
  });

  it('basic auth: user:password in the URL or PROV_MAKE_REMOTE_USER/PASSWORD; a wrong password only warns and never shows up in the output', () => {
    const base = new URL(`${nginx.url('basic')}pw/`);
    const inUrl = `http://${BASIC_USER}:${BASIC_PASSWORD}@${base.host}${base.pathname}`;
    const a = workspace(SHELL_SOURCES);
    const first = runJson(a, ['--remote', inUrl]);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stderr).not.toMatch(/warning/);
    const stored = remoteFiles('pw', 'basic');
    expect(stored.filter((f) => f.startsWith('ac/'))).toHaveLength(8);

    const b = clone(a);
    const restored = runJson(b, ['--remote', base.toString(), '--cache-dir', workspace()], 'run', { PROV_MAKE_REMOTE_USER: BASIC_USER, PROV_MAKE_REMOTE_PASSWORD: BASIC_PASSWORD });
    expect(statuses(restored)).toEqual(all('restored'));
    expect(reasonOf(restored, 'count')).toMatch(/from the remote cache$/);
    expectSameOutputs(a, b);

    const c = clone(a);
    const wrongUrl = `http://${BASIC_USER}:wrong-secret@${base.host}${base.pathname}`;
    const r = runJson(c, ['--remote', wrongUrl, '--cache-dir', workspace()]);
    expect(r.code, r.stderr).toBe(0);
    expect(statuses(r)).toEqual(all('ran'));
    expect(r.stderr).toMatch(/prov-make: warning: remote cache refused access \(HTTP 401\)/);
    expect(r.stderr).not.toContain('wrong-secret');

    const d = clone(a);
    const r2 = runJson(d, ['--remote', base.toString(), '--cache-dir', workspace()], 'run', { PROV_MAKE_REMOTE_USER: BASIC_USER, PROV_MAKE_REMOTE_PASSWORD: 'nope' });
    expect(r2.code, r2.stderr).toBe(0);
    expect(statuses(r2)).toEqual(all('ran'));
    expect(r2.stderr).toMatch(/HTTP 401/);
    expect(remoteFiles('pw', 'basic')).toEqual(stored);
  });
});
