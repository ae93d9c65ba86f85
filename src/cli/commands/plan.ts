import { escapeJsonText, escapeStringsDeep } from '../../text/terminal.js';
import type { Command } from 'commander';
import { planFromFiles } from '../../load-plan.js';
import { formatPlanJson, formatPlanTable } from '../../plan/format-plan.js';
import { addPlanOptions, parseChoice, parseRoles, planInputs, printWarnings, type PlanInputFlags } from '../options.js';

interface PlanFlags extends PlanInputFlags {
  format: string;
}

export function registerPlan(program: Command): void {
  addPlanOptions(program.command('plan'))
    .description('show the backend-neutral plan: each port, protocol, peers and why')
    .option('-f, --format <format>', 'table or json (versioned shape, apiVersion kubewall.dev/plan/v1)', 'table')
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
      const plan = await planFromFiles({ roles, ...planInputs(flags) });
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
