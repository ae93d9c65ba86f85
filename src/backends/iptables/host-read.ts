import { LINK_LOCAL_V6 } from '../../plan/types.js';
import { normalizePlan } from '../../diff/normalize-plan.js';
import type { HostWarning, NormalizedChain, NormalizedRule, NormalizedRuleset } from '../../diff/types.js';
import { KubewallError } from '../../errors.js';
import { requireOutput } from '../../host/describe-failure.js';
import { chooseIptablesVariant } from '../../host/detect-iptables-variant.js';
import { countSaveRules, gatherCommonProbes, warningsFromProbes } from '../../host/probes.js';
import type { CommandRunner, HostDump, HostReader, RawHostState } from '../../host/types.js';
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
 * Reads kubewall's iptables state, read-only: the variant's
 * `iptables-save`, `ip6tables-save` and `ipset save`, plus the probes for
 * other firewall managers and for rules in the other iptables variant.
 */
export const iptablesHostReader: HostReader = {
  commands: [
    'iptables -V (unless --iptables-variant nft|legacy)',
    'iptables-{nft,legacy}-save',
    'ip6tables-{nft,legacy}-save',
    'ipset save',
    'firewall-cmd --state',
    'ufw status',
    'cat /proc/net/ip{,6}_tables_names',
    'ip{,6}tables-{legacy,nft}-save of the other variant',
  ],
  savedFormat: IPTABLES_SAVED_FORMAT,
  async gather(runner, options = {}) {
    const { variant, note } = await chooseVariant(runner, options);
    const commands = variantCommands(variant);
    const dumps: HostDump[] = [];
    for (const family of FAMILIES) {
      const save = commands.save[family];
      dumps.push({ origin: save, kind: IPTABLES_DUMP_KINDS[family], text: requireOutput(await runner.run(save, []), { command: save, packageName: 'iptables' }) });
    }
    dumps.push({ origin: 'ipset save', kind: IPTABLES_DUMP_KINDS.ipset, text: requireOutput(await runner.run('ipset', ['save']), { command: 'ipset save', packageName: 'ipset' }) });
    const probes = await gatherCommonProbes(runner);
    // The legacy probe reads the tables of iptables-legacy: on a legacy host those are kubewall's own.
    if (variant === 'legacy') {
      for (const save of Object.values(variantCommands(otherVariant(variant)).save)) {
        const other = await runner.run(save, []);
        if (other.status === 'exited' && other.exitCode === 0) dumps.push({ origin: save, kind: OTHER_VARIANT_DUMP, text: other.stdout });
      }
    } else dumps.push(...probes.dumps);
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
