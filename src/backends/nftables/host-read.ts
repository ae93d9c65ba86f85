import { normalizePlan } from '../../diff/normalize-plan.js';
import type { HostWarning, NormalizedRule, NormalizedRuleset } from '../../diff/types.js';
import { FAMILIES } from '../../model.js';
import { requireOutput } from '../../host/describe-failure.js';
import { gatherCommonProbes, warningsFromProbes } from '../../host/probes.js';
import type { HostReader, RawHostState } from '../../host/types.js';
import { parseNftRuleset } from './parse.js';
import { NFT_BEFORE_DNAT_PRIORITY, NFT_TABLE } from './view.js';

const LIST_RULESET = ['-j', 'list', 'ruleset'] as const;
const NFT_JSON = 'nft-json';

/** The hook details the render gives each chain (see view.ts), compared with the host's. */
const CHAIN_DETAILS: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  input: { type: 'filter', hook: 'input', priority: '0' },
  'before-dnat': { type: 'filter', hook: 'prerouting', priority: String(NFT_BEFORE_DNAT_PRIORITY) },
};

/**
 * Reads the nftables ruleset, read-only: `nft -j list ruleset`, plus the
 * status probes for other firewall managers. Only table inet kubewall is
 * compared; the rest only feeds warnings.
 */
export const nftablesHostReader = {
  commands: ['nft -j list ruleset', 'firewall-cmd --state', 'ufw status', 'cat /proc/net/ip{,6}_tables_names', 'ip{,6}tables-legacy-save'],
  savedFormat: 'the output of nft -j list ruleset',
  async gather(runner) {
    const ruleset = requireOutput(await runner.run('nft', LIST_RULESET), { command: 'nft -j list ruleset', packageName: 'nftables' });
    const probes = await gatherCommonProbes(runner);
    return { source: 'live', dumps: [{ origin: 'nft -j list ruleset', kind: NFT_JSON, text: ruleset }, ...probes.dumps], notes: probes.notes };
  },
  fromSaved(text, origin): RawHostState {
    return { source: origin, dumps: [{ origin, kind: NFT_JSON, text }], notes: [] };
  },
  parse(raw) {
    const dump = raw.dumps.find((d) => d.kind === NFT_JSON);
    if (!dump) throw new Error('nftables host reader: no nft -j dump gathered');
    const { ruleset, warnings } = parseNftRuleset(dump.text, dump.origin);
    const all: HostWarning[] = [...warnings];
    for (const warning of warningsFromProbes(raw)) if (!all.some((w) => w.code === warning.code)) all.push(warning);
    return { ruleset, warnings: all };
  },
  normalizePlan(plan, capabilities): NormalizedRuleset {
    const desired = normalizePlan(plan, capabilities, `table ${NFT_TABLE.family} ${NFT_TABLE.name}`);
    // The render ends the input chain with an explicit drop and gives every base chain policy
    // accept (see view.ts: a policy drop dropped new connections while `nft -f` replaced the
    // table), so the plan's input policy is that rule here, and a host still carrying
    // `policy drop` (kubewall before this change) diffs as a policy change.
    const lastInput = desired.rules.map((r) => r.chain).lastIndexOf('input');
    const finalDrop: NormalizedRule[] = FAMILIES.map((family) => ({ chain: 'input', family, source: null, match: { kind: 'all' }, verdict: plan.baseline.inputPolicy, origin: 'baseline: explicit final drop' }));
    return {
      ...desired,
      chains: desired.chains.map((chain) => ({ ...chain, policy: 'accept', details: CHAIN_DETAILS[chain.name] ?? {} })),
      rules: [...desired.rules.slice(0, lastInput + 1), ...finalDrop, ...desired.rules.slice(lastInput + 1)],
    };
  },
} satisfies HostReader;
