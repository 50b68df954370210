/**
 * Every command, loaded on first use: `prov-make run` loads neither the provenance queries nor
 * the trace printer. The dispatcher, did-you-mean and shell completion read this one list.
 */
import type { CommandEntry } from './command.js';

export const COMMANDS: readonly CommandEntry[] = [
  { name: 'run', load: async () => (await import('./run.js')).RUN },
  { name: 'status', load: async () => (await import('./run.js')).STATUS },
  { name: 'watch', load: async () => (await import('./watch.js')).WATCH },
  { name: 'clean', load: async () => (await import('./clean.js')).CLEAN },
  { name: 'init', load: async () => (await import('./init.js')).INIT },
  { name: 'why', load: async () => (await import('./why.js')).WHY },
  { name: 'log', load: async () => (await import('./log.js')).LOG },
  { name: 'show', load: async () => (await import('./log.js')).SHOW },
  { name: 'diff', load: async () => (await import('./log.js')).DIFF },
  { name: 'graph', load: async () => (await import('./graph.js')).GRAPH },
  { name: 'cache', load: async () => (await import('./cache.js')).CACHE },
  { name: 'trace', load: async () => (await import('./trace.js')).TRACE },
  { name: 'completion', load: async () => (await import('./completion.js')).COMPLETION },
  { name: '__complete', hidden: true, load: async () => (await import('./completion.js')).completeCommand(COMMANDS) },
];

export function commandNamed(name: string): CommandEntry | undefined {
  return COMMANDS.find((c) => c.name === name);
}
