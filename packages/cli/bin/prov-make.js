#!/usr/bin/env node
import { main } from '../dist/main.js';
import { commandLineArgs } from '../dist/raw-argv.js';

// `prov-make why out.csv | head`: a closed pipe ends the output, not with a crash. A closed terminal
// (EIO) comes with a SIGHUP, which stops the run's steps and removes the lock: a write must not crash first.
process.stdout.on('error', (err) => { if (err.code === 'EPIPE') process.exit(0); if (err.code !== 'EIO') throw err; });
process.stderr.on('error', (err) => { if (err.code !== 'EIO' && err.code !== 'EPIPE') throw err; });

main(commandLineArgs()).then(
  (code) => { process.exitCode = code; },
  (err) => { console.error(`prov-make: internal error: ${err?.stack ?? err}`); process.exitCode = 70; },
);
