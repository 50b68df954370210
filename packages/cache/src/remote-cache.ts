// A remote cache over plain HTTP with Bazel's layout: GET/PUT /ac/<sha256> for entries and
// /cas/<sha256> for blobs (200 hit; 404 or 204 miss; 200/201/204 stored). An nginx WebDAV location
// or bazel-remote serves it. Every downloaded blob is checked against its SHA-256; a remote that is
// down, slow or broken only costs a warning: after the first network failure it is not asked again
// in this process.
import { createHash } from 'node:crypto';
import { SHA256_RE } from './hash.js';

export interface RemoteCacheOptions {
  /** Base URL, e.g. http://127.0.0.1:8080/cache (credentials in the URL are used as basic auth). */
  url: string;
  /** Bearer token (Authorization: Bearer ...). */
  token?: string;
  /** Basic auth. */
  user?: string;
  password?: string;
  /** Never upload: for untrusted jobs (pull requests from forks). */
  readOnly?: boolean;
  /** Per request. */
  timeoutMs?: number;
  /** Where warnings go (default: stderr). */
  warn?: (message: string) => void;
}

export class RemoteCache {
  private readonly base: string;
  private readonly headers: Record<string, string> = {};
  private disabled = false;
  /** Blobs this process found corrupt on the remote: uploaded again without asking whether it has them. */
  private readonly rejected = new Set<string>();
  readonly readOnly: boolean;
  private readonly timeoutMs: number;
  private readonly warn: (m: string) => void;

  constructor(options: RemoteCacheOptions) {
    const u = new URL(options.url);
    let user = options.user;
    let password = options.password;
    if (u.username) {
      user = decodeURIComponent(u.username);
      password = decodeURIComponent(u.password);
      u.username = '';
      u.password = '';
    }
    this.base = u.toString().replace(/\/+$/, '');
    if (options.token) this.headers.authorization = `Bearer ${options.token}`;
    else if (user !== undefined) this.headers.authorization = `Basic ${Buffer.from(`${user}:${password ?? ''}`).toString('base64')}`;
    this.readOnly = Boolean(options.readOnly);
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.warn = options.warn ?? ((m) => process.stderr.write(`prov-make: warning: ${m}\n`));
  }

  get usable(): boolean {
    return !this.disabled;
  }

  private url(kind: 'ac' | 'cas', key: string): string {
    if (!SHA256_RE.test(key)) throw new Error(`not a SHA-256 key: ${key}`);
    return `${this.base}/${kind}/${key}`;
  }

  private async request(method: string, url: string, body?: Uint8Array): Promise<Response | null> {
    if (this.disabled) return null;
    try {
      return await fetch(url, { method, headers: this.headers, body: body as unknown as BodyInit | undefined, signal: AbortSignal.timeout(this.timeoutMs) });
    } catch (err) {
      this.disabled = true;
      const why = (err as Error).name === 'TimeoutError' ? `no answer within ${this.timeoutMs} ms` : ((err as { cause?: Error }).cause?.message ?? (err as Error).message);
      this.warn(`remote cache ${this.base} is unreachable (${why}); going on without it`);
      return null;
    }
  }

  private async get(kind: 'ac' | 'cas', key: string): Promise<Buffer | null> {
    const res = await this.request('GET', this.url(kind, key));
    if (!res) return null;
    if (res.status === 404 || res.status === 204) return null;
    if (res.status !== 200) {
      if (res.status === 401 || res.status === 403) this.disable(`remote cache refused access (HTTP ${res.status}): check the token or user and password`);
      else this.warn(`remote cache answered HTTP ${res.status} for ${kind}/${key.slice(0, 12)}…; treated as a miss`);
      return null;
    }
    try {
      return Buffer.from(await res.arrayBuffer());
    } catch (err) {
      this.warn(`remote cache download of ${kind}/${key.slice(0, 12)}… failed (${(err as Error).message}); treated as a miss`);
      return null;
    }
  }

  private disable(message: string) {
    if (!this.disabled) this.warn(message);
    this.disabled = true;
  }

  /** An action-cache document, or null on a miss. */
  getEntry(key: string): Promise<Buffer | null> {
    return this.get('ac', key);
  }

  /** A blob, verified: null (with a warning) when missing, truncated or not what its key says. */
  async getBlob(sha256: string): Promise<Buffer | null> {
    const bytes = await this.get('cas', sha256);
    if (!bytes) return null;
    const actual = createHash('sha256').update(bytes).digest('hex');
    if (actual !== sha256) {
      this.rejected.add(sha256);
      this.warn(`remote cache blob cas/${sha256.slice(0, 12)}… is corrupt (its content hashes to ${actual.slice(0, 12)}…); rejected`);
      return null;
    }
    return bytes;
  }

  private async put(kind: 'ac' | 'cas', key: string, body: Uint8Array): Promise<boolean> {
    if (this.readOnly) return false;
    const res = await this.request('PUT', this.url(kind, key), body);
    if (!res) return false;
    await res.arrayBuffer().catch(() => undefined);
    if (res.status === 200 || res.status === 201 || res.status === 204) return true;
    if (res.status === 401 || res.status === 403) this.disable(`remote cache refused an upload (HTTP ${res.status}): check the token or user and password, or use read-only mode`);
    else this.warn(`remote cache upload of ${kind}/${key.slice(0, 12)}… failed (HTTP ${res.status})`);
    return false;
  }

  putEntry(key: string, body: Uint8Array | string): Promise<boolean> {
    return this.put('ac', key, typeof body === 'string' ? Buffer.from(body) : body);
  }

  /** Uploads a blob unless the remote already has it (`read` gives its bytes, read only when needed). */
  async putBlob(sha256: string, read: () => Promise<Uint8Array>): Promise<boolean> {
    if (this.readOnly || this.disabled) return false;
    if (!this.rejected.has(sha256)) {
      const head = await this.request('HEAD', this.url('cas', sha256));
      if (head?.status === 200) return true;
    }
    return this.put('cas', sha256, await read());
  }
}
