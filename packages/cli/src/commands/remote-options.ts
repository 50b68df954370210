/**
 * The remote cache's options, from the command line and the environment (PROV_MAKE_REMOTE*), shared
 * by every command that may use the remote (run, status, watch).
 */
import type { RemoteCacheOptions } from '@prov-make/cache';
import { UsageError } from '../usage.js';

export const REMOTE_OPTIONS = {
  remote: { type: 'string' },
  'remote-read-only': { type: 'boolean' },
  'remote-budget': { type: 'string' },
  'remote-max-entry': { type: 'string' },
  'remote-max-blob': { type: 'string' },
} as const;

export const REMOTE_HELP = `  --remote URL        remote cache with Bazel's HTTP layout (/ac/, /cas/); or PROV_MAKE_REMOTE
                      auth: PROV_MAKE_REMOTE_TOKEN (bearer), or user:password in the URL, or
                      PROV_MAKE_REMOTE_USER and PROV_MAKE_REMOTE_PASSWORD (basic)
  --remote-read-only  use the remote cache but never upload (untrusted jobs); or PROV_MAKE_REMOTE_READ_ONLY=1
  --remote-budget S   seconds a run may wait for the remote in all, then goes on without it
                      (default 60; or PROV_MAKE_REMOTE_BUDGET)
  --remote-max-entry SIZE, --remote-max-blob SIZE
                      the largest entry (default 16M) and blob (default 16G) taken from the remote;
                      or PROV_MAKE_REMOTE_MAX_ENTRY, PROV_MAKE_REMOTE_MAX_BLOB`;

export type RemoteValues = { remote?: string; 'remote-read-only'?: boolean; 'remote-budget'?: string; 'remote-max-entry'?: string; 'remote-max-blob'?: string };

/** `500M`, `2G`, `100000` (bytes; k, M, G, T are powers of 1024). */
export function parseSize(text: string, option: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?$/i.exec(text.trim());
  if (!m) throw new UsageError(`${option} expects a size like 500M or 2G, not "${text}"`);
  const mult = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 }[m[2].toLowerCase() as '' | 'k' | 'm' | 'g' | 't'];
  return Math.floor(Number(m[1]) * mult);
}

function parseSeconds(text: string, option: string): number {
  const s = Number(text);
  if (text.trim() === '' || !Number.isFinite(s) || s < 0) throw new UsageError(`${option} expects a number of seconds, not "${text}"`);
  return Math.round(s * 1000);
}

/** A flag's value, else the variable's, parsed; undefined when neither is set. */
function valueOf<T>(flag: string | undefined, variable: string, option: string, parse: (text: string, option: string) => T): T | undefined {
  const text = flag ?? (process.env[variable] || undefined);
  return text === undefined ? undefined : parse(text, flag === undefined ? variable : option);
}

/** The remote cache from flags and environment (PROV_MAKE_REMOTE*), or undefined. */
export function remoteOptions(values: RemoteValues): RemoteCacheOptions | undefined {
  const url = values.remote ?? process.env.PROV_MAKE_REMOTE;
  if (!url) return undefined;
  try {
    new URL(url);
  } catch {
    throw new UsageError(`--remote expects an http(s) URL, not "${url}"`, 'example: --remote http://127.0.0.1:8080/cache');
  }
  const env = process.env;
  const timeout = Number(env.PROV_MAKE_REMOTE_TIMEOUT_MS);
  return {
    url,
    token: env.PROV_MAKE_REMOTE_TOKEN || undefined,
    user: env.PROV_MAKE_REMOTE_USER || undefined,
    password: env.PROV_MAKE_REMOTE_PASSWORD || undefined,
    readOnly: Boolean(values['remote-read-only']) || /^(1|true|yes)$/i.test(env.PROV_MAKE_REMOTE_READ_ONLY ?? ''),
    timeoutMs: Number.isFinite(timeout) && timeout > 0 ? timeout : undefined,
    budgetMs: valueOf(values['remote-budget'], 'PROV_MAKE_REMOTE_BUDGET', '--remote-budget', parseSeconds),
    maxEntryBytes: valueOf(values['remote-max-entry'], 'PROV_MAKE_REMOTE_MAX_ENTRY', '--remote-max-entry', parseSize),
    maxBlobBytes: valueOf(values['remote-max-blob'], 'PROV_MAKE_REMOTE_MAX_BLOB', '--remote-max-blob', parseSize),
  };
}
