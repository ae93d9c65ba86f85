import type { DiffResult } from '../../diff/diff-rulesets.js';
import { formatRule } from '../../diff/format-diff.js';
import { parseAddressElement } from '../../diff/intervals.js';
import type { HostWarning, NormalizedChain, NormalizedRule, NormalizedRuleset, NormalizedSet, RuleMatch, Verdict } from '../../diff/types.js';
import { FAMILIES, type Family, type PortRange, type Protocol } from '../../model.js';
import { hostIpProtocolNumber } from '../../host/ip-protocol-names.js';
import { canonicalSource } from '../../host/iptables-rule.js';
import { LINK_LOCAL_V6 } from '../../plan/types.js';
import { mergePortRanges, parsePortRange } from '../../ports.js';
import { FIREWALLD_CATCH_ALL_SOURCES, FIREWALLD_IPSET_PREFIX, FIREWALLD_ZONE } from './config.js';
import { FirewalldParseError, type FirewalldState, type FirewalldZoneState, type RichRule } from './host-state.js';

/** Where kubewall's rules live on a firewalld host, for messages. */
export const FIREWALLD_SCOPE = `firewalld zone ${FIREWALLD_ZONE} and ipsets ${FIREWALLD_IPSET_PREFIX}*`;

/** The zone is one chain in the normalized form: its target is the policy, these properties are compared as they are. */
export const FIREWALLD_CHAIN = 'input';

/** What kubewall's zone file sets besides its rules (see config.ts); `(none)` for an empty list. */
export const DESIRED_ZONE_DETAILS: Readonly<Record<string, string>> = {
  target: 'DROP',
  sources: [...FIREWALLD_CATCH_ALL_SOURCES].sort().join(' '),
  interfaces: '(none)',
  forward: 'yes',
  masquerade: 'no',
  'icmp-block-inversion': 'no',
};

/** Address sets: the types whose entries are addresses, CIDRs or ranges. */
const ADDRESS_IPSET_TYPES = new Set(['hash:net', 'hash:ip']);

const list = (items: readonly string[]) => (items.length === 0 ? '(none)' : [...items].sort().join(' '));
const yesNo = (value: boolean) => (value ? 'yes' : 'no');

/** `DROP` and `%%REJECT%%` refuse what no rule accepts; `ACCEPT` and `default` (reject, but ICMP passes) are told apart in details. */
function zonePolicy(target: string): Verdict {
  return target === 'ACCEPT' ? 'accept' : 'drop';
}

function portRange(port: string): PortRange | undefined {
  const range = parsePortRange(port);
  return typeof range === 'string' ? undefined : range;
}

/** An item kubewall never writes, reported as firewall-cmd prints it; `origin` says what kind of item it is. */
function other(text: string, verdict: Verdict, origin: string): NormalizedRule {
  return { chain: FIREWALLD_CHAIN, family: null, source: null, match: { kind: 'other', text }, verdict, origin };
}

function perFamily(family: Family | undefined, source: string | null, match: RuleMatch, verdict: Verdict, origin: string): NormalizedRule[] {
  return (family ? [family] : FAMILIES).map((f) => ({ chain: FIREWALLD_CHAIN, family: f, source, match, verdict, origin }));
}

function linkLocalId(source: string, destination: string | undefined, match: RuleMatch): string | undefined {
  if (source !== LINK_LOCAL_V6) return undefined;
  if (destination === undefined && match.kind === 'ip-protocol' && match.protocol === 58) return 'mld';
  if (destination === undefined && match.kind === 'ports' && match.protocol === 'udp' && match.ports.length === 1 && match.ports[0]!.from === 546 && match.ports[0]!.to === 546) return 'dhcpv6-client';
  if (destination === 'ff02::12' && match.kind === 'ip-protocol' && match.protocol === 112) return 'vrrp';
  return undefined;
}

/**
 * One rich rule in the normalized form, or an `other` rule: kubewall writes
 * only `[family] [source ipset] port|protocol|icmp-type accept`; anything else
 * (addresses, NOT, services, log, limit, priority, reject, ...) is reported as it is.
 */
export function normalizeRichRule(rule: RichRule): NormalizedRule[] {
  const denies = rule.elements.some((e) => e.name === 'drop' || e.name === 'reject');
  const unmapped = () => [other(rule.text, denies ? 'drop' : 'accept', 'rich rule')];
  const { family, priority, ...restAttributes } = rule.attributes;
  if (rule.elements.length === 0 || Object.keys(restAttributes).length > 0) return unmapped();
  if (family !== undefined && family !== 'ipv4' && family !== 'ipv6') return unmapped();
  if (priority !== undefined && priority !== '0') return unmapped();
  let source: string | null = null;
  let sourceAddress: string | undefined;
  let destination: string | undefined;
  let match: RuleMatch | undefined;
  let verdict: Verdict | undefined;
  for (const element of rule.elements) {
    const keys = Object.keys(element.attributes).sort().join(',');
    if (element.name === 'source' && !element.inverted && keys === 'ipset' && source === null && sourceAddress === undefined) {
      source = element.attributes['ipset']!;
    } else if (element.name === 'source' && !element.inverted && keys === 'address' && source === null && sourceAddress === undefined) {
      sourceAddress = canonicalSource(element.attributes['address']!);
    } else if (element.name === 'destination' && !element.inverted && keys === 'address' && destination === undefined) {
      destination = canonicalSource(element.attributes['address']!);
    } else if (element.name === 'port' && keys === 'port,protocol' && match === undefined) {
      const range = portRange(element.attributes['port']!);
      const protocol = element.attributes['protocol'];
      if (!range || (protocol !== 'tcp' && protocol !== 'udp')) return unmapped();
      match = { kind: 'ports', protocol: protocol as Protocol, ports: [range] };
    } else if (element.name === 'protocol' && keys === 'value' && match === undefined && !element.inverted) {
      // kubewall writes the number; firewalld keeps the value as given, so a name (`esp`) typed by hand is read too.
      const protocol = hostIpProtocolNumber(element.attributes['value']!);
      if (protocol === undefined) return unmapped();
      match = { kind: 'ip-protocol', protocol };
    } else if (element.name === 'icmp-type' && keys === 'name' && match === undefined) {
      match = { kind: 'icmp', types: [element.attributes['name']!] };
    } else if ((element.name === 'accept' || element.name === 'drop') && keys === '' && verdict === undefined && !element.inverted) {
      verdict = element.name;
    } else {
      return unmapped();
    }
  }
  if (!match || !verdict) return unmapped();
  if (sourceAddress !== undefined) {
    // Only the link-local baseline (linkLocalItems in config.ts) writes a literal source.
    const id = linkLocalId(sourceAddress, destination, match);
    if (family !== 'ipv6' || id === undefined) return unmapped();
    return perFamily('ipv6', sourceAddress, { kind: 'link-local', id }, verdict, rule.text);
  }
  if (destination !== undefined) {
    if (match.kind !== 'ports' || family === undefined) return unmapped();
    return perFamily(family as Family, source, match, verdict, rule.text).map((r) => ({ ...r, destination }));
  }
  return perFamily(family as Family | undefined, source, match, verdict, rule.text);
}

/** Every filtering item of a zone in the normalized form, denials first (firewalld's deny chain runs before its allow chain). */
export function normalizeZoneRules(zone: FirewalldZoneState): NormalizedRule[] {
  const rules: NormalizedRule[] = [];
  for (const { port, protocol } of zone.ports) {
    const range = portRange(port);
    const text = `port ${port}/${protocol}`;
    if (range && (protocol === 'tcp' || protocol === 'udp')) rules.push(...perFamily(undefined, null, { kind: 'ports', protocol, ports: mergePortRanges([range]) }, 'accept', text));
    else rules.push(other(text, 'accept', 'zone port'));
  }
  for (const rule of zone.richRules) rules.push(...normalizeRichRule(rule));
  for (const service of zone.services) rules.push(other(`service ${service}`, 'accept', 'zone service'));
  for (const protocol of zone.protocols) rules.push(other(`protocol ${protocol}`, 'accept', 'zone protocol'));
  for (const { port, protocol } of zone.sourcePorts) rules.push(other(`source-port ${port}/${protocol}`, 'accept', 'zone source-port'));
  for (const forward of zone.forwardPorts) rules.push(other(`forward-port ${forward}`, 'accept', 'zone forward-port'));
  for (const block of zone.icmpBlocks) rules.push(other(`icmp-block ${block}`, 'drop', 'zone icmp-block'));
  return [...rules.filter((r) => r.verdict === 'drop'), ...rules.filter((r) => r.verdict !== 'drop')];
}

export function zoneChain(zone: FirewalldZoneState): NormalizedChain {
  return {
    name: FIREWALLD_CHAIN,
    policy: zonePolicy(zone.target),
    details: {
      target: zone.target,
      sources: list(zone.sources),
      interfaces: list(zone.interfaces),
      forward: yesNo(zone.forward),
      masquerade: yesNo(zone.masquerade),
      'icmp-block-inversion': yesNo(zone.icmpBlockInversion),
    },
  };
}

export interface NormalizedFirewalld {
  readonly ruleset: NormalizedRuleset;
  readonly warnings: HostWarning[];
}

/**
 * Zone kubewall and the ipsets named kubewall-* in the normalized form; the
 * other zones only feed warnings. Pure; throws FirewalldParseError for an
 * ipset entry that is not an address of its family.
 */
export function normalizeFirewalld(state: FirewalldState): NormalizedFirewalld {
  const warnings: HostWarning[] = [];
  const zone = state.zones.get(FIREWALLD_ZONE);
  const sets: NormalizedSet[] = [];
  for (const ipset of [...state.ipsets.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    if (!ipset.name.startsWith(FIREWALLD_IPSET_PREFIX)) continue;
    if (!ADDRESS_IPSET_TYPES.has(ipset.type)) {
      warnings.push({ code: 'foreign-object', message: `ipset ${ipset.name} (type ${ipset.type}) is not one kubewall writes (hash:net); applying deletes it with the other ${FIREWALLD_IPSET_PREFIX}* ipsets` });
      continue;
    }
    const family: Family = ipset.options['family'] === 'inet6' ? 'ipv6' : 'ipv4';
    for (const entry of ipset.entries) {
      if (!parseAddressElement(entry, family)) throw new FirewalldParseError(`ipset ${ipset.name}: entry ${JSON.stringify(entry)} is not an ${family} address, CIDR or range`);
    }
    sets.push({ name: ipset.name, family, elements: ipset.entries });
  }
  if (zone) warnings.push(...zonesBefore(state, zone));
  const ruleset: NormalizedRuleset = {
    scope: FIREWALLD_SCOPE,
    present: zone !== undefined || sets.length > 0,
    chains: zone ? [zoneChain(zone)] : [],
    rules: zone ? normalizeZoneRules(zone) : [],
    sets,
  };
  return { ruleset, warnings };
}

/**
 * Zones that bind sources and are checked before kubewall's: firewalld
 * dispatches source-bound zones by ingress priority (2.0 and later), else by
 * name (1.x), and a packet goes to the first zone whose source matches.
 */
function zonesBefore(state: FirewalldState, ours: FirewalldZoneState): HostWarning[] {
  const warnings: HostWarning[] = [];
  for (const zone of state.zones.values()) {
    if (zone.name === ours.name || zone.sources.length === 0) continue;
    const byPriority = zone.ingressPriority !== undefined && ours.ingressPriority !== undefined;
    const first = byPriority
      ? zone.ingressPriority! < ours.ingressPriority! || (zone.ingressPriority === ours.ingressPriority && zone.name < ours.name)
      : zone.name < ours.name;
    if (!first) continue;
    const why = byPriority ? `ingress-priority ${zone.ingressPriority} against ${ours.ingressPriority}` : 'firewalld 1.x checks source zones in name order';
    warnings.push({
      code: 'zone-takes-traffic-first',
      message: `zone ${zone.name} (target ${zone.target}) binds sources ${zone.sources.join(' ')} and is checked before zone ${ours.name} (${why}): traffic from those sources is classified there, and kubewall's rules never see it`,
    });
  }
  return warnings;
}

const MAX_LISTED = 8;

function listed(items: readonly string[]): string {
  const shown = items.slice(0, MAX_LISTED).join('; ');
  return items.length > MAX_LISTED ? `${shown}; and ${items.length - MAX_LISTED} more` : shown;
}

/**
 * How the permanent configuration differs from the runtime one, from
 * `diffRulesets(runtime, permanent)`; undefined when they agree.
 */
export function describeRuntimePermanentDifference(result: DiffResult): HostWarning | undefined {
  if (result.inSync) return undefined;
  const rule = (r: NormalizedRule) => (r.match.kind === 'other' ? r.match.text : `${r.family ?? ''} ${formatRule(r)}`.trim());
  const runtimeOnly = [
    ...result.rules.add.map(rule),
    ...result.sets.add.map((s) => `ipset ${s.name}`),
    ...result.sets.elements.flatMap((e) => e.add.map((element) => `${e.set} entry ${element}`)),
  ];
  const permanentOnly = [
    ...result.rules.remove.map(rule),
    ...result.sets.remove.map((s) => `ipset ${s.name}`),
    ...result.sets.elements.flatMap((e) => e.remove.map((element) => `${e.set} entry ${element}`)),
  ];
  const changed = [
    ...result.chains.add.map(() => `zone ${FIREWALLD_ZONE} only in runtime`),
    ...result.chains.remove.map(() => `zone ${FIREWALLD_ZONE} only in permanent`),
    ...result.chains.change.map((c) => `${c.property}: runtime ${c.desired}, permanent ${c.actual}`),
  ];
  const parts = [
    runtimeOnly.length > 0 ? `only in runtime: ${listed(runtimeOnly)}` : '',
    permanentOnly.length > 0 ? `only in permanent: ${listed(permanentOnly)}` : '',
    changed.length > 0 ? listed(changed) : '',
  ].filter(Boolean);
  return {
    code: 'firewalld-permanent-differs',
    message: `firewalld's permanent configuration differs from the runtime one that the diff compares (a reload, and applying, make the permanent one live): ${parts.join('; ')}`,
  };
}
