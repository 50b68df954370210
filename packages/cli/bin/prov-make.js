#!/usr/bin/env node
import { main } from '../dist/main.js';

// `prov-make why out.csv | head`: a closed pipe ends the output, not with a crash.
process.stdout.on('error', (err) => { if (err.code === 'EPIPE') process.exit(0); throw err; });

main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (err) => { console.error(`prov-make: internal error: ${err?.stack ?? err}`); process.exitCode = 70; },
);
