import type { Command, Option } from 'commander';

/**
 * Shell completion and the man page, generated from the commander
 * definitions (pure: the program in, text out), so neither can drift from the
 * options `--help` shows. `npm run build` writes them into dist/ for the
 * package; `kubewall completion SHELL` prints the same text.
 */

export const COMPLETION_SHELLS = ['bash', 'zsh', 'fish'] as const;
export type CompletionShell = (typeof COMPLETION_SHELLS)[number];

/** What an option's value completes to: fixed words, a file or a folder. */
export type ValueCompletion = readonly string[] | 'file' | 'dir';

export interface CliOptionSpec {
  readonly long: string;
  readonly short: string | undefined;
  readonly takesValue: boolean;
  readonly valueName: string | undefined;
  readonly description: string;
  readonly values: ValueCompletion | undefined;
}

export interface CliCommandSpec {
  readonly name: string;
  readonly description: string;
  readonly arguments: readonly string[];
  readonly options: readonly CliOptionSpec[];
}

export interface CliSpec {
  readonly name: string;
  readonly description: string;
  readonly version: string;
  readonly options: readonly CliOptionSpec[];
  readonly commands: readonly CliCommandSpec[];
}

/** Value completions by option (`--format` by command, as its values differ). */
export type ValueTable = Readonly<Record<string, ValueCompletion>>;

function optionSpec(option: Option, command: string, values: ValueTable): CliOptionSpec | undefined {
  if (option.hidden || !option.long) return undefined;
  const takesValue = option.required || option.optional;
  const match = /<(.+)>|\[(.+)\]/.exec(option.flags);
  const valueName = takesValue ? (match?.[1] ?? match?.[2]) : undefined;
  return {
    long: option.long,
    short: option.short,
    takesValue,
    valueName,
    description: option.description,
    values: takesValue ? (values[`${command} ${option.long}`] ?? values[option.long]) : undefined,
  };
}

const HELP: CliOptionSpec = { long: '--help', short: '-h', takesValue: false, valueName: undefined, description: 'display help for command', values: undefined };

/** The visible commands and options of a commander program. */
export function describeProgram(program: Command, version: string, values: ValueTable): CliSpec {
  const options = (command: Command, name: string) => [...command.options.flatMap((o) => optionSpec(o, name, values) ?? []), HELP];
  return {
    name: program.name(),
    description: program.description(),
    version,
    options: options(program, ''),
    commands: program.commands
      .filter((c) => !(c as Command & { _hidden?: boolean })._hidden)
      .map((c) => ({
        name: c.name(),
        description: c.description(),
        arguments: c.registeredArguments.map((a) => a.name()),
        options: options(c, c.name()),
      })),
  };
}

function flagsOf(option: CliOptionSpec): string[] {
  return option.short ? [option.short, option.long] : [option.long];
}

function bashQuote(words: readonly string[]): string {
  return words.join(' ');
}

export function renderBashCompletion(spec: CliSpec): string {
  const cases = spec.commands.map((command) => {
    const valueCases = command.options
      .filter((o) => o.values !== undefined)
      .map((o) => {
        const action = o.values === 'file' ? 'compgen -f -- "$cur"' : o.values === 'dir' ? 'compgen -d -- "$cur"' : `compgen -W '${bashQuote(o.values as string[])}' -- "$cur"`;
        return `        ${flagsOf(o).join('|')}) COMPREPLY=($(${action})); return ;;`;
      });
    const args = command.arguments.length > 0 && command.name === 'completion' ? ` ${COMPLETION_SHELLS.join(' ')}` : '';
    return `    ${command.name})
      case "$prev" in
${valueCases.join('\n')}${valueCases.length > 0 ? '\n' : ''}      esac
      COMPREPLY=($(compgen -W '${bashQuote(command.options.flatMap(flagsOf))}${args}' -- "$cur")) ;;`;
  });
  return `# bash completion for ${spec.name} ${spec.version}, generated from its command definitions.
# Install: copy to /usr/share/bash-completion/completions/${spec.name}, or: source <(${spec.name} completion bash)
_${spec.name}() {
  local cur prev command i
  cur="\${COMP_WORDS[COMP_CWORD]}"
  prev="\${COMP_WORDS[COMP_CWORD-1]}"
  command=
  for ((i = 1; i < COMP_CWORD; i++)); do
    case "\${COMP_WORDS[i]}" in
      -*) ;;
      *) command="\${COMP_WORDS[i]}"; break ;;
    esac
  done
  case "$command" in
    '')
      COMPREPLY=($(compgen -W '${bashQuote([...spec.commands.map((c) => c.name), ...spec.options.flatMap(flagsOf)])}' -- "$cur")) ;;
${cases.join('\n')}
  esac
}
complete -o default -F _${spec.name} ${spec.name}
`;
}

function zshEscape(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/'/g, "'\\''").replace(/\[/g, '\\[').replace(/\]/g, '\\]').replace(/:/g, '\\:');
}

function zshAction(option: CliOptionSpec): string {
  if (!option.takesValue) return '';
  const name = zshEscape(option.valueName ?? 'value');
  if (option.values === 'file') return `:${name}:_files`;
  if (option.values === 'dir') return `:${name}:_files -/`;
  if (Array.isArray(option.values)) return `:${name}:(${option.values.join(' ')})`;
  return `:${name}: `;
}

function zshOption(option: CliOptionSpec): string {
  const description = zshEscape(option.description.split(/[;(]/)[0]!.trim());
  const flags = option.short ? `{${option.short},${option.long}}` : option.long;
  const repeatable = /repeat/.test(option.description) ? '*' : '';
  return `'${repeatable}${flags}[${description}]${zshAction(option)}'`;
}

export function renderZshCompletion(spec: CliSpec): string {
  const commands = spec.commands.map((c) => `    '${c.name}:${zshEscape(c.description)}'`);
  const cases = spec.commands.map((c) => {
    const args = c.name === 'completion' ? ` \\\n        '1:shell:(${COMPLETION_SHELLS.join(' ')})'` : '';
    return `    ${c.name})\n      _arguments \\\n        ${c.options.map(zshOption).join(' \\\n        ')}${args} ;;`;
  });
  return `#compdef ${spec.name}
# zsh completion for ${spec.name} ${spec.version}, generated from its command definitions.
# Install: copy as _${spec.name} into a folder on $fpath, or: source <(${spec.name} completion zsh)
_${spec.name}() {
  local -a commands
  commands=(
${commands.join('\n')}
  )
  if (( CURRENT == 2 )); then
    _describe -t commands '${spec.name} command' commands
    _arguments ${spec.options.map(zshOption).join(' ')}
    return
  fi
  local command=\${words[2]}
  (( CURRENT-- ))
  shift words
  case $command in
${cases.join('\n')}
  esac
}
if [[ $zsh_eval_context[-1] == loadautofunc ]]; then
  _${spec.name} "$@"
else
  compdef _${spec.name} ${spec.name}
fi
`;
}

function fishEscape(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/'/g, "\\'");
}

export function renderFishCompletion(spec: CliSpec): string {
  const names = spec.commands.map((c) => c.name).join(' ');
  const lines = [
    `# fish completion for ${spec.name} ${spec.version}, generated from its command definitions.`,
    `# Install: copy to ~/.config/fish/completions/${spec.name}.fish, or: ${spec.name} completion fish | source`,
    `complete -c ${spec.name} -f`,
    ...spec.commands.map((c) => `complete -c ${spec.name} -n 'not __fish_seen_subcommand_from ${names}' -a ${c.name} -d '${fishEscape(c.description)}'`),
  ];
  const optionLine = (condition: string, o: CliOptionSpec) => {
    const parts = [`complete -c ${spec.name} -n '${condition}'`, `-l ${o.long.slice(2)}`];
    if (o.short) parts.push(`-s ${o.short.slice(1)}`);
    if (o.takesValue) parts.push(o.values === 'file' || o.values === 'dir' ? '-r -F' : '-r');
    if (Array.isArray(o.values)) parts.push(`-a '${o.values.join(' ')}'`);
    parts.push(`-d '${fishEscape(o.description.split(/[;(]/)[0]!.trim())}'`);
    return parts.join(' ');
  };
  for (const o of spec.options) lines.push(optionLine(`not __fish_seen_subcommand_from ${names}`, o));
  for (const c of spec.commands) {
    for (const o of c.options) lines.push(optionLine(`__fish_seen_subcommand_from ${c.name}`, o));
    if (c.name === 'completion') lines.push(`complete -c ${spec.name} -n '__fish_seen_subcommand_from completion' -a '${COMPLETION_SHELLS.join(' ')}'`);
  }
  return `${lines.join('\n')}\n`;
}

export function renderCompletion(spec: CliSpec, shell: CompletionShell): string {
  if (shell === 'bash') return renderBashCompletion(spec);
  if (shell === 'zsh') return renderZshCompletion(spec);
  return renderFishCompletion(spec);
}

function roff(text: string): string {
  return text.replace(/\\/g, '\\e').replace(/^([.'])/gm, '\\&$1').replace(/-/g, '\\-');
}

function manOption(o: CliOptionSpec): string {
  const value = o.valueName ? ` \\fI${roff(o.valueName)}\\fR` : '';
  const flags = flagsOf(o).map((f) => `\\fB${roff(f)}\\fR`).join(', ');
  return `.TP\n${flags}${value}\n${roff(o.description)}`;
}

/** kubewall(1), in man(7) macros; the date is left out so the output stays deterministic. */
export function renderManPage(spec: CliSpec): string {
  const upper = spec.name.toUpperCase();
  return `.\\" Generated from ${spec.name}'s command definitions; do not edit by hand.
.TH ${upper} 1 "" "${spec.name} ${spec.version}" "User Commands"
.SH NAME
${spec.name} \\- ${roff(spec.description)}
.SH SYNOPSIS
${spec.commands.map((c) => `.B ${spec.name} ${c.name}\n[\\fIoptions\\fR]${c.arguments.map((a) => ` \\fI${a}\\fR`).join('')}\n.br`).join('\n')}
.SH DESCRIPTION
${roff(spec.description)}
Every command prints its examples with \\fB${spec.name} \\fIcommand\\fB \\-\\-help\\fR.
.SH OPTIONS
${spec.options.map(manOption).join('\n')}
.SH COMMANDS
${spec.commands.map((c) => `.SS ${spec.name} ${c.name}${c.arguments.map((a) => ` \\fI${a}\\fR`).join('')}\n${roff(c.description)}\n${c.options.map(manOption).join('\n')}`).join('\n')}
.SH EXIT STATUS
0 success, 1 invalid input or failure, 2 usage error.
\\fBdiff\\fR: 0 in sync, 2 changes pending, 1 any error, usage errors included.
.SH FILES
.TP
/run/kubewall
the pending apply and the last one (\\fB\\-\\-state\\-dir\\fR, \\fBKUBEWALL_STATE_DIR\\fR)
.SH SEE ALSO
.BR nft (8),
.BR iptables (8),
.BR firewall-cmd (1),
.BR ufw (8);
the README and docs/ shipped with the package.
`;
}
