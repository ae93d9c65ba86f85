import type { Command } from 'commander';
import { addPlanOptions } from '../options.js';
import type { ApplyFlags } from './apply-action.js';

const STATE_DIR_HELP = 'where the pending apply is kept (default: $KUBEWALL_STATE_DIR, else /run/kubewall)';

// Every action imports its module on demand, so render's start-up never loads apply.
export function registerApply(program: Command): void {
  addPlanOptions(program.command('apply'))
    .description('apply the rendered rules now, and restore the previous state unless confirmed in time (like iptables-apply)')
    .option('-b, --backend <name>', 'firewall backend: nftables, iptables, firewalld or ufw (required)')
    .option('--templates <dir>', 'use your own copy of the templates folder instead of the shipped one')
    .option('--iptables-variant <variant>', 'iptables backend: nft, legacy or auto (default: from the binary iptables resolves to, else iptables -V)')
    .option('--confirm-timeout <seconds>', 'restore the previous state unless confirmed within this long', '60')
    .option('--state-dir <dir>', STATE_DIR_HELP)
    .option('--allow-dropping-ssh-session', 'apply even though the rules would drop new SSH connections from this session\'s client (SSH_CONNECTION)')
    .option('--no-prompt', 'do not ask on the terminal; confirm with kubewall confirm')
    .addHelpText(
      'after',
      `
Examples:
  $ sudo kubewall apply --backend nftables --role worker --cluster examples/cluster.yaml
  $ sudo kubewall apply -b iptables -r control-plane -c examples/cluster.yaml --confirm-timeout 120 --no-prompt
  $ sudo kubewall confirm          # from a second SSH session: keep the new rules
  $ sudo kubewall rollback         # restore the previous state now

What happens:
  1. render as kubewall render does; refuse if the rules would drop new SSH connections
     from the client in SSH_CONNECTION to this server's SSH port (--allow-dropping-ssh-session);
  2. save what kubewall owns (nftables: table inet kubewall; iptables: the KUBEWALL-* chains,
     the jumps into them and the KUBEWALL-* ipsets, both families; firewalld: zone kubewall and
     the kubewall-* ipsets, permanent files and runtime; ufw: the rules tagged "kubewall ..." in
     user.rules and user6.rules with their positions, DEFAULT_INPUT_POLICY, whether ufw runs)
     into the state directory;
  3. start a detached watcher that restores the saved state at the deadline, even if this
     SSH session dies;
  4. apply (nft -f: one transaction; iptables, firewalld, ufw: the script). If the tool fails,
     the old state is left in place (iptables, firewalld, ufw: restored from the saved state), exit 1;
  5. on a terminal, ask for "yes"; else exit 0 and wait for kubewall confirm from elsewhere.
Only kubewall's own table, chains, sets and tagged ufw rules are saved and restored (ufw: plus
its incoming default policy and whether it runs, which its script changes); nothing else is touched.
See docs/apply.md for the mechanism and its limits.

Exit codes: 0 applied (confirmed, or waiting for kubewall confirm), 1 refused, failed or
rolled back on a terminal, 2 usage error.`,
    )
    .action(async (flags: ApplyFlags) => {
      const { applyAction } = await import('./apply-action.js');
      process.exitCode = await applyAction(flags);
    });

  program
    .command('confirm')
    .description('keep the rules of the pending kubewall apply (stops its rollback)')
    .option('--state-dir <dir>', STATE_DIR_HELP)
    .addHelpText('after', '\nExample:\n  $ sudo kubewall confirm')
    .action(async (flags: { stateDir?: string }) => {
      const { confirmAction } = await import('./apply-action.js');
      process.exitCode = await confirmAction(flags);
    });

  program
    .command('rollback')
    .description('restore now the state saved before the pending kubewall apply')
    .option('--state-dir <dir>', STATE_DIR_HELP)
    .addHelpText('after', '\nExample:\n  $ sudo kubewall rollback')
    .action(async (flags: { stateDir?: string }) => {
      const { rollbackAction } = await import('./apply-action.js');
      process.exitCode = await rollbackAction(flags);
    });

  program
    .command('rollback-watcher', { hidden: true })
    .requiredOption('--state-dir <dir>')
    .action(async (flags: { stateDir: string }) => {
      const { watcherAction } = await import('./apply-action.js');
      process.exitCode = await watcherAction(flags);
    });
}
