// A remote cache over plain HTTP with Bazel's layout: GET/PUT /ac/<sha256> for entries and
// /cas/<sha256> for blobs (200 hit; 404 or 204 miss; 200/201/204 stored). An nginx WebDAV location
// or bazel-remote serves it. A remote is not trusted: replies are bounded in size (an entry is read
// into memory up to maxEntryBytes; a blob is streamed to disk and cut at the size its entry gives),
// every blob is checked against its SHA-256 by the caller, and a run waits for the remote at most
// budgetMs in all. A remote that is down, slow or broken only costs a warning: after the first
// network failure, or once the budget is spent, it is not asked again until the next run.
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
  /** The largest action-cache document (entry or path-set index) accepted (default 16 MiB). */
  maxEntryBytes?: number;
  /** The largest blob accepted (default 16 GiB); a blob is also refused past the size its entry gives. */
  maxBlobBytes?: number;
  /** Time one run may spend waiting for the remote, all requests together (default 60 s). */
  budgetMs?: number;
  /** Where warnings go (default: stderr). */
  warn?: (message: string) => void;
}

type Limits = Required<Pick<RemoteCacheOptions, 'timeoutMs' | 'maxEntryBytes' | 'maxBlobBytes' | 'budgetMs'>>;

export const REMOTE_DEFAULTS: Readonly<Limits> = {
  timeoutMs: 10_000,
  maxEntryBytes: 16 * 1024 * 1024,
  maxBlobBytes: 16 * 1024 * 1024 * 1024,
  budgetMs: 60_000,
};

type Kind = 'ac' | 'cas';

/** A reply body over its limit: the request is abandoned, the reply is a miss. */
class TooLargeError extends Error {}

export class RemoteCache {
  private readonly base: string;
  private readonly headers: Record<string, string> = {};
  private disabled = false;
  /** Blobs this process found corrupt on the remote: uploaded again without asking whether it has them. */
  private readonly rejected = new Set<string>();
  readonly readOnly: boolean;
  private readonly limits: Limits;
  private readonly warn: (m: string) => void;
  /** Time spent on requests in this run (ms, requests in flight together counted each). */
  private spentMs = 0;

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
    const pick = (k: keyof Limits) => options[k] ?? REMOTE_DEFAULTS[k];
    this.limits = { timeoutMs: pick('timeoutMs'), maxEntryBytes: pick('maxEntryBytes'), maxBlobBytes: pick('maxBlobBytes'), budgetMs: pick('budgetMs') };
    this.warn = options.warn ?? ((m) => process.stderr.write(`prov-make: warning: ${m}\n`));
  }

  get usable(): boolean {
    return !this.disabled;
  }

  /** A new run: the remote is asked again (it may be back) with a full time budget. */
  beginRun(): void {
    this.disabled = false;
    this.spentMs = 0;
  }

  private url(kind: Kind, key: string): string {
    if (!SHA256_RE.test(key)) throw new Error(`not a SHA-256 key: ${key}`);
    return `${this.base}/${kind}/${key}`;
  }

  private disable(message: string) {
    if (!this.disabled) this.warn(message);
    this.disabled = true;
  }

  /**
   * One request, its body handled by `read` within the same time limit: the smaller of the
   * per-request timeout and what is left of the run's budget. Null when the remote failed (it is
   * disabled) or `read` gave up.
   */
  private async exchange<T>(method: string, url: string, body: BodyInit | undefined, read: (res: Response) => Promise<T>): Promise<T | null> {
    const left = this.limits.budgetMs - this.spentMs;
    if (this.disabled || left <= 0) return null;
    const limitMs = Math.min(this.limits.timeoutMs, left);
    const started = Date.now();
    try {
      const init = { method, headers: this.headers, body, signal: AbortSignal.timeout(limitMs), duplex: 'half' } as RequestInit;
      return await read(await fetch(url, init));
    } catch (err) {
      if (err instanceof TooLargeError) {
        this.warn(err.message);
        return null;
      }
      if (!isRemoteFailure(err)) throw err; // a local one: the caller's to report (a full cache folder)
      if ((err as Error).name !== 'TimeoutError') {
        this.disable(`remote cache ${this.base} is unreachable (${(err as { cause?: Error }).cause?.message ?? (err as Error).message}); going on without it`);
      } else if (limitMs < this.limits.timeoutMs) {
        this.spentMs = this.limits.budgetMs; // reported below
      } else {
        this.disable(`remote cache ${this.base} is unreachable (no answer within ${limitMs} ms); going on without it`);
      }
      return null;
    } finally {
      this.spentMs += Date.now() - started;
      if (this.spentMs >= this.limits.budgetMs) {
        this.disable(`the remote cache ${this.base} took ${Math.round(this.spentMs / 1000)} s of this run, its budget (--remote-budget): it is skipped for the rest of the run`);
      }
    }
  }

  /** A miss (null) unless the reply is 200; says why when that is not a plain miss. */
  private found(res: Response, what: string, method = 'download'): boolean {
    if (res.status === 200) return true;
    void res.body?.cancel().catch(() => undefined);
    if (res.status === 404 || res.status === 204) return false;
    if (res.status === 401 || res.status === 403) this.disable(`remote cache refused access (HTTP ${res.status}): check the token or user and password`);
    else this.warn(`remote cache answered HTTP ${res.status} to the ${method} of ${what}; treated as a miss`);
    return false;
  }

  /** An action-cache document (at most maxEntryBytes), or null on a miss. */
  getEntry(key: string): Promise<Buffer | null> {
    const what = `ac/${key.slice(0, 12)}…`;
    return this.exchange('GET', this.url('ac', key), undefined, async (res) => {
      if (!this.found(res, what)) return null;
      const chunks: Uint8Array[] = [];
      for await (const chunk of bounded(res, this.limits.maxEntryBytes, what, '--remote-max-entry')) chunks.push(chunk);
      return Buffer.concat(chunks);
    });
  }

  /**
   * A blob's bytes as they arrive, to `keep` (which checks their SHA-256): at most `size` bytes
   * (the size its entry gives) and maxBlobBytes. Null on a miss or a failure, else what keep returned.
   */
  getBlob<T>(sha256: string, size: number, keep: (chunks: AsyncIterable<Uint8Array>) => Promise<T | null>): Promise<T | null> {
    const what = `cas/${sha256.slice(0, 12)}…`;
    if (size > this.limits.maxBlobBytes) {
      this.warn(`remote cache blob ${what} is ${size} bytes, over the limit of ${this.limits.maxBlobBytes} (--remote-max-blob); treated as a miss`);
      return Promise.resolve(null);
    }
    return this.exchange('GET', this.url('cas', sha256), undefined, async (res) => {
      if (!this.found(res, what)) return null;
      const kept = await keep(bounded(res, size, what, 'the size its cache entry gives'));
      if (kept === null) {
        this.rejected.add(sha256);
        this.warn(`remote cache blob ${what} is corrupt (its content does not hash to its name); rejected`);
      }
      return kept;
    });
  }

  private async put(kind: Kind, key: string, body: BodyInit): Promise<boolean> {
    if (this.readOnly) return false;
    const stored = await this.exchange('PUT', this.url(kind, key), body, async (res) => {
      await res.body?.cancel().catch(() => undefined);
      if (res.status === 200 || res.status === 201 || res.status === 204) return true;
      if (res.status === 401 || res.status === 403) this.disable(`remote cache refused an upload (HTTP ${res.status}): check the token or user and password, or use read-only mode`);
      else this.warn(`remote cache upload of ${kind}/${key.slice(0, 12)}… failed (HTTP ${res.status})`);
      return false;
    });
    return stored ?? false;
  }

  putEntry(key: string, body: Uint8Array | string): Promise<boolean> {
    return this.put('ac', key, typeof body === 'string' ? body : new Blob([body as Uint8Array<ArrayBuffer>]));
  }

  /** Uploads a blob unless the remote already has it (`open` gives it, read as it is sent). */
  async putBlob(sha256: string, open: () => Promise<Blob>): Promise<boolean> {
    if (this.readOnly || this.disabled) return false;
    if (!this.rejected.has(sha256)) {
      const has = await this.exchange('HEAD', this.url('cas', sha256), undefined, async (res) => res.status === 200);
      if (has) return true;
    }
    return this.put('cas', sha256, await open());
  }
}

/** A failure of the network or the server (fetch's TypeError, a timeout), not of this machine's disk. */
function isRemoteFailure(err: unknown): boolean {
  const name = (err as Error | undefined)?.name;
  return err instanceof TypeError || name === 'TimeoutError' || name === 'AbortError';
}

/** The body of a reply, refused (TooLargeError) once it passes `limit` bytes; its declared length is checked first. */
async function* bounded(res: Response, limit: number, what: string, limitName: string): AsyncGenerator<Uint8Array> {
  const tooLarge = (size: number | string) => new TooLargeError(`remote cache reply for ${what} is ${size} bytes, over the limit of ${limit} (${limitName}); treated as a miss`);
  const declared = Number(res.headers.get('content-length') ?? NaN);
  if (declared > limit) {
    void res.body?.cancel().catch(() => undefined);
    throw tooLarge(declared);
  }
  let received = 0;
  for await (const chunk of res.body ?? []) {
    received += chunk.byteLength;
    if (received > limit) throw tooLarge(`more than ${limit}`);
    yield chunk;
  }
}
