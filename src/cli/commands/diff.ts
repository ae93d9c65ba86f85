import { escapeJsonText, escapeStringsDeep, showValue } from '../../text/terminal.js';
import { Command, CommanderError } from 'commander';
import { BACKEND_NAMES } from '../../backends/registry.js';
import { diffHost, getHostReader, type HostSource } from '../../diff/diff-host.js';
import { choosePalette, formatDiffJson, formatDiffText } from '../../diff/format-diff.js';
import { KubewallError } from '../../errors.js';
import { IPTABLES_VARIANT_CHOICES } from '../../host/detect-iptables-variant.js';
import { createExecaRunner, DEFAULT_COMMAND_TIMEOUT_MS } from '../../host/execa-runner.js';
import { decodeDump, readSavedDumpText } from '../../host/saved-dump.js';
import { planFromFiles } from '../../load-plan.js';
import { unknownValueMessage } from '../../suggest.js';
import { addPlanOptions, formatCommanderError, parseChoice, parseRoles, planInputs, printWarnings, type PlanInputFlags } from '../options.js';

interface DiffFlags extends PlanInputFlags {
  backend?: string;
  from?: string;
  format: string;
  timeout: string;
  iptablesVariant?: string;
}

/** Exit codes of `kubewall diff`, like diff(1) and `terraform plan -detailed-exitcode`. */
export const DIFF_EXIT = { inSync: 0, error: 1, changes: 2 } as const;

/**
 * A usage error of `diff` exits 1, not 2: 2 means "changes pending", and a
 * script that applies on 2 must never apply because of a typo.
 */
class DiffUsageError extends KubewallError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('USAGE', message, options);
  }

  override get exitCode(): 1 | 2 {
    return DIFF_EXIT.error;
  }
}

/** Commander's own parse errors (unknown option, missing value) get the same exit code 1. */
class DiffCommand extends Command {
  override exitOverride(): this {
    return super.exitOverride((error: CommanderError) => {
      if (error.exitCode === 0) throw error; // --help
      throw new DiffUsageError(formatCommanderError(Object.assign(error, { commandName: 'diff' })), { cause: error });
    });
  }
}

export async function readSaved(from: string): Promise<Extract<HostSource, { kind: 'saved' }>> {
  if (from === '-') {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    return { kind: 'saved', text: decodeDump(Buffer.concat(chunks)), origin: 'stdin' };
  }
  return { kind: 'saved', text: readSavedDumpText(from), origin: from };
}

export function registerDiff(program: Command): void {
  const command = addPlanOptions(new DiffCommand('diff'))
    .description("dry run: compare what render would install with the host's current rules, read-only")
    .option('-b, --backend <name>', `firewall backend (${BACKEND_NAMES.join(', ')})`)
    .option('--from <file>', "diff against a saved dump instead of the live host ('-' reads stdin); nftables: the output of nft -j list ruleset; iptables, ufw, firewalld: see below")
    .option('-f, --format <format>', 'text or json (versioned shape, apiVersion kubewall.dev/diff/v1)', 'text')
    .option('--timeout <seconds>', 'give up on a host command after this long', String(DEFAULT_COMMAND_TIMEOUT_MS / 1000))
    .option('--iptables-variant <variant>', 'iptables backend: read with the nft or legacy tools, or auto (iptables -V, as render does; the default)')
    .configureOutput({ outputError: () => undefined })
    .addHelpText(
      'after',
      `
Examples:
  $ sudo kubewall diff --backend nftables --role worker --cluster examples/cluster.yaml
  $ sudo nft -j list ruleset > node-1.json     # on the node
  $ kubewall diff --backend nftables --role worker --cluster examples/cluster.yaml --from node-1.json
  $ ssh node-1 sudo nft -j list ruleset | kubewall diff -b nftables -r worker --from - --format json

Reads only (nftables): nft -j list ruleset, firewall-cmd --state, ufw status,
/proc/net/ip{,6}_tables_names and ip{,6}tables-legacy-save. It never changes the host:
every command goes through a guard that refuses anything but list/save/status.
Only kubewall's own table (inet kubewall) is compared; other tables only feed warnings
(another table's drop on the input hook, firewalld, ufw, iptables-legacy rules).

firewalld: reads firewall-cmd [--permanent] --list-all-zones, --get-ipsets, --info-ipset=kubewall-*,
--version, /etc/firewalld/firewalld.conf and ip{,6}tables-save. Compares the runtime zone kubewall
and ipsets kubewall-*; warns where the permanent configuration differs, where another zone takes
traffic first, and where a reload would flush iptables rules. firewalld must be running; otherwise,
or off the machine, diff its permanent XML files:
  $ sudo tail -v -n +1 /etc/firewalld/zones/*.xml /etc/firewalld/ipsets/*.xml > node-1.firewalld
  $ kubewall diff --backend firewalld --role worker --cluster examples/cluster.yaml --from node-1.firewalld

iptables: reads iptables -V (unless --iptables-variant nft|legacy; as render, auto detects),
then that variant's iptables-save and ip6tables-save, and ipset save. Compares chains
KUBEWALL-INPUT (filter) and KUBEWALL-BEFORE-DNAT (mangle) with their jumps from INPUT and
PREROUTING, and ipsets KUBEWALL-*; kube-proxy's chains are skipped unparsed. Warns about
DROP or ACCEPT rules ahead of kubewall's jump, INPUT policy DROP, ufw's or firewalld's chains,
and rules in the other iptables variant. --from takes the three dumps in one file (a plain
iptables-save works too: IPv6 and sets are then not compared, and the report says so):
  $ sudo sh -c 'iptables-save; ip6tables-save; ipset save' > node-1.iptables
  $ kubewall diff --backend iptables --role worker --cluster examples/cluster.yaml --from node-1.iptables

ufw: reads ufw status verbose, /etc/default/ufw and /etc/ufw/user{,6}.rules (the rules ufw
loads, with each rule's comment: only rules tagged "kubewall ..." are compared, one per peer
address; ufw has no sets). Compares whether ufw is active and its default incoming policy;
warns about untagged rules and a DROP forward policy. --from takes the same in one file:
  $ sudo sh -c 'ufw status verbose; cat /etc/default/ufw /etc/ufw/user.rules /etc/ufw/user6.rules' > node-1.ufw
  $ kubewall diff --backend ufw --role worker --cluster examples/cluster.yaml --from node-1.ufw

Exit codes: 0 in sync, 2 changes pending, 1 error (bad usage, unreadable host or dump).`,
    )
    .action(async (flags: DiffFlags) => {
      try {
        if (flags.backend === undefined) throw new DiffUsageError(`--backend is required (expected ${BACKEND_NAMES.join(', ')})`);
        const roles = parseRoles(flags.role);
        const format = parseChoice('--format', flags.format, ['text', 'json'] as const);
        await getHostReader(flags.backend);
        if (flags.from === '') throw new DiffUsageError('--from: empty file name (use - for stdin)');
        const timeout = Number(flags.timeout);
        if (!/^\d+(\.\d+)?$/.test(flags.timeout) || timeout <= 0) throw new DiffUsageError(`--timeout: expected seconds > 0, e.g. 10 or 0.5, not ${showValue(flags.timeout)}`);
        const plan = await planFromFiles({ roles, ...planInputs(flags) });
        if (flags.iptablesVariant !== undefined && flags.backend !== 'iptables') {
          throw new DiffUsageError(`--iptables-variant applies to --backend iptables only (got --backend ${flags.backend})`);
        }
        if (flags.iptablesVariant !== undefined && !(IPTABLES_VARIANT_CHOICES as readonly string[]).includes(flags.iptablesVariant)) {
          throw new DiffUsageError(`--iptables-variant: ${unknownValueMessage('value', flags.iptablesVariant, IPTABLES_VARIANT_CHOICES)}`);
        }
        // A file is handed over by name: a reader may take only the parts it needs (nftables, large dumps).
        const source: HostSource =
          flags.from === undefined
            ? { kind: 'live', runner: createExecaRunner({ timeoutMs: timeout * 1000 }) }
            : flags.from === '-'
              ? await readSaved(flags.from)
              : { kind: 'saved-file', path: flags.from, origin: flags.from };
        const report = await diffHost(plan, flags.backend, source, flags.iptablesVariant === undefined ? {} : { iptablesVariant: flags.iptablesVariant });
        printWarnings(plan.warnings);
        process.stdout.write(format === 'json' ? escapeJsonText(formatDiffJson(report)) : formatDiffText(escapeStringsDeep(report), choosePalette(process.stdout, process.env)));
        process.exitCode = report.result.inSync ? DIFF_EXIT.inSync : DIFF_EXIT.changes;
      } catch (error) {
        if (error instanceof KubewallError && error.code === 'USAGE' && !(error instanceof DiffUsageError)) {
          throw new DiffUsageError(error.message, { cause: error });
        }
        throw error;
      }
    });
  program.addCommand(command);
}
