/**
 * Shell completion. `prov-make completion bash|zsh` prints a small script; the script asks
 * `prov-make __complete CWORD WORD...` for the candidates, so commands, options and step names
 * come from one place (the command registry and the pipeline), and completing a FILE falls back to
 * the shell's own file completion.
 */
import { parseArgs } from 'node:util';
import { UsageError, EXIT_OK } from '../usage.js';
import type { CommandEntry, CommandModule } from './command.js';

export const COMPLETION_HELP = `usage: prov-make completion bash|zsh

Prints a completion script for the shell: commands, options and step names.
  bash:  source <(prov-make completion bash)        (or save it in ~/.local/share/bash-completion/completions/prov-make)
  zsh:   source <(prov-make completion zsh)         (or save it as _prov-make in a folder of $fpath)`;

const BASH = `# prov-make completion for bash: source <(prov-make completion bash)
_prov_make() {
  local IFS=$'\\n'
  COMPREPLY=($(command "\${COMP_WORDS[0]}" __complete "$COMP_CWORD" "\${COMP_WORDS[@]}" 2>/dev/null))
}
complete -o default -o bashdefault -F _prov_make prov-make
`;

const ZSH = `#compdef prov-make
# prov-make completion for zsh: source <(prov-make completion zsh)
_prov_make() {
  local -a candidates
  candidates=("\${(@f)$(command "\${words[1]}" __complete $((CURRENT - 1)) "\${words[@]}" 2>/dev/null)}")
  if [[ -n "\${candidates[1]}" ]]; then compadd -a candidates; else _files; fi
}
if (( $+functions[compdef] )); then compdef _prov_make prov-make; fi
`;

const OPTIONS = { help: { type: 'boolean', short: 'h' } } as const;

export const COMPLETION: CommandModule = {
  options: OPTIONS,
  operands: ['bash', 'zsh'],
  async main(argv) {
    const { values, positionals } = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
    if (values.help) return void process.stdout.write(COMPLETION_HELP + '\n'), EXIT_OK;
    const shell = positionals[0];
    if (shell !== 'bash' && shell !== 'zsh') throw new UsageError(shell ? `no completion for the shell "${shell}"` : 'which shell? bash or zsh', 'usage: prov-make completion bash|zsh');
    process.stdout.write(shell === 'bash' ? BASH : ZSH);
    return EXIT_OK;
  },
};

/** `__complete CWORD WORD...`: the candidates for word CWORD (0 is the program), one per line. */
export function completeCommand(commands: readonly CommandEntry[]): CommandModule {
  return {
    options: {},
    async main(argv) {
      const cword = Number(argv[0]);
      const words = argv.slice(1);
      const current = words[cword] ?? '';
      const candidates = await candidatesFor(commands, words, cword);
      const matching = candidates.filter((c) => c.startsWith(current));
      if (matching.length) process.stdout.write(matching.join('\n') + '\n');
      return EXIT_OK;
    },
  };
}

async function candidatesFor(commands: readonly CommandEntry[], words: string[], cword: number): Promise<string[]> {
  if (cword <= 1) return [...commands.filter((c) => !c.hidden).map((c) => c.name), '--help', '--version'];
  const entry = commands.find((c) => c.name === words[1]);
  if (!entry) return [];
  const command = await entry.load();
  const current = words[cword] ?? '';
  if (current.startsWith('-')) return Object.keys(command.options).map((o) => `--${o}`);
  const previous = words[cword - 1] ?? '';
  if (takesValue(command, previous)) return [];
  const operands = command.operands;
  if (operands === 'steps') return stepNames(fileOption(words));
  if (Array.isArray(operands) && !words.slice(2, cword).some((w) => operands.includes(w))) return [...operands];
  return [];
}

/** Is `word` an option of `command` that takes a value (so the next word is that value)? */
function takesValue(command: CommandModule, word: string): boolean {
  for (const [name, o] of Object.entries(command.options)) {
    if (o.type === 'string' && (word === `--${name}` || (o.short && word === `-${o.short}`))) return true;
  }
  return false;
}

function fileOption(words: string[]): string | undefined {
  const at = words.findIndex((w) => w === '-f' || w === '--file');
  return at >= 0 ? words[at + 1] : undefined;
}

/** The steps of the nearest pipeline, and the names that stand for a foreach step's items. */
async function stepNames(file: string | undefined): Promise<string[]> {
  const [{ findPipelineFile }, { openWorkspace }] = await Promise.all([import('./workspace-args.js'), import('../workspace/workspace.js')]);
  try {
    const pipeline = await openWorkspace(findPipelineFile(process.cwd(), file)).pipeline();
    return [...new Set(pipeline.steps.flatMap((s) => (s.item ? [s.item.step, s.name] : [s.name])))];
  } catch {
    return []; // no pipeline here, or a broken one: nothing to offer
  }
}
