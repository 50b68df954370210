/**
 * What a program is before it runs: whether LD_PRELOAD can enter it, and if not, whether the ptrace
 * supervisor can trace it. The same test as native/program.c, for the command the launcher starts
 * itself (no exec wrapper sees that one), minus file capabilities (no xattr API here).
 */
import { closeSync, fstatSync, openSync, readSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { RECORD, type UntracedProgram } from './types.js';

const WHY = RECORD.why;
const PT_INTERP = 3;
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
export function findProgram(file: string, cwd: string, env: NodeJS.ProcessEnv): string | null {
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

function read(fd: number, size: number, at: number): Buffer {
  const buf = Buffer.alloc(size);
  return buf.subarray(0, readSync(fd, buf, 0, size, at));
}

/** Go programs name their sections .gopclntab, .go.buildinfo: look in the section-name table. */
function isGo(fd: number, head: Buffer): boolean {
  const shoff = Number(head.readBigUInt64LE(40));
  const [shentsize, shnum, shstrndx] = [head.readUInt16LE(58), head.readUInt16LE(60), head.readUInt16LE(62)];
  if (!shoff || shentsize !== 64 || shstrndx >= shnum) return false;
  const names = read(fd, 64, shoff + shstrndx * 64);
  if (names.length < 64) return false;
  const table = read(fd, Math.min(Number(names.readBigUInt64LE(32)), 4096), Number(names.readBigUInt64LE(24)));
  return table.includes('.gopclntab') || table.includes('.go.buildinfo');
}

/** Why a 64-bit ELF image escapes LD_PRELOAD, or null (`head`: its first bytes). */
function elfReason(fd: number, head: Buffer): UntracedProgram['reason'] | null {
  if (head[4] !== 2 || head.length < 64) return WHY.architecture; // 32-bit
  if (!HOST || head.readUInt16LE(18) !== HOST.machine) return WHY.architecture;
  const [phoff, phentsize, phnum] = [Number(head.readBigUInt64LE(32)), head.readUInt16LE(54), head.readUInt16LE(56)];
  for (let i = 0; i < phnum; i++) {
    const off = phoff + i * phentsize;
    if (off + 56 > head.length) return null; // headers beyond what was read: assume glibc's loader
    if (head.readUInt32LE(off) !== PT_INTERP) continue;
    const [at, size] = [Number(head.readBigUInt64LE(off + 8)), Number(head.readBigUInt64LE(off + 32))];
    if (at + size > head.length) return null;
    const loader = head.toString('latin1', at, at + size).replace(/\0.*$/s, '');
    if (loader.slice(loader.lastIndexOf('/') + 1) !== HOST.loader) return WHY.loader;
    return isGo(fd, head) ? WHY.go : null;
  }
  return WHY.static;
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
    const head = read(fd, 1024, 0);
    if (head.length >= 2 && head[0] === 0x23 && head[1] === 0x21) {
      // a script: its interpreter is what runs
      const interp = head.toString('latin1', 2).split('\n')[0].trim().split(/[ \t]/)[0];
      if (!interp || depth >= 2) return null;
      const inner = programEscape(interp, cwd, env, depth + 1);
      return inner && { path, reason: inner.reason };
    }
    if (head.length < 16 || head.readUInt32BE(0) !== 0x7f454c46) return null;
    const reason = elfReason(fd, head);
    return reason && { path, reason };
  } finally {
    closeSync(fd);
  }
}
