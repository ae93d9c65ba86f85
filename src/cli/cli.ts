import { escapeTerminal } from '../text/terminal.js';
import { Command, CommanderError } from 'commander';
import { isKubewallError } from '../errors.js';
import { VERSION } from '../version.js';
import { formatCommanderError } from './options.js';

const BUG_URL = 'https://github.com/kubewall/kubewall/issues';

type Register = (program: Command) => void;

/**
 * Every top-level command, by the module that registers it. A run that names
 * one builds only that one (runMain): importing and registering all nine cost
 * a render about 10 ms of its start-up, for commands it never runs. Help, an
 * unknown name or no name at all builds the whole program.
 * (test/cli/cli-docs.test.ts holds the names to what each module registers.)
 */
export const COMMAND_MODULES: ReadonlyArray<{
  readonly names: readonly string[];
  readonly load: () => Promise<Register>;
  /** It describes the program it runs in (completion prints every command's options). */
  readonly needsWholeProgram?: true;
}> = [
  { names: ['render'], load: async () => (await import('./commands/render.js')).registerRender },
  { names: ['plan'], load: async () => (await import('./commands/plan.js')).registerPlan },
  { names: ['catalogue'], load: async () => (await import('./commands/catalogue.js')).registerCatalogue },
  { names: ['diff'], load: async () => (await import('./commands/diff.js')).registerDiff },
  { names: ['audit'], load: async () => (await import('./commands/audit.js')).registerAudit },
  { names: ['apply', 'confirm', 'rollback', 'rollback-watcher'], load: async () => (await import('./commands/apply.js')).registerApply },
  { names: ['detect'], load: async () => (await import('./commands/detect.js')).registerDetect },
  { names: ['cluster'], load: async () => (await import('./commands/cluster.js')).registerCluster },
  { names: ['completion'], load: async () => (await import('./commands/completion.js')).registerCompletion, needsWholeProgram: true },
];

/** The program with every command, or with only the named one when it is a command's name. */
export async function buildProgram(commandName?: string): Promise<Command> {
  const named = COMMAND_MODULES.filter((command) => command.names.includes(commandName ?? ''));
  const whole = named.length === 0 || named.some((command) => command.needsWholeProgram);
  const registrars = await Promise.all((whole ? COMMAND_MODULES : named).map((command) => command.load()));
  const program = new Command('kubewall')
    .description(
      'Least-privilege host firewall rules for bare-metal Kubernetes nodes: each port open only to the peers that use it.',
    )
    .version(VERSION, '-V, --version')
    .exitOverride()
    .addHelpText(
      'after',
      `
Examples:
  $ kubewall render --backend nftables --role control-plane
  $ kubewall render --backend nftables --role worker --cluster examples/cluster.yaml --out /tmp/worker.nft
  $ kubewall plan --role control-plane --cluster examples/cluster.yaml
  $ kubewall plan --role worker,control-plane --format json
  $ kubewall catalogue
  $ sudo kubewall diff --backend nftables --role worker --cluster examples/cluster.yaml
  $ sudo kubewall apply --backend nftables --role worker --cluster examples/cluster.yaml   # then: kubewall confirm
  $ kubewall render --backend nftables --inventory hosts.ini --format ansible --out-dir site/
  $ sudo kubewall detect                       # on a node: kube-proxy mode, CNI, add-ons, unplanned listeners
  $ kubectl get nodes -o json | kubewall cluster from-nodes - > cluster.yaml

Exit codes: 0 success, 1 invalid input or failure, 2 usage error.
(diff: 0 in sync, 2 changes pending, 1 any error, usage errors included; detect: 0 whatever it finds.)`,
    );
  for (const register of registrars) register(program);
  // Commander's own messages (unknown option, missing value) are printed by runMain, in kubewall's one style.
  program.configureOutput({ outputError: () => undefined });
  const override = (commands: readonly Command[]): void => {
    for (const command of commands) {
      command.configureOutput({ outputError: () => undefined });
      if (command.name() === 'diff') command.exitOverride();
      else command.exitOverride((error) => {
        throw Object.assign(error, { commandName: command.name() });
      });
      override(command.commands);
    }
  };
  override(program.commands);
  return program;
}

/**
 * The only place that prints errors and sets the exit code: known errors as
 * one line, unexpected ones with their stack and a request for a bug report.
 */
/**
 * A reader that stops early (`kubewall render … | head`) closes the pipe: the
 * rest of the output has nowhere to go, which is not an error of kubewall's.
 * Exit quietly like other Unix tools instead of Node's unhandled EPIPE trace.
 */
function endQuietlyOnClosedStdout(error: NodeJS.ErrnoException): void {
  if (error.code !== 'EPIPE') throw error;
  process.exit(process.exitCode ?? 0);
}

export async function runMain(argv: readonly string[] = process.argv): Promise<void> {
  if (!process.stdout.listeners('error').includes(endQuietlyOnClosedStdout)) process.stdout.on('error', endQuietlyOnClosedStdout);
  try {
    // argv[2]: a command's name only where Commander would read one (not after an option).
    await (await buildProgram(argv[2])).parseAsync(argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and --version end with exit code 0 and have printed what was asked.
      if (error.exitCode !== 0) process.stderr.write(`kubewall: ${formatCommanderError(error)}\n`);
      process.exitCode = error.exitCode === 0 ? 0 : 2;
    } else if (isKubewallError(error)) {
      process.stderr.write(`kubewall: ${escapeTerminal(error.message)}\n`);
      process.exitCode = error.exitCode;
    } else {
      process.stderr.write(`kubewall: unexpected error, please report it at ${BUG_URL}\n`);
      process.stderr.write(`${(error as Error)?.stack ?? String(error)}\n`);
      process.exitCode = 1;
    }
  }
}
