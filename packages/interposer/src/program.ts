/**
 * What a program is before it runs: whether LD_PRELOAD can enter it, and if not, why, and whether
 * the ptrace supervisor can trace it. The same test as untraced_reason() in native/program.c, minus
 * file capabilities (no xattr API here); the launcher uses it for the command it starts itself,
 * which no exec wrapper sees.
 */
import { closeSync, fstatSync, openSync, readSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { RECORD, type UntracedProgram } from './types.js';

const WHY = RECORD.why;
const HEAD = 4096;
const PT_INTERP = 3;
const PT_NOTE = 4;
const NT_GO_BUILDID = 4;
/** This machine's ELF e_machine and glibc loader (the interposer is built for it). */
const HOST: { machine: number; loader: string } | undefined = {
  x64: { machine: 62, loader: 'ld-linux-x86-64.so.2' },
  arm64: { machine: 183, loader: 'ld-linux-aarch64.so.1' },
}[process.arch as string];

/** The reasons the supervisor takes over: native code of this machine that LD_PRELOAD cannot enter. */
export function supervisorTraces(reason: UntracedProgram['reason']): boolean {
  return reason === WHY.static || reason === WHY.go || reason === WHY.loader;
}

/** The program `file` would run, found as execvp finds it, or null. */
function findProgram(file: string, cwd: string, env: NodeJS.ProcessEnv): string | null {
  if (file.includes('/')) return resolve(cwd, file);
  for (const dir of (env.PATH ?? '/usr/local/bin:/usr/bin:/bin').split(':')) {
    const candidate = resolve(cwd, dir || '.', file);
    try {
      const st = statSync(candidate);
      if (st.isFile() && st.mode & 0o111) return candidate;
    } catch {
      // not in this folder
    }
  }
  return null;
}

function read(fd: number, length: number, position: number): Buffer {
  const buf = Buffer.alloc(length);
  return buf.subarray(0, readSync(fd, buf, 0, length, position));
}

/** A note named "Go" of type 4 (the Go build ID) in the PT_NOTE segment at `offset`. */
function hasGoNote(head: Buffer, offset: number, size: number): boolean {
  const end = Math.min(offset + size, head.length);
  for (let at = offset; at + 12 <= end; ) {
    const [namesz, descsz, type] = [head.readUInt32LE(at), head.readUInt32LE(at + 4), head.readUInt32LE(at + 8)];
    if (namesz === 3 && type === NT_GO_BUILDID && head.toString('latin1', at + 12, at + 14) === 'Go') return true;
    at += 12 + ((namesz + 3) & ~3) + ((descsz + 3) & ~3);
  }
  return false;
}

/** Sections only Go's linker makes (.gopclntab, .go.buildinfo, .note.go.buildid...). */
function hasGoSections(fd: number, head: Buffer): boolean {
  const shoff = Number(head.readBigUInt64LE(40));
  const [shentsize, shnum, shstrndx] = [head.readUInt16LE(58), head.readUInt16LE(60), head.readUInt16LE(62)];
  if (shentsize !== 64 || shstrndx === 0 || shstrndx >= shnum) return false;
  const names = read(fd, 64, shoff + shstrndx * 64);
  if (names.length < 64) return false;
  const text = read(fd, Math.min(Number(names.readBigUInt64LE(32)), 2047), Number(names.readBigUInt64LE(24))).toString('latin1');
  return text.split('\0').some((s) => s === '.gopclntab' || s.startsWith('.go.') || s === '.note.go.buildid');
}

/** The program interpreter at `offset` is glibc's loader (or beyond the bytes read: assumed so). */
function isGlibcLoader(head: Buffer, offset: number, size: number): boolean {
  if (!HOST || offset + size > head.length) return true;
  const loader = head.toString('latin1', offset, offset + size).replace(/\0.*$/s, '');
  return loader.slice(loader.lastIndexOf('/') + 1) === HOST.loader;
}

/** Why a 64-bit ELF program escapes: another machine's, a Go program, no program interpreter
 * (static), or another loader (musl's). */
function elf64Reason(fd: number, head: Buffer): UntracedProgram['reason'] | null {
  if (head.length < 64) return null;
  if (!HOST || head.readUInt16LE(18) !== HOST.machine) return WHY.architecture; // run by an emulator
  const phoff = Number(head.readBigUInt64LE(32));
  const [phentsize, phnum] = [head.readUInt16LE(54), head.readUInt16LE(56)];
  let interp = false;
  let glibc = true;
  for (let i = 0; i < phnum; i++) {
    const off = phoff + i * phentsize;
    if (off + 56 > head.length) return null; // headers beyond what was read: assume traced
    const [type, at, size] = [head.readUInt32LE(off), Number(head.readBigUInt64LE(off + 8)), Number(head.readBigUInt64LE(off + 32))];
    if (type === PT_INTERP) [interp, glibc] = [true, isGlibcLoader(head, at, size)];
    if (type === PT_NOTE && hasGoNote(head, at, size)) return WHY.go;
  }
  if (hasGoSections(fd, head)) return WHY.go;
  return !interp ? WHY.static : glibc ? null : WHY.loader;
}

/**
 * Why the program would escape LD_PRELOAD (static, Go, another loader or architecture, setuid/setgid
 * to someone else), or null.
 */
export function programEscape(file: string, cwd: string, env: NodeJS.ProcessEnv, depth = 0): UntracedProgram | null {
  const path = findProgram(file, cwd, env);
  if (!path) return null;
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return null;
  }
  try {
    const st = fstatSync(fd);
    if (st.mode & 0o4000 && st.uid !== process.geteuid?.()) return { path, reason: WHY.setuid };
    if (st.mode & 0o2000 && st.mode & 0o010 && st.gid !== process.getegid?.()) return { path, reason: WHY.setgid };
    const head = read(fd, HEAD, 0);
    if (head.length >= 2 && head[0] === 0x23 && head[1] === 0x21) {
      // a script: its interpreter is what runs
      const interp = head.toString('latin1', 2).split('\n')[0].trim().split(/[ \t]/)[0];
      if (!interp || depth >= 2) return null;
      const inner = programEscape(interp, cwd, env, depth + 1);
      return inner && { path, reason: inner.reason };
    }
    if (head.length < 16 || head.readUInt32BE(0) !== 0x7f454c46) return null;
    // a 32-bit program: neither the 64-bit interposer nor the supervisor can enter it
    const reason = head[4] === 1 ? WHY.architecture : head[4] === 2 ? elf64Reason(fd, head) : null;
    return reason && { path, reason };
  } finally {
    closeSync(fd);
  }
}
