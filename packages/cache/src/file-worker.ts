/** A file worker (file-pool.ts): runs each batch it is sent (file-jobs.ts) and sends back the outcomes. */
import { parentPort } from 'node:worker_threads';
import { runJob, type JobMessage } from './file-jobs.js';
import { FileOps } from './file-ops.js';
import { loadHasher } from './hash.js';

const hasher = await loadHasher();
const stores = new Map<string, FileOps>();

parentPort!.on('message', (m: JobMessage) => {
  const key = `${m.layout.casDir}\0${m.layout.tempDir}`;
  let ops = stores.get(key);
  if (!ops) stores.set(key, (ops = new FileOps(hasher, m.layout, m.umask)));
  parentPort!.postMessage({ id: m.id, results: runJob(ops, m.job) });
});
