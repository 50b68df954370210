#!/usr/bin/env node
// trace-child.mjs - the launcher alone, in a process of its own so that its memory can be measured:
// runs one command under the interposer API's traceCommand and prints one JSON line
// { ms, exitCode, rssBeforeKiB, maxRssKiB, reads, writes, fullyObserved } where ms is spawn to
// result (the logs read and reduced) and maxRssKiB this process's peak RSS (the command's own
// memory is not in it).
//
//   node bench/trace-child.mjs [--dist PATH] -- COMMAND [ARG...]
import { defaultDistPath, loadTracer, msSince, nowNs, runMain } from './lib.mjs';

await runMain(async () => {
  const argv = process.argv.slice(2);
  const sep = argv.indexOf('--');
  const distAt = argv.indexOf('--dist');
  const distPath = distAt >= 0 && distAt < sep ? argv[distAt + 1] : defaultDistPath;
  const cmd = argv.slice(sep + 1);
  const { traceCommand } = await loadTracer({ distPath });
  const rssBeforeKiB = process.resourceUsage().maxRSS;
  const start = nowNs();
  const result = await traceCommand(cmd, { cwd: process.cwd(), env: process.env, stdio: 'ignore' });
  const ms = msSince(start);
  console.log(JSON.stringify({
    ms,
    exitCode: result.exitCode,
    rssBeforeKiB,
    maxRssKiB: process.resourceUsage().maxRSS,
    reads: result.deps.reads.length,
    writes: result.deps.writes.length,
    fullyObserved: result.fullyObserved,
  }));
});
