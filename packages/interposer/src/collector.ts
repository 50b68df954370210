/**
 * Reading a big trace log natively (pm-collect, native/collect.h) instead of here: a step that opens
 * 100,000 files leaves 100,000 records, which cost ~10 us each to parse, reduce and look at the disk
 * for in JavaScript, and as many objects. Once the log has grown past FOLLOW_FROM while the step
 * runs, pm-collect follows it (parsing as the records come); a log that ends up past READ_FROM is
 * read by it after the step. Smaller logs are read here: starting a program costs ~2-3 ms.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync, readSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LOG_LAYOUT } from './logs.js';
import { REPEATABLE } from './reduce.js';
import { readSummary, type TraceSummary } from './summary.js';

/** The native reader of big logs, built with the interposer. */
export const collectProgram = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'native', 'build', 'pm-collect');

/** Log sizes (bytes) past which pm-collect follows the log while the step runs, or reads it after. */
export const FOLLOW_FROM = 1024 * 1024;
export const READ_FROM = 256 * 1024;
/** How often the log's size is looked at while the step runs. */
const WATCH_MS = 20;
const SUMMARY_FILE = 'summary.bin';

export class LogCollector {
  private readonly log: string;
  private readonly summary: string;
  private follower: { child: ChildProcess; done: Promise<boolean> } | null = null;
  private timer: NodeJS.Timeout | null = null;
  /** The log's inode when pm-collect opened it: a log removed or replaced since is read here, which reports it. */
  private ino: bigint | null = null;

  /** `sizes`: when to follow and when to read after (FOLLOW_FROM, READ_FROM; tests lower them). */
  constructor(logDir: string, private readonly sizes = { followFrom: FOLLOW_FROM, readFrom: READ_FROM }) {
    this.log = join(logDir, LOG_LAYOUT.file);
    this.summary = join(logDir, SUMMARY_FILE);
  }

  /** Looks at the log's size as the step runs, and starts following it once it is big. */
  watch(): void {
    if (!existsSync(collectProgram)) return;
    this.timer = setInterval(() => {
      if (logSize(this.log) < this.sizes.followFrom) return;
      this.stopWatching();
      this.follower = this.start(true);
    }, WATCH_MS);
    this.timer.unref();
  }

  /** The step has ended: the summary of its log, or null when the log is small (or pm-collect failed): read it here. */
  async finish(): Promise<TraceSummary | null> {
    this.stopWatching();
    let run = this.follower;
    if (run) run.child.stdin?.end();
    else if (existsSync(collectProgram) && logSize(this.log) >= this.sizes.readFrom) run = this.start(false);
    if (!run || !(await run.done) || this.ino !== inodeOf(this.log)) return null;
    try {
      return readSummary(this.summary);
    } catch {
      return null;
    }
  }

  private stopWatching(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  private start(follow: boolean): { child: ChildProcess; done: Promise<boolean> } {
    this.ino = inodeOf(this.log);
    const args = [...(follow ? ['--follow'] : []), '--repeatable', REPEATABLE.join(''), this.log, this.summary];
    const child = spawn(collectProgram, args, { stdio: [follow ? 'pipe' : 'ignore', 'ignore', 'ignore'] });
    const done = new Promise<boolean>((settle) => {
      child.once('error', () => settle(false));
      child.once('close', (code) => settle(code === 0));
    });
    // a follower whose standard input is gone (the step ended, or this process is going) finishes
    child.stdin?.on('error', () => undefined);
    return { child, done };
  }
}

function inodeOf(file: string): bigint | null {
  return statSync(file, { bigint: true, throwIfNoEntry: false })?.ino ?? null;
}

/** The log's used size (its header's `next`), 0 when it cannot be read. */
function logSize(log: string): number {
  const buf = Buffer.alloc(8);
  try {
    const fd = openSync(log, 'r');
    try {
      return readSync(fd, buf, 0, 8, LOG_LAYOUT.header.next) === 8 ? Number(buf.readBigUInt64LE(0)) : 0;
    } finally {
      closeSync(fd);
    }
  } catch {
    return 0;
  }
}
