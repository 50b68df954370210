#!/usr/bin/env node
import { main } from '../dist/main.js';
import { commandLineArgs } from '../dist/raw-argv.js';

// `prov-make why out.csv | head`: a closed pipe ends the output, not with a crash.
process.stdout.on('error', (err) => { if (err.code === 'EPIPE') process.exit(0); throw err; });

main(commandLineArgs()).then(
  (code) => { process.exitCode = code; },
  (err) => { console.error(`prov-make: internal error: ${err?.stack ?? err}`); process.exitCode = 70; },
);
