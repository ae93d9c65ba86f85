import { escapeJsonText, escapeStringsDeep } from '../../text/terminal.js';
import type { Command } from 'commander';
import { planFromFiles } from '../../load-plan.js';
import { formatPlanJson, formatPlanTable } from '../../plan/format-plan.js';
import { addProfileOptions, collect, collectList, parseChoice, parseRoles, printWarnings, profileFlags } from '../options.js';

interface PlanFlags {
  role?: string[];
  cluster?: string;
  catalogue?: string[];
  format: string;
  allowLockout?: boolean;
  distribution?: string;
  cni?: string;
  addon?: string[];
}

export function registerPlan(program: Command): void {
  addProfileOptions(program.command('plan'))
    .description('show the backend-neutral plan: each port, protocol, peers and why')
    .option('-r, --role <roles>', 'node role(s): control-plane, worker, etcd; comma-separated or repeated', collectList)
    .option('-c, --cluster <file>', 'cluster file (YAML/JSON); without it the embedded default is used')
    .option('--catalogue <glob>', "extra catalogue fragments, e.g. 'ports.d/*.yaml' (repeatable)", collect)
    .option('-f, --format <format>', 'table or json (versioned shape, apiVersion kubewall.dev/plan/v1)', 'table')
    .option('--allow-lockout', 'plan even if no SSH rule would remain')
    .addHelpText(
      'after',
      `
Examples:
  $ kubewall plan --role control-plane --cluster examples/cluster.yaml
  $ kubewall plan --role worker,control-plane --format json`,
    )
    .action(async (flags: PlanFlags) => {
      const roles = parseRoles(flags.role);
      const format = parseChoice('--format', flags.format, ['table', 'json'] as const);
      const plan = await planFromFiles({
        roles,
        clusterFile: flags.cluster,
        cataloguePatterns: flags.catalogue,
        allowLockout: flags.allowLockout,
        profiles: profileFlags(flags),
      });
      if (format === 'json') {
        process.stdout.write(escapeJsonText(formatPlanJson(plan)));
      } else {
        // The table already lists the warnings; stderr gets them only with JSON.
        process.stdout.write(formatPlanTable(escapeStringsDeep(plan)));
        return;
      }
      printWarnings(plan.warnings);
    });
}
