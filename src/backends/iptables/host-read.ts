import { LINK_LOCAL_V6 } from '../../plan/types.js';
import { normalizePlan } from '../../diff/normalize-plan.js';
import type { HostWarning, NormalizedChain, NormalizedRule, NormalizedRuleset } from '../../diff/types.js';
import { KubewallError } from '../../errors.js';
import { requireOutput } from '../../host/describe-failure.js';
import { chooseIptablesVariant } from '../../host/detect-iptables-variant.js';
import { countSaveRules, gatherCommonProbes, warningsFromProbes } from '../../host/probes.js';
import type { CommandOutcome, CommandRunner, HostDump, HostReader, RawHostState } from '../../host/types.js';
import { FAMILIES } from '../../model.js';
import type { BackendOptions } from '../types.js';
import { IPTABLES_DUMP_KINDS, IPTABLES_SCOPE, jumpDetail, KUBEWALL_CHAINS, parseIptablesDumps, splitIptablesDump } from './parse.js';
import { ipsetElements, ipsetName, IPTABLES_VARIANTS, otherVariant, variantCommands, type IptablesVariant } from './view.js';

/** The other variant's rules, dumped only to warn that they apply beside this one. */
const OTHER_VARIANT_DUMP = 'iptables-other-variant';
/** What `--from` expects, for --help and docs. */
export const IPTABLES_SAVED_FORMAT = "the output of sh -c 'iptables-save; ip6tables-save; ipset save' (or a plain iptables-save: IPv6 and sets are then not compared)";

/** The variant to read: the option as given, else what the host's `iptables -V` says (as render does). */
async function chooseVariant(runner: CommandRunner, options: BackendOptions): Promise<{ variant: IptablesVariant; note: string }> {
  const given = options['iptablesVariant'];
  if (given === 'nft' || given === 'legacy') return { variant: given, note: `iptables-variant: ${given} (--iptables-variant)` };
  if (given !== undefined && given !== 'auto') {
    throw new KubewallError('USAGE', `--iptables-variant: unknown value ${JSON.stringify(given)} (expected ${[...IPTABLES_VARIANTS, 'auto'].join(', ')})`);
  }
  const version = await runner.run('iptables', ['-V']);
  const output = version.status === 'exited' && version.exitCode === 0 ? `${version.stdout}\n${version.stderr}`.trim() : null;
  const resolved = chooseIptablesVariant(output);
  return { variant: resolved.variant, note: `iptables-variant: ${resolved.variant} (${resolved.source})` };
}

/**
 * Pure: `iptables -t TABLE -S CHAIN` listings of one table (`-P INPUT ACCEPT`,
 * `-N KUBEWALL-INPUT`, `-A ...`) as the iptables-save text the parser reads:
 * the rule lines are the same text in both forms. Throws HOST_READ on a
 * line that is none of these.
 */
export function saveTextFromListings(table: string, listings: readonly { readonly command: string; readonly text: string }[]): string {
  const heads: string[] = [];
  const rules: string[] = [];
  for (const { command, text } of listings) {
    text.split('\n').forEach((line, index) => {
      const policy = /^-P (\S+) (\S+)$/.exec(line);
      if (policy) heads.push(`:${policy[1]} ${policy[2]} [0:0]`);
      else if (/^-N \S+$/.test(line)) heads.push(`:${line.slice(3)} - [0:0]`);
      else if (line.startsWith('-A ')) rules.push(line);
      else if (line.trim() !== '') {
        throw new KubewallError('HOST_READ', `cannot parse the iptables ruleset: ${command}: line ${index + 1}: not iptables -S output: ${JSON.stringify(line.slice(0, 80))}`);
      }
    });
  }
  return heads.length === 0 ? '' : [`*${table}`, ...heads, ...rules, 'COMMIT', ''].join('\n');
}

/**
 * One family's part of what kubewall compares, as iptables-save text: for
 * each of its chains, the built-in chain that jumps to it and the chain
 * itself, listed with `iptables -t TABLE -S CHAIN`. Unlike iptables-save,
 * which reads every table (18 s on a node with kube-proxy's 5,000
 * Services, even with -t under iptables-nft), a single chain lists in
 * milliseconds; kube-proxy's nat table is never read. iptables-legacy
 * loads a table's module when it is named, so only loaded tables are asked.
 */
async function listOwnChains(runner: CommandRunner, variant: IptablesVariant, family: (typeof FAMILIES)[number]): Promise<string> {
  const tool = variantCommands(variant).iptables[family];
  let loaded: Set<string> | undefined;
  if (variant === 'legacy') {
    const names = family === 'ipv4' ? '/proc/net/ip_tables_names' : '/proc/net/ip6_tables_names';
    const outcome = await runner.run('cat', [names]);
    loaded = new Set(outcome.status === 'exited' && outcome.exitCode === 0 ? outcome.stdout.split(/\s+/) : []);
  }
  const tables = [...new Set(KUBEWALL_CHAINS.map((spec) => spec.table))].filter((table) => !loaded || loaded.has(table));
  const texts = await Promise.all(
    tables.map(async (table) => {
      const specs = KUBEWALL_CHAINS.filter((spec) => spec.table === table);
      const list = async (chain: string, mayBeMissing: boolean) => {
        const command = `${tool} -t ${table} -S ${chain}`;
        const outcome: CommandOutcome = await runner.run(tool, ['-t', table, '-S', chain]);
        // kubewall's chain may not exist (yet): iptables then exits 1 and prints nothing.
        if (mayBeMissing && outcome.status === 'exited' && outcome.exitCode === 1 && outcome.stdout.trim() === '') return { command, text: '' };
        return { command, text: requireOutput(outcome, { command, packageName: 'iptables' }) };
      };
      const listings = await Promise.all(specs.flatMap((spec) => [list(spec.from, false), list(spec.chain, true)]));
      return saveTextFromListings(table, listings);
    }),
  );
  return texts.join('');
}

/**
 * Reads kubewall's iptables state, read-only: the variant's
 * `iptables-save`, `ip6tables-save` and `ipset save`, plus the probes for
 * other firewall managers and for rules in the other iptables variant.
 */
export const iptablesHostReader: HostReader = {
  commands: [
    'iptables -V (unless --iptables-variant nft|legacy)',
    'ip{,6}tables-{nft,legacy} -t filter -S INPUT, -S KUBEWALL-INPUT, -t mangle -S PREROUTING, -S KUBEWALL-BEFORE-DNAT',
    'ipset save',
    'firewall-cmd --state',
    'ufw status',
    'cat /proc/net/ip{,6}_tables_names',
    'ip{,6}tables-legacy-save -t TABLE (each loaded table but nat), or ip{,6}tables-nft-save -t filter on a legacy host',
  ],
  savedFormat: IPTABLES_SAVED_FORMAT,
  async gather(runner, options = {}) {
    const { variant, note } = await chooseVariant(runner, options);
    const commands = variantCommands(variant);
    const [ipv4, ipv6, ipsets, probes, other] = await Promise.all([
      listOwnChains(runner, variant, 'ipv4'),
      listOwnChains(runner, variant, 'ipv6'),
      runner.run('ipset', ['save']).then((outcome) => requireOutput(outcome, { command: 'ipset save', packageName: 'ipset' })),
      gatherCommonProbes(runner),
      // The legacy probe reads the tables of iptables-legacy: on a legacy host those are kubewall's own,
      // so there the other variant is read instead (its filter table: nat is kube-proxy's, and slow).
      variant === 'legacy'
        ? Promise.all(Object.values(variantCommands(otherVariant(variant)).save).map(async (save) => ({ save, outcome: await runner.run(save, ['-t', 'filter']) })))
        : Promise.resolve([]),
    ]);
    const dumps: HostDump[] = [
      { origin: `${commands.iptables.ipv4} -t TABLE -S CHAIN`, kind: IPTABLES_DUMP_KINDS.ipv4, text: ipv4 },
      { origin: `${commands.iptables.ipv6} -t TABLE -S CHAIN`, kind: IPTABLES_DUMP_KINDS.ipv6, text: ipv6 },
      { origin: 'ipset save', kind: IPTABLES_DUMP_KINDS.ipset, text: ipsets },
    ];
    for (const { save, outcome } of other) {
      if (outcome.status === 'exited' && outcome.exitCode === 0) dumps.push({ origin: save, kind: OTHER_VARIANT_DUMP, text: outcome.stdout });
    }
    if (variant !== 'legacy') dumps.push(...probes.dumps);
    return { source: 'live', dumps, notes: [...probes.notes, note] };
  },
  fromSaved(text, origin): RawHostState {
    return { source: origin, dumps: splitIptablesDump(text, origin), notes: [] };
  },
  parse(raw) {
    const parsed = parseIptablesDumps(raw.dumps);
    const warnings: HostWarning[] = [...parsed.warnings];
    for (const warning of warningsFromProbes(raw)) if (!warnings.some((w) => w.code === warning.code)) warnings.push(warning);
    for (const dump of raw.dumps.filter((d) => d.kind === OTHER_VARIANT_DUMP)) {
      const { rules } = countSaveRules(dump.text);
      if (rules > 0) {
        warnings.push({ code: 'iptables-nft', message: `${dump.origin} shows ${rules} rule${rules === 1 ? '' : 's'} in iptables-nft beside iptables-legacy: both apply, unseen by each other (kubernetes #71305)` });
      }
    }
    return { ruleset: parsed.ruleset, warnings, ...(parsed.unread ? { unread: parsed.unread } : {}) };
  },
  normalizePlan(plan, capabilities): NormalizedRuleset {
    return normalizeIptablesPlan(plan, capabilities);
  },
};

/**
 * The desired side as the iptables render lays it out: both chains always
 * exist and are jumped to (an empty KUBEWALL-BEFORE-DNAT when no NodePort is
 * restricted), KUBEWALL-INPUT ends with an explicit DROP (a user chain has
 * no policy: what it RETURNs goes back to INPUT), and peers are ipsets named
 * KUBEWALL-<SET>, /0 stored as two halves.
 */
export function normalizeIptablesPlan(plan: Parameters<typeof normalizePlan>[0], capabilities: Parameters<typeof normalizePlan>[1]): NormalizedRuleset {
  const base = normalizePlan(plan, capabilities, IPTABLES_SCOPE);
  // A literal source (the link-local baseline's fe80::/10) is written as -s, not as a set.
  const rename = (rule: NormalizedRule): NormalizedRule => (rule.source === null || rule.source === LINK_LOCAL_V6 ? rule : { ...rule, source: ipsetName({ name: rule.source }) });
  const finalDrop: NormalizedRule[] = FAMILIES.map((family) => ({ chain: 'input', family, source: null, match: { kind: 'all' }, verdict: 'drop', origin: 'baseline: final drop' }));
  const chains: NormalizedChain[] = KUBEWALL_CHAINS.map((spec) => ({
    name: spec.name,
    policy: 'accept',
    details: Object.fromEntries(FAMILIES.map((family) => [jumpDetail(spec.from, family), 'present'])),
  }));
  return {
    scope: IPTABLES_SCOPE,
    present: true,
    chains,
    rules: [...base.rules.filter((r) => r.chain === 'input').map(rename), ...finalDrop, ...base.rules.filter((r) => r.chain === 'before-dnat').map(rename)],
    sets: plan.sets.map((set) => ({ name: ipsetName(set), family: set.family, elements: ipsetElements(set) })),
  };
}
