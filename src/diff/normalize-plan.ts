import type { BackendCapabilities } from '../backends/types.js';
import { FAMILIES, type Family } from '../model.js';
import { mergePortRanges } from '../ports.js';
import { networkIpProtocolRules, networkRules, setName, type IpProtocolRule, type Plan, type PlanRule } from '../plan/types.js';
import type { ChainName, NormalizedChain, NormalizedRule, NormalizedRuleset, RuleMatch, Verdict } from './types.js';

function both(chain: ChainName, match: RuleMatch, verdict: Verdict, origin: string): NormalizedRule[] {
  return FAMILIES.map((family) => ({ chain, family, source: null, match, verdict, origin }));
}

function portMatch(rule: PlanRule): RuleMatch {
  return { kind: 'ports', protocol: rule.protocol, ports: mergePortRanges(rule.ports) };
}

/** One rule per family (only the destination's with a destination); an address peer names that family's set. */
function acceptRules(chain: ChainName, rule: PlanRule): NormalizedRule[] {
  const families = rule.destination ? [rule.destination.family] : FAMILIES;
  return families.map((family: Family) => ({
    chain,
    family,
    source: rule.peer === 'any' || rule.peer === 'self' ? null : setName(rule.peer, family),
    ...(rule.destination ? { destination: rule.destination.address } : {}),
    match: portMatch(rule),
    verdict: 'accept' as const,
    origin: rule.id,
  }));
}

/** The baseline's IPv6 link-local rules, after the ICMPv6 rule. */
export function linkLocalNormalized(plan: Plan, chain: ChainName = 'input'): NormalizedRule[] {
  return plan.baseline.linkLocal.map((rule): NormalizedRule => ({
    chain,
    family: 'ipv6' as const,
    source: rule.source,
    // MLD is ICMPv6 types from a source: compared as a set of types, like the baseline's ICMPv6 rule.
    match: rule.match.kind === 'icmpv6' ? { kind: 'icmp' as const, types: [...rule.match.types].sort() } : { kind: 'link-local' as const, id: rule.id },
    verdict: 'accept' as const,
    origin: `baseline: ${rule.id}`,
  }));
}

/** kube-proxy ipvs: one accept per Service or external network, by destination, from anyone. */
function serviceDestinationRules(plan: Plan, chain: ChainName): NormalizedRule[] {
  return FAMILIES.flatMap((family) =>
    plan.kubeProxy.serviceDestinations[family].map((destination): NormalizedRule => ({
      chain,
      family,
      source: null,
      destination,
      match: { kind: 'all' },
      verdict: 'accept',
      origin: 'kube-proxy ipvs: Service and external IPs',
    })),
  );
}

/** One rule per family the IP protocol is written for (IP-in-IP: IPv4 only). */
function ipProtocolAcceptRules(rule: IpProtocolRule): NormalizedRule[] {
  return rule.families.map((family) => ({
    chain: 'input',
    family,
    source: rule.peer === 'any' || rule.peer === 'self' ? null : setName(rule.peer, family),
    match: { kind: 'ip-protocol', protocol: rule.ipProtocol },
    verdict: 'accept' as const,
    origin: rule.id,
  }));
}

/**
 * The desired side of a diff: what rendering this plan puts on a host, in
 * the normalized form. Pure; mirrors the backends' layout: an `input` chain
 * (baseline, then one accept per rule and family, port rules before IP
 * protocols) and, where the backend can
 * filter before kube-proxy's DNAT and the plan restricts a NodePort-like
 * rule or the NodePort range has ports no rule allows, a `before-dnat` chain
 * (accept the peers, drop the rest, drop the closed part of the range). In
 * kube-proxy ipvs mode both chains first accept the Service and external
 * networks by destination.
 */
export function normalizePlan(plan: Plan, capabilities: Pick<BackendCapabilities, 'filterBeforeDnat'>, scope = 'kubewall'): NormalizedRuleset {
  const rules = networkRules(plan);
  const input: NormalizedRule[] = [
    ...both('input', { kind: 'loopback' }, 'accept', 'baseline'),
    ...both('input', { kind: 'established' }, 'accept', 'baseline'),
    ...both('input', { kind: 'invalid' }, 'drop', 'baseline'),
    { chain: 'input', family: 'ipv4', source: null, match: { kind: 'icmp', types: [...plan.baseline.icmp].sort() }, verdict: 'accept', origin: 'baseline' },
    { chain: 'input', family: 'ipv6', source: null, match: { kind: 'icmp', types: [...plan.baseline.icmpv6].sort() }, verdict: 'accept', origin: 'baseline' },
    ...serviceDestinationRules(plan, 'input'),
    ...linkLocalNormalized(plan),
    ...rules.flatMap((rule) => acceptRules('input', rule)),
    ...networkIpProtocolRules(plan).flatMap(ipProtocolAcceptRules),
  ];
  const chains: NormalizedChain[] = [{ name: 'input', policy: plan.baseline.inputPolicy, details: {} }];
  const restricted = rules.filter((rule) => rule.filterBeforeDnat && rule.peer !== 'any');
  const { closedNodePorts } = plan.kubeProxy;
  const beforeDnat: NormalizedRule[] = [];
  if (capabilities.filterBeforeDnat && (restricted.length > 0 || closedNodePorts.length > 0)) {
    chains.push({ name: 'before-dnat', policy: 'accept', details: {} });
    beforeDnat.push(
      ...both('before-dnat', { kind: 'loopback' }, 'accept', 'baseline'),
      ...both('before-dnat', { kind: 'established' }, 'accept', 'baseline'),
      ...both('before-dnat', { kind: 'not-local' }, 'accept', 'baseline'),
      ...serviceDestinationRules(plan, 'before-dnat'),
      ...restricted.flatMap((rule) => acceptRules('before-dnat', rule)),
    );
    const dropped = new Map<string, PlanRule>();
    // Like the render: one drop per entry and protocol, with the ports of the last rule for it.
    for (const rule of restricted) dropped.set(`${rule.entry}/${rule.protocol}`, rule);
    for (const rule of dropped.values()) beforeDnat.push(...both('before-dnat', portMatch(rule), 'drop', `${rule.entry}/${rule.protocol}: other sources`));
    for (const closed of closedNodePorts) {
      beforeDnat.push(...both('before-dnat', { kind: 'ports', protocol: closed.protocol, ports: mergePortRanges(closed.ports) }, 'drop', `nodePortRange: ${closed.protocol} no rule allows`));
    }
  }
  return {
    scope,
    present: true,
    chains,
    rules: [...input, ...beforeDnat],
    sets: plan.sets.map((set) => ({ name: set.name, family: set.family, elements: set.elements })),
  };
}
