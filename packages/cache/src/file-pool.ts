/**
 * Hashing and copying files on every core: worker threads, each running batches of per-file work
 * (file-ops.ts) in a synchronous loop while the main thread records. Synchronous calls in a worker
 * beat libuv's pool through fs.promises here (20,000 small files kept: 2 workers ~35 us a file,
 * one synchronous thread ~40-65 us, fs.promises with 16 in flight ~200 us; RESULTS.md, issue 12).
 * A small job runs on the calling thread: starting a worker (~30 ms with its wasm hasher) costs
 * more than a few files. PROV_MAKE_FILE_WORKERS sets the number of workers (0: none).
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { jobLength, jobSlice, revive, runJob, type FileJob, type JobMessage, type JobResults, type Outcome } from './file-jobs.js';
import { FileOps, type StoreLayout } from './file-ops.js';
import { loadHasher } from './hash.js';

/** Items per message: large enough to pay for the message, small enough to share a job between workers. */
const BATCH = 256;
/** Jobs up to this many items run on the calling thread. */
const IN_PROCESS_UP_TO = 32;
const MAX_WORKERS = 4;

interface Batch {
  message: JobMessage;
  resolve(results: Outcome<unknown>[]): void;
  reject(err: Error): void;
}

// Resolved from the package's dist folder whether this module runs from dist or (tests) from src.
const WORKER_SCRIPT = new URL('../dist/file-worker.js', import.meta.url);

let shared: FilePool | undefined;

export class FilePool {
  private readonly idle: Worker[] = [];
  private readonly busy = new Map<Worker, Batch>();
  private readonly queue: Batch[] = [];
  private readonly local = new Map<string, Promise<FileOps>>();
  private readonly umask = process.umask();
  private nextId = 0;

  constructor(private readonly size: number) {}

  /** The process's pool (workers start on first use and never keep the process alive). */
  static shared(): FilePool {
    const wanted = Number(process.env.PROV_MAKE_FILE_WORKERS);
    return (shared ??= new FilePool(Number.isInteger(wanted) && wanted >= 0 ? wanted : Math.min(MAX_WORKERS, availableParallelism())));
  }

  /** Runs a job in batches over the workers; each item's value, in item order (the first failure is thrown). */
  async run<K extends FileJob['op']>(layout: StoreLayout, job: Extract<FileJob, { op: K }>): Promise<JobResults[K][]> {
    return FilePool.values(await this.outcomes(layout, job));
  }

  /** The values of outcomes, or the first one's error thrown as what it was. */
  static values<T>(outcomes: Outcome<unknown>[]): T[] {
    return outcomes.map((o) => {
      if ('error' in o) throw revive(o.error);
      return o.value as T;
    });
  }

  /** Each item's outcome, in item order. */
  async outcomes(layout: StoreLayout, job: FileJob): Promise<Outcome<unknown>[]> {
    const n = jobLength(job);
    if (n <= IN_PROCESS_UP_TO || this.size === 0) return runJob(await this.localOps(layout), job);
    const per = Math.min(BATCH, Math.ceil(n / this.size));
    const parts: Promise<Outcome<unknown>[]>[] = [];
    for (let at = 0; at < n; at += per) parts.push(this.submit({ id: this.nextId++, layout, umask: this.umask, job: jobSlice(job, at, at + per) }));
    return (await Promise.all(parts)).flat();
  }

  private localOps(layout: StoreLayout): Promise<FileOps> {
    const key = `${layout.casDir}\0${layout.tempDir}`;
    let ops = this.local.get(key);
    if (!ops) this.local.set(key, (ops = loadHasher().then((h) => new FileOps(h, layout, this.umask))));
    return ops;
  }

  private submit(message: JobMessage): Promise<Outcome<unknown>[]> {
    return new Promise((resolve, reject) => {
      this.queue.push({ message, resolve, reject });
      this.dispatch();
    });
  }

  private dispatch(): void {
    while (this.queue.length > 0) {
      const worker = this.idle.pop() ?? (this.busy.size < this.size ? this.start() : undefined);
      if (!worker) return;
      const batch = this.queue.shift()!;
      this.busy.set(worker, batch);
      worker.ref();
      worker.postMessage(batch.message);
    }
  }

  private start(): Worker {
    const worker = new Worker(WORKER_SCRIPT);
    worker.on('message', (reply: { id: number; results: Outcome<unknown>[] }) => {
      const batch = this.busy.get(worker);
      this.busy.delete(worker);
      worker.unref();
      this.idle.push(worker);
      batch?.resolve(reply.results);
      this.dispatch();
    });
    const lost = (err: Error) => {
      const batch = this.busy.get(worker);
      this.busy.delete(worker);
      const at = this.idle.indexOf(worker);
      if (at >= 0) this.idle.splice(at, 1);
      batch?.reject(err);
      this.dispatch();
    };
    worker.on('error', lost);
    worker.on('exit', (code) => lost(new Error(`a file worker stopped (exit code ${code})`)));
    return worker;
  }
}
