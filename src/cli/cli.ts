import { escapeTerminal } from '../text/terminal.js';
import { Command, CommanderError } from 'commander';
import { isKubewallError } from '../errors.js';
import { VERSION } from '../version.js';
import { registerApply } from './commands/apply.js';
import { registerAudit } from './commands/audit.js';
import { registerCatalogue } from './commands/catalogue.js';
import { registerCluster } from './commands/cluster.js';
import { registerDetect } from './commands/detect.js';
import { registerCompletion } from './commands/completion.js';
import { registerDiff } from './commands/diff.js';
import { registerPlan } from './commands/plan.js';
import { registerRender } from './commands/render.js';
import { formatCommanderError } from './options.js';

const BUG_URL = 'https://github.com/kubewall/kubewall/issues';

export function buildProgram(): Command {
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
  registerRender(program);
  registerPlan(program);
  registerCatalogue(program);
  registerDiff(program);
  registerAudit(program);
  registerApply(program);
  registerDetect(program);
  registerCluster(program);
  registerCompletion(program);
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
    await buildProgram().parseAsync(argv);
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
