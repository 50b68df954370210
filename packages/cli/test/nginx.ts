/**
 * A real nginx (Debian's /usr/sbin/nginx) serving a Bazel-layout HTTP cache over WebDAV PUT, for the
 * remote cache tests. Everything it touches (config, pid, logs, temp folders, the served files) lives
 * in a temp prefix; it listens on 127.0.0.1 on a free port and is killed with `stop()`.
 *
 * Locations (each with its own folder under `root`):
 *   /cache/   open
 *   /bearer/  needs `Authorization: Bearer s3cret`
 *   /basic/   needs basic auth cache-user / cache-pass (htpasswd made with `openssl passwd -apr1`)
 *   /slow/    /cache/'s files, read-only, sent at 100 bytes a second
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { expect } from 'vitest';
import { runJson, statuses, workspace } from './cli-helpers.js';

export const NGINX = ['/usr/sbin/nginx', '/usr/bin/nginx'].find((p) => existsSync(p)) ?? 'nginx';
export const BEARER_TOKEN = 's3cret';
export const BASIC_USER = 'cache-user';
export const BASIC_PASSWORD = 'cache-pass';

export interface Nginx {
  port: number;
  prefix: string;
  /** Folder nginx serves: `<root>/cache`, `<root>/bearer`, `<root>/basic` hold what was PUT. */
  root: string;
  /** Base URL of a location: url('cache') = http://127.0.0.1:PORT/cache/ */
  url(location?: 'cache' | 'bearer' | 'basic' | 'slow'): string;
  /** Files (relative paths) stored under a location, e.g. `ac/<sha>` and `cas/<sha>`. */
  files(location?: 'cache' | 'bearer' | 'basic'): string[];
  /** Absolute path of a stored file. */
  file(rel: string, location?: 'cache' | 'bearer' | 'basic'): string;
  /** Requests nginx logged (method and URI), for "nothing was uploaded" checks. */
  accessLog(): string[];
  stop(): Promise<void>;
}

/** A TCP port nothing listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

function walk(dir: string, base = ''): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const rel = base ? `${base}/${name}` : name;
    const abs = join(dir, name);
    if (statSync(abs).isDirectory()) out.push(...walk(abs, rel));
    else out.push(rel);
  }
  return out.sort();
}

function config(prefix: string, root: string, port: number, dropDirectives: Set<string>): string {
  const dav = `dav_methods PUT; create_full_put_path on; dav_access user:rw group:r all:r; client_max_body_size 0;`;
  const lines = [
    `user root;`,
    `worker_processes 1;`,
    `pid ${prefix}/nginx.pid;`,
    `error_log ${prefix}/logs/error.log warn;`,
    `events { worker_connections 256; }`,
    `http {`,
    `  access_log ${prefix}/logs/access.log;`,
    `  client_body_temp_path ${prefix}/tmp/body;`,
    `  proxy_temp_path ${prefix}/tmp/proxy;`,
    `  fastcgi_temp_path ${prefix}/tmp/fastcgi;`,
    `  uwsgi_temp_path ${prefix}/tmp/uwsgi;`,
    `  scgi_temp_path ${prefix}/tmp/scgi;`,
    `  default_type application/octet-stream;`,
    `  server {`,
    `    listen 127.0.0.1:${port};`,
    `    location = /__prefix { default_type text/plain; return 200 "${prefix}"; }`,
    `    location /cache/ { root ${root}; ${dav} }`,
    `    location /bearer/ {`,
    `      if ($http_authorization != "Bearer ${BEARER_TOKEN}") { return 401; }`,
    `      root ${root}; ${dav}`,
    `    }`,
    // the cache's files, read-only and slowly (the remote's time budget)
    `    location /slow/ { alias ${root}/cache/; limit_rate 100; }`,
    `    location /basic/ {`,
    `      auth_basic "prov-make cache"; auth_basic_user_file ${prefix}/conf/htpasswd;`,
    `      root ${root}; ${dav}`,
    `    }`,
    `  }`,
    `}`,
  ];
  return lines.filter((l) => ![...dropDirectives].some((d) => l.trim().startsWith(`${d} `))).join('\n') + '\n';
}

/** Starts nginx; rejects with its error log if it does not come up. */
export async function startNginx(): Promise<Nginx> {
  const prefix = realpathSync(mkdtempSync(join(tmpdir(), 'pm-nginx-')));
  const root = join(prefix, 'www');
  for (const d of ['conf', 'logs', 'tmp', 'www/cache', 'www/bearer', 'www/basic']) mkdirSync(join(prefix, d), { recursive: true });
  const hash = spawnSync('openssl', ['passwd', '-apr1', BASIC_PASSWORD], { encoding: 'utf8' });
  if (hash.status !== 0) throw new Error(`openssl passwd failed: ${hash.stderr}`);
  writeFileSync(join(prefix, 'conf', 'htpasswd'), `${BASIC_USER}:${hash.stdout.trim()}\n`);

  let lastError = '';
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePort();
    // Temp-path directives of modules this nginx lacks are dropped (nginx -t names them).
    const drop = new Set<string>();
    for (;;) {
      writeFileSync(join(prefix, 'conf', 'nginx.conf'), config(prefix, root, port, drop));
      const t = spawnSync(NGINX, ['-p', prefix, '-c', 'conf/nginx.conf', '-t'], { encoding: 'utf8' });
      if (t.status === 0) break;
      const unknown = /unknown directive "(\w+)"/.exec(t.stderr);
      if (!unknown || drop.has(unknown[1])) throw new Error(`nginx -t failed:\n${t.stderr}`);
      drop.add(unknown[1]);
    }
    const child: ChildProcess = spawn(NGINX, ['-p', prefix, '-c', 'conf/nginx.conf', '-g', 'daemon off;'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr?.on('data', (b) => (stderr += b));
    let exited = false;
    child.on('exit', () => (exited = true));
    const ready = await waitReady(port, prefix, () => exited, 10_000);
    if (ready) return handle(child, prefix, root, port);
    child.kill('SIGKILL');
    lastError = stderr + (existsSync(join(prefix, 'logs/error.log')) ? readFileSync(join(prefix, 'logs/error.log'), 'utf8') : '');
  }
  throw new Error(`nginx did not start:\n${lastError}`);
}

/** Ready when the server on the port is this nginx (not another test file's that won the port). */
async function waitReady(port: number, prefix: string, exited: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end && !exited()) {
    try {
      const res = await fetch(`http://127.0.0.1:${port}/__prefix`, { signal: AbortSignal.timeout(1000) });
      if ((await res.text()) === prefix && !exited()) return true;
    } catch {
      /* not yet */
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}

function handle(child: ChildProcess, prefix: string, root: string, port: number): Nginx {
  return {
    port,
    prefix,
    root,
    url: (location = 'cache') => `http://127.0.0.1:${port}/${location}/`,
    files: (location = 'cache') => walk(join(root, location)),
    file: (rel, location = 'cache') => join(root, location, rel),
    accessLog: () => {
      const f = join(prefix, 'logs', 'access.log');
      if (!existsSync(f)) return [];
      return readFileSync(f, 'utf8')
        .split('\n')
        .map((l) => /"(\w+) (\S+) HTTP\/[\d.]+" (\d+)/.exec(l))
        .filter((m): m is RegExpExecArray => m !== null)
        .map((m) => `${m[1]} ${m[2]} ${m[3]}`);
    },
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        const gone = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
        await gone;
        clearTimeout(timer);
      }
      rmSync(prefix, { recursive: true, force: true });
    },
  };
}

// ---------------------------------------------------------------------------------------------------
// Fixtures shared by the cache-*.test.ts files.

/** Four shell steps: a transform, a folder listing, a consumer of the first, and an independent one. */
export const SHELL_PIPELINE = `steps:
  upper:
    run: mkdir -p build && tr a-z A-Z < src/a.txt > build/upper.txt
  listing:
    run: mkdir -p build && ls src > build/files.txt
  count:
    run: wc -c < build/upper.txt > build/count.txt
  other:
    run: mkdir -p build && cat src/b.txt src/b.txt > build/other.txt
`;

export const SHELL_SOURCES: Record<string, string> = {
  'pipeline.yml': SHELL_PIPELINE,
  'src/a.txt': 'hello portable cache\n',
  'src/b.txt': 'an unrelated input\n',
};

/** Outputs of SHELL_PIPELINE, by the step that makes each. */
export const SHELL_OUTPUTS: Record<string, string> = {
  upper: 'build/upper.txt',
  listing: 'build/files.txt',
  count: 'build/count.txt',
  other: 'build/other.txt',
};

/** Every JSON document of an action cache folder (`<dir>/ac/..`): entries carry `step` and `outputs`. */
export function acDocuments(acRoot: string): { rel: string; file: string; doc: { step?: string; outputs?: { kind: string; path: string; hash: string; sha256: string }[]; pathSets?: unknown[] } }[] {
  return walk(acRoot)
    .filter((rel) => !rel.endsWith('.tmp'))
    .map((rel) => ({ rel, file: join(acRoot, rel), doc: JSON.parse(readFileSync(join(acRoot, rel), 'utf8')) }));
}

/** A fresh clone of the sources into `<new temp>/<sub>` (so "../" from the workspace lands in a folder we watch). */
export function clone(from: string, sub = ''): { root: string; ws: string } {
  const root = workspace();
  const ws = sub ? join(root, sub) : root;
  mkdirSync(ws, { recursive: true });
  cpSync(from, ws, { recursive: true, filter: (src) => !/^(\.prov-make|build)(\/|$)/.test(relative(from, src)) });
  return { root, ws };
}

/** A workspace uploads SHELL_PIPELINE (or `sources`) to its own namespace on the remote; returns it and the namespace URL. */
export function uploadShellPipeline(nginx: Nginx, ns: string, sources = SHELL_SOURCES): { a: string; url: string } {
  const url = `${nginx.url('cache')}${ns}/`;
  const a = workspace(sources);
  const r = runJson(a, ['--remote', url]);
  expect(r.code, r.stderr).toBe(0);
  expect(new Set(Object.values(statuses(r)))).toEqual(new Set(['ran']));
  return { a, url };
}

/** The remote's entry document of a step (the JSON file on the nginx side). */
export function remoteEntryOf(nginx: Nginx, ns: string, step: string) {
  const found = acDocuments(nginx.file(`${ns}/ac`)).filter((d) => d.doc.step === step);
  expect(found).toHaveLength(1);
  return found[0];
}
