import type { Command } from 'commander';
import { VERSION } from '../../version.js';
import { COMPLETION_SHELLS } from '../cli-docs.js';
import { parseChoice } from '../options.js';

export function registerCompletion(program: Command): void {
  program
    .command('completion')
    .description('print shell completion for bash, zsh or fish')
    .argument('<shell>', `${COMPLETION_SHELLS.join(', ')}`)
    .addHelpText(
      'after',
      `
Examples:
  $ source <(kubewall completion bash)            # in ~/.bashrc
  $ kubewall completion zsh > "\${fpath[1]}/_kubewall"
  $ kubewall completion fish > ~/.config/fish/completions/kubewall.fish
The package also ships them in dist/completions/ and the man page in dist/man/kubewall.1.`,
    )
    .action(async (shell: string, _options: unknown, command: Command) => {
      const chosen = parseChoice('completion', shell, COMPLETION_SHELLS);
      const [{ describeProgram, renderCompletion }, { completionValues }] = await Promise.all([import('../cli-docs.js'), import('../completion-values.js')]);
      // The program this command belongs to: the one being run (importing cli.ts here would be an import cycle).
      process.stdout.write(renderCompletion(describeProgram(command.parent!, VERSION, completionValues()), chosen));
    });
}
