import type { HostWarning, NormalizedRule, NormalizedRuleset, RuleMatch } from '../../diff/types.js';
import { requireOutput } from '../../host/describe-failure.js';
import { canonicalSource } from '../../host/iptables-rule.js';
import { linkLocalNormalized } from '../../diff/normalize-plan.js';
import type { CommandRunner, HostDump, HostReader, RawHostState } from '../../host/types.js';
import { FAMILIES, type Family } from '../../model.js';
import { mergePortRanges } from '../../ports.js';
import { networkIpProtocolRules, networkRules, type IpProtocolRule, type Plan, type PlanRule } from '../../plan/types.js';
import { parseUfwDumps, UFW_DUMP_KIND, UFW_SCOPE } from './parse.js';

/** What `--from` expects, for --help and docs. */
export const UFW_SAVED_FORMAT = "the output of sh -c 'ufw status verbose; cat /etc/default/ufw /etc/ufw/user.rules /etc/ufw/user6.rules'";

const STATUS = ['status', 'verbose'] as const;

async function optionalFile(runner: CommandRunner, file: string): Promise<HostDump | undefined> {
  const outcome = await runner.run('cat', [file]);
  return outcome.status === 'exited' && outcome.exitCode === 0 ? { origin: file, kind: UFW_DUMP_KIND, text: outcome.stdout } : undefined;
}

/**
 * Reads kubewall's ufw rules, read-only: `ufw status verbose` (enabled, and
 * the errors for a missing ufw or a missing root), /etc/default/ufw, and the
 * user rules files ufw loads at start (what `ufw show added` lists, per
 * family, with each rule's comment: kubewall's tag). The files, not the live
 * chains, because they hold the rules whether ufw is enabled or not.
 */
export const ufwHostReader: HostReader = {
  commands: ['ufw status verbose', 'cat /etc/default/ufw', 'cat /etc/ufw/user.rules', 'cat /etc/ufw/user6.rules', 'firewall-cmd --state'],
  savedFormat: UFW_SAVED_FORMAT,
  async gather(runner) {
    const status = requireOutput(await runner.run('ufw', STATUS), { command: 'ufw status verbose', packageName: 'ufw' });
    const dumps: HostDump[] = [{ origin: 'ufw status verbose', kind: UFW_DUMP_KIND, text: status }];
    const defaults = await optionalFile(runner, '/etc/default/ufw');
    if (defaults) dumps.push(defaults);
    const rules = requireOutput(await runner.run('cat', ['/etc/ufw/user.rules']), { command: 'cat /etc/ufw/user.rules', packageName: 'ufw' });
    dumps.push({ origin: '/etc/ufw/user.rules', kind: UFW_DUMP_KIND, text: rules });
    const rules6 = await optionalFile(runner, '/etc/ufw/user6.rules');
    if (rules6) dumps.push(rules6);
    const notes: string[] = [];
    const firewalld = await runner.run('firewall-cmd', ['--state']);
    if (firewalld.status === 'exited' && firewalld.exitCode === 0 && /^running/m.test(firewalld.stdout)) notes.push('firewalld-state: running');
    return { source: 'live', dumps, notes };
  },
  fromSaved(text, origin): RawHostState {
    return { source: origin, dumps: [{ origin, kind: UFW_DUMP_KIND, text }], notes: [] };
  },
  parse(raw) {
    const parsed = parseUfwDumps(raw.dumps);
    const warnings: HostWarning[] = [...parsed.warnings];
    if (raw.notes.includes('firewalld-state: running')) {
      warnings.push({ code: 'firewalld-active', message: 'firewalld is running (firewall-cmd --state): it filters the same traffic beside ufw; run one firewall manager' });
    }
    return { ruleset: parsed.ruleset, warnings, ...(parsed.unread ? { unread: parsed.unread } : {}) };
  },
  normalizePlan(plan): NormalizedRuleset {
    return normalizeUfwPlan(plan);
  },
};

/**
 * The desired side as the ufw render lays it out: ufw active with default
 * deny incoming, and one allow rule per (plan rule, peer address), ufw
 * having no sets; a rule from any address is one per family. The baseline
 * (loopback, established, ICMP) lives in ufw's before.rules, not kubewall's.
 */
export function normalizeUfwPlan(plan: Plan): NormalizedRuleset {
  const rules: NormalizedRule[] = [];
  const planned: { rule: PlanRule | IpProtocolRule; families: readonly Family[]; match: RuleMatch }[] = [
    ...networkRules(plan).map((rule) => ({ rule, families: FAMILIES, match: { kind: 'ports' as const, protocol: rule.protocol, ports: mergePortRanges(rule.ports) } })),
    // esp and vrrp (ufw's `proto esp`); the render refuses IP-in-IP, which ufw cannot express.
    ...networkIpProtocolRules(plan).map((rule) => ({ rule, families: rule.families, match: { kind: 'ip-protocol' as const, protocol: rule.ipProtocol } })),
  ];
  for (const { rule, families: all, match } of planned) {
    const destination = 'destination' in rule && rule.destination ? rule.destination : undefined;
    const families = destination ? [destination.family] : all;
    const base = { chain: 'input', match, verdict: 'accept' as const, origin: rule.id, ...(destination ? { destination: destination.address } : {}) };
    if (rule.peer === 'any') rules.push(...families.map((family) => ({ ...base, family, source: null })));
    else if (rule.peer !== 'self') {
      for (const set of plan.sets.filter((s) => s.peer === rule.peer && families.includes(s.family))) {
        // ufw writes `from 0.0.0.0/0` as a rule without -s: from any address of that family.
        for (const element of set.elements) rules.push({ ...base, family: set.family, source: /^(0\.0\.0\.0|::)\/0$/.test(element) ? null : canonicalSource(element) });
      }
    }
  }
  // MLD and DHCPv6 replies are in ufw's stock before6.rules; only VRRP's link-local rule is kubewall's.
  rules.push(...linkLocalNormalized(plan).filter((rule) => rule.match.kind === 'link-local' && rule.match.id === 'vrrp'));
  return { scope: UFW_SCOPE, present: true, chains: [{ name: 'input', policy: 'drop', details: { ufw: 'active' } }], rules, sets: [] };
}
