import { escapeJsonText, escapeStringsDeep, showValue } from '../../text/terminal.js';
import { Command, CommanderError } from 'commander';
import { BACKEND_NAMES, backendsWith } from '../../backends/registry.js';
import { KubewallError } from '../../errors.js';
import { createExecaRunner, DEFAULT_COMMAND_TIMEOUT_MS } from '../../host/execa-runner.js';
import { loadInputs } from '../../load-plan.js';
import { planRole } from '../../plan/plan-role.js';
import { addPlanOptions, parseChoice, parseRoles, planInputs, printWarnings, type PlanInputFlags } from '../options.js';
import { readSaved } from './diff.js';

interface AuditFlags extends PlanInputFlags {
  backend?: string;
  from?: string;
  format: string;
  timeout: string;
}

/** Exit codes of `kubewall audit`, like diff's: 0 nothing recorded, 2 something would have been dropped, 1 error. */
export const AUDIT_EXIT = { nothing: 0, error: 1, recorded: 2 } as const;

/** A usage error exits 1: 2 means "something would have been dropped". */
class AuditUsageError extends KubewallError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('USAGE', message, options);
  }

  override get exitCode(): 1 | 2 {
    return AUDIT_EXIT.error;
  }
}

class AuditCommand extends Command {
  override exitOverride(): this {
    return super.exitOverride((error: CommanderError) => {
      if (error.exitCode === 0) throw error; // --help
      throw new AuditUsageError(`audit: ${error.message.replace(/^error: /, '')} (run kubewall audit --help for usage)`, { cause: error });
    });
  }
}

export function registerAudit(program: Command): void {
  const auditable = backendsWith('audit');
  const command = addPlanOptions(new AuditCommand('audit'))
    .description('list what an audit render (render --audit) let through that the enforcing render would drop, and why, read-only')
    .option('-b, --backend <name>', `firewall backend (${auditable.join(', ')})`)
    .option('--from <file>', "read a saved dump instead of the live host ('-' reads stdin); see below")
    .option('-f, --format <format>', 'text or json (versioned shape, apiVersion kubewall.dev/audit/v1)', 'text')
    .option('--timeout <seconds>', 'give up on a host command after this long', String(DEFAULT_COMMAND_TIMEOUT_MS / 1000))
    .configureOutput({ outputError: () => undefined })
    .addHelpText(
      'after',
      `
Audit mode rolls out least privilege without cutting anything: the audit render has the
same rules as the enforcing one, but what the enforcing render would drop is accepted and
recorded (source, protocol, destination port, packets). kubewall audit lists those records
and says, in catalogue terms, what to change: the peer class a source is missing from
("add 10.1.2.3 to loadBalancers"), a profile that is not selected ("--addon node-local-dns"),
or that no catalogue entry has the port ("a catalogue fragment with an entry for 9100/tcp").
Give it the same plan options the audit render was made with.

Rolling out:
  $ kubewall render -b nftables -r worker -c cluster.yaml --audit -o audit.nft
  $ sudo nft -f audit.nft                       # on the node; let it run (a day)
  $ sudo kubewall audit -b nftables -r worker -c cluster.yaml
  ... fix cluster.yaml / --addon / --catalogue, audit again until nothing is listed ...
  $ kubewall render -b nftables -r worker -c cluster.yaml -o worker.nft
  $ sudo kubewall diff -b nftables -r worker -c cluster.yaml
  $ sudo kubewall apply -b nftables -r worker -c cluster.yaml   # confirm, or it rolls back

Reads only. nftables: nft -j list set inet kubewall audit-v4 (and audit-v6);
iptables: ipset save KUBEWALL-AUDIT-V4 (and -V6). Every command goes through the
read-only guard. Off the node, save the dump and give it to --from:
  $ sudo sh -c 'nft -j list set inet kubewall audit-v4; nft -j list set inet kubewall audit-v6' > node-1.audit
  $ kubewall audit -b nftables -r worker -c cluster.yaml --from node-1.audit
  $ sudo sh -c 'ipset save KUBEWALL-AUDIT-V4; ipset save KUBEWALL-AUDIT-V6' > node-1.audit
  $ kubewall audit -b iptables -r worker -c cluster.yaml --from node-1.audit --format json
(nftables also takes nft -j list ruleset; iptables a plain ipset save.)

A record lasts an hour after its last packet, at most 65,536 a family (docs/audit.md).
firewalld and ufw have no audit mode (see README).

Exit codes: 0 nothing recorded, 2 something would have been dropped, 1 error.`,
    )
    .action(async (flags: AuditFlags) => {
      try {
        if (flags.backend === undefined) throw new AuditUsageError(`--backend is required (expected ${auditable.join(', ')})`);
        if (!BACKEND_NAMES.includes(flags.backend)) throw new AuditUsageError(`--backend: unknown backend ${showValue(flags.backend)} (expected ${auditable.join(', ')})`);
        const roles = parseRoles(flags.role);
        const format = parseChoice('--format', flags.format, ['text', 'json'] as const);
        if (flags.from === '') throw new AuditUsageError('--from: empty file name (use - for stdin)');
        const timeout = Number(flags.timeout);
        if (!/^\d+(\.\d+)?$/.test(flags.timeout) || timeout <= 0) throw new AuditUsageError(`--timeout: expected seconds > 0, e.g. 10 or 0.5, not ${showValue(flags.timeout)}`);
        const { requireAudit } = await import('../../backends/registry.js');
        requireAudit(flags.backend);
        const { catalogue, cluster } = await loadInputs(planInputs(flags));
        const plan = planRole({ catalogue, cluster, roles, options: { allowLockout: flags.allowLockout ?? false } });
        const source = flags.from === undefined ? { kind: 'live' as const, runner: createExecaRunner({ timeoutMs: timeout * 1000 }) } : await readSaved(flags.from);
        const { runAudit } = await import('../../audit/run-audit.js');
        const { formatAuditJson, formatAuditText } = await import('../../audit/format-audit.js');
        const report = await runAudit(plan, catalogue, flags.backend, source);
        printWarnings(plan.warnings);
        process.stdout.write(format === 'json' ? escapeJsonText(formatAuditJson(report)) : formatAuditText(escapeStringsDeep(report)));
        process.exitCode = report.findings.length === 0 ? AUDIT_EXIT.nothing : AUDIT_EXIT.recorded;
      } catch (error) {
        if (error instanceof KubewallError && error.code === 'USAGE' && !(error instanceof AuditUsageError)) {
          throw new AuditUsageError(error.message, { cause: error });
        }
        throw error;
      }
    });
  program.addCommand(command);
}
