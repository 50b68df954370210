/**
 * Every command, loaded on first use: `prov-make run` loads neither the provenance queries nor
 * the trace printer. The dispatcher, did-you-mean and shell completion read this one list.
 */
import type { CommandEntry } from './command.js';

export const COMMANDS: readonly CommandEntry[] = [
  { name: 'run', summary: 'run what is out of date', load: async () => (await import('./run.js')).RUN },
  { name: 'status', summary: 'what would run, and why', load: async () => (await import('./run.js')).STATUS },
  { name: 'watch', summary: 'run what is out of date, then again on every change', load: async () => (await import('./watch.js')).WATCH },
  { name: 'clean', summary: 'remove the files steps produced', load: async () => (await import('./clean.js')).CLEAN },
  { name: 'init', summary: 'write a commented pipeline.yml', load: async () => (await import('./init.js')).INIT },
  { name: 'why', summary: 'which step made FILE, from what; is it stale?', load: async () => (await import('./why.js')).WHY },
  { name: 'log', summary: 'past executions, newest first; --prune trims them', load: async () => (await import('./log.js')).LOG },
  { name: 'show', summary: 'the exact bytes of the FILE version OUTPUT was made from', load: async () => (await import('./log.js')).SHOW },
  { name: 'diff', summary: 'the first step whose inputs differed between two runs', load: async () => (await import('./log.js')).DIFF },
  { name: 'graph', summary: 'the provenance graph (Graphviz, W3C PROV-JSON)', load: async () => (await import('./graph.js')).GRAPH },
  { name: 'cache', summary: 'the content cache: stats, verify, gc', load: async () => (await import('./cache.js')).CACHE },
  { name: 'trace', summary: 'trace any command; print what it read and wrote', load: async () => (await import('./trace.js')).TRACE },
  { name: 'completion', summary: 'shell completion: prov-make completion bash|zsh', load: async () => (await import('./completion.js')).COMPLETION },
  { name: '__complete', summary: 'candidates for the shell completion', hidden: true, load: async () => (await import('./completion.js')).completeCommand(COMMANDS) },
];

export function commandNamed(name: string): CommandEntry | undefined {
  return COMMANDS.find((c) => c.name === name);
}
