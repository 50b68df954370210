/**
 * Reading the pipeline file: a regular file, or a pipe this process was given (`-f -` for standard
 * input, `-f <(...)` for a shell's process substitution, which names it /dev/fd/N), read whole up to
 * MAX_PIPELINE_BYTES. A FIFO in the file system (opening it would wait for a writer) or a device
 * (/dev/zero never ends) is refused with a message. A piped pipeline's workspace is the working
 * folder, and its bytes are read once and kept: a pipe cannot be read twice.
 */
import { closeSync, constants, fstatSync, openSync, readSync, statSync, type Stats } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { isatty } from 'node:tty';
import { PipelineError } from './errors.js';

/** A pipeline file bigger than this is refused: it is parsed whole, in memory. */
export const MAX_PIPELINE_BYTES = 256 * 1024 * 1024;

/** What `-f -` stands for. */
export const STDIN_PATH = '/dev/stdin';

const CHUNK = 256 * 1024;

/** A descriptor this process was given (standard input, a process substitution), not a file in a folder. */
export function isStreamPath(file: string): boolean {
  return file === STDIN_PATH || /^\/(dev|proc\/self)\/fd\/\d+$/.test(file);
}

/** The workspace of a pipeline file: its folder, or the working folder for one given on a pipe. */
export function workspaceRootOf(file: string): string {
  return isStreamPath(file) ? resolve(process.cwd()) : dirname(resolve(file));
}

const streamed = new Map<string, Buffer>();

/** What a file is when it is not one to read, or null (a folder is left to the read's EISDIR, whose message names the pipeline file in it). */
function kindOf(st: Stats): string | null {
  if (st.isFile() || st.isDirectory()) return null;
  if (st.isFIFO()) return 'a FIFO (a named pipe)';
  if (st.isCharacterDevice() || st.isBlockDevice()) return 'a device';
  if (st.isSocket()) return 'a socket';
  return 'not a regular file';
}

function notAFile(file: string, kind: string): PipelineError {
  return new PipelineError({
    code: 'file-unreadable',
    file,
    problem: `the pipeline file is ${kind}, not a regular file`,
    fix: 'pass a regular file, or give the pipeline on standard input: prov-make run -f - < pipeline.yml (or -f <(command))',
  });
}

function tooLarge(file: string): PipelineError {
  return new PipelineError({
    code: 'file-too-large',
    file,
    problem: `the pipeline file is larger than ${MAX_PIPELINE_BYTES / 1024 / 1024} MiB`,
    fix: 'is this the right file? A pipeline this large is better split, or its long commands moved into scripts',
  });
}

/** Reads up to MAX_PIPELINE_BYTES + 1 bytes: more is refused, whatever the file says its size is. */
function readBounded(fd: number, file: string): Buffer {
  const chunks: Buffer[] = [];
  let total = 0;
  for (;;) {
    const chunk = Buffer.allocUnsafe(CHUNK);
    let n: number;
    try {
      n = readSync(fd, chunk, 0, CHUNK, null);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') throw err;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10); // a non-blocking pipe with nothing yet
      continue;
    }
    if (n === 0) return Buffer.concat(chunks, total);
    total += n;
    if (total > MAX_PIPELINE_BYTES) throw tooLarge(file);
    chunks.push(chunk.subarray(0, n));
  }
}

function readOnce(file: string, stream: boolean): Buffer {
  // A FIFO is refused before it is opened: opening it would wait for a writer.
  if (!stream) {
    const kind = kindOf(statSync(file));
    if (kind) throw notAFile(file, kind);
  }
  const fd = openSync(file, constants.O_RDONLY | (stream ? 0 : constants.O_NONBLOCK));
  try {
    const st = fstatSync(fd);
    const kind = kindOf(st);
    // given on a pipe, a terminal (typed in) or a socket: read to its end; /dev/zero would never end
    const piped = stream && (st.isFIFO() || st.isSocket() || isatty(fd));
    if (kind && !piped) throw notAFile(file, kind);
    if (st.isFile() && st.size > MAX_PIPELINE_BYTES) throw tooLarge(file);
    return readBounded(fd, file);
  } finally {
    closeSync(fd);
    // Node 20's realpathSync (and so the resolution of every later import through a symlink, as
    // pnpm makes them) reads the last stat taken by any call: a pipe's makes it stop resolving
    // links. One stat of a folder puts that right.
    if (stream) statSync('/');
  }
}

/**
 * The pipeline file's bytes (a piped one read once, then kept). Throws PipelineError for a FIFO, a
 * device or a file over the limit, and Node's error (ENOENT, EACCES, EISDIR) otherwise.
 */
export function readPipelineFile(file: string): Buffer {
  if (!isStreamPath(file)) return readOnce(file, false);
  let bytes = streamed.get(file);
  if (!bytes) streamed.set(file, (bytes = readOnce(file, true)));
  return bytes;
}
