import type { AddressPeerClass, Family, Protocol } from '../../model.js';
import { formatPortRange } from '../../ports.js';
import { networkIpProtocolRules, networkRules, type IpProtocolRule, type Plan, type PlanRule } from '../../plan/types.js';
import { assertFirewalldName } from './escape.js';

/**
 * The firewalld configuration a plan becomes, before either grammar (XML
 * files or `firewall-cmd` arguments) is written: both renderings are made
 * from this one value, so they cannot drift apart.
 */

/** kubewall's zone; also the file name `zones/kubewall.xml`. */
export const FIREWALLD_ZONE = 'kubewall';
/** Every ipset kubewall owns starts with this; the script replaces exactly these. */
export const FIREWALLD_IPSET_PREFIX = 'kubewall-';
/**
 * firewalld dispatches by source before interface, so these two sources put
 * every IPv4 and IPv6 packet into kubewall's zone whatever interface it came
 * in on: the plan is enforced without knowing interface names, and the
 * interface's zone (public's ssh-from-anywhere) no longer decides.
 */
export const FIREWALLD_CATCH_ALL_SOURCES = ['0.0.0.0/0', '::/0'] as const;

export interface FirewalldIpset {
  readonly name: string;
  readonly family: 'inet' | 'inet6';
  readonly type: 'hash:net';
  /** For comments only: firewalld keeps no short or description for an ipset made by firewall-cmd --new-ipset. */
  readonly description: string;
  /** Canonical, sorted, non-overlapping (firewalld refuses overlapping hash:net entries). */
  readonly entries: readonly string[];
}

export interface FirewalldPort {
  /** `22` or `30000-32767`. */
  readonly port: string;
  readonly protocol: Protocol;
}

/** The subset of firewalld's rich-rule language kubewall writes. */
export interface FirewalldRichRule {
  readonly family?: Family;
  readonly sourceIpset?: string;
  /** A literal source: only the link-local baseline writes one (fe80::/10). */
  readonly sourceAddress?: string;
  readonly destinationAddress?: string;
  readonly port?: FirewalldPort;
  readonly icmpType?: string;
  /** An IP protocol by number (`protocol value="112"`): firewalld takes 0-255 or an /etc/protocols name. */
  readonly protocol?: number;
  readonly action: 'accept';
}

/** One thing the zone allows: a port open to everyone in the zone, or a rich rule. */
export type FirewalldZoneItem =
  | { readonly kind: 'port'; readonly comment: string; readonly port: FirewalldPort }
  | { readonly kind: 'rule'; readonly comment: string; readonly rule: FirewalldRichRule };

export interface FirewalldZone {
  readonly name: string;
  readonly short: string;
  readonly description: string;
  /** The zone's verdict for what no item accepts; `DROP` for the plan's `drop`. */
  readonly target: 'DROP';
  readonly sources: readonly string[];
  /** Intra-zone forwarding: forwarded (pod) traffic is left to the CNI, see the header. */
  readonly forward: true;
  readonly items: readonly FirewalldZoneItem[];
}

export interface FirewalldConfig {
  readonly zone: FirewalldZone;
  readonly ipsets: readonly FirewalldIpset[];
}

export function ipsetName(setName: string): string {
  return assertFirewalldName(`${FIREWALLD_IPSET_PREFIX}${setName}`, 'ipset');
}

function ports(rule: PlanRule): FirewalldPort[] {
  return rule.ports.map((range) => ({ port: formatPortRange(range, '-'), protocol: rule.protocol }));
}

/** A plan rule as zone items: ports for `any`, one rich rule per family and port range for a peer class. */
function ruleItems(plan: Plan, rule: PlanRule): FirewalldZoneItem[] {
  const destination = rule.destination;
  if (rule.peer === 'any' && !destination) return ports(rule).map((port) => ({ kind: 'port', comment: rule.comment, port }));
  const families = destination ? [destination.family] : (['ipv4', 'ipv6'] as const);
  return families.flatMap((family) => {
    const to = destination ? { destinationAddress: destination.address } : {};
    if (rule.peer === 'any') return ports(rule).map((port): FirewalldZoneItem => ({ kind: 'rule', comment: rule.comment, rule: { family, ...to, port, action: 'accept' } }));
    const peer = rule.peer as AddressPeerClass;
    const set = plan.sets.find((s) => s.peer === peer && s.family === family);
    if (!set) throw new Error(`plan has no ${family} set for peer class ${peer} (rule ${rule.id})`);
    return ports(rule).map((port): FirewalldZoneItem => ({
      kind: 'rule',
      comment: rule.comment,
      rule: { family, sourceIpset: ipsetName(set.name), ...to, port, action: 'accept' },
    }));
  });
}

/**
 * The link-local baseline as rich rules. firewalld names no MLD icmptype
 * (firewall/core/icmp.py), so MLD is ICMPv6 from fe80::/10 as a protocol,
 * every type: wider than MLD, but only from on-link (fe80::/10 is never
 * routed). A rich rule takes one of port and source-port: DHCPv6 replies
 * are port 546 from fe80::/10.
 */
export function linkLocalItems(plan: Plan): FirewalldZoneItem[] {
  return plan.baseline.linkLocal.map((rule): FirewalldZoneItem => {
    const base = { family: 'ipv6' as const, sourceAddress: rule.source, action: 'accept' as const };
    switch (rule.match.kind) {
      case 'icmpv6':
        return { kind: 'rule', comment: `${rule.comment}; firewalld: every ICMPv6 type`, rule: { ...base, protocol: 58 } };
      case 'udp':
        return { kind: 'rule', comment: rule.comment, rule: { ...base, port: { port: String(rule.match.port), protocol: 'udp' } } };
      case 'ip-protocol':
        return { kind: 'rule', comment: rule.comment, rule: { ...base, destinationAddress: rule.match.destination, protocol: rule.match.protocol } };
    }
  });
}

/** An IP-protocol rule as rich rules: one per family and source set, or one without family for `any` in both families. */
function ipProtocolItems(plan: Plan, rule: IpProtocolRule): FirewalldZoneItem[] {
  if (rule.peer === 'any' && rule.families.length === 2) {
    return [{ kind: 'rule', comment: rule.comment, rule: { protocol: rule.ipProtocol, action: 'accept' } }];
  }
  return rule.families.map((family): FirewalldZoneItem => {
    if (rule.peer === 'any') return { kind: 'rule', comment: rule.comment, rule: { family, protocol: rule.ipProtocol, action: 'accept' } };
    const peer = rule.peer as AddressPeerClass;
    const set = plan.sets.find((s) => s.peer === peer && s.family === family);
    if (!set) throw new Error(`plan has no ${family} set for peer class ${peer} (rule ${rule.id})`);
    return { kind: 'rule', comment: rule.comment, rule: { family, sourceIpset: ipsetName(set.name), protocol: rule.ipProtocol, action: 'accept' } };
  });
}

/**
 * ICMP the baseline keeps: one rich rule per type. A type both lists name is
 * written without a family (firewalld expands it to icmp and icmpv6); the
 * icmptype names firewalld ships are the plan's names.
 */
function icmpItems(plan: Plan): FirewalldZoneItem[] {
  const { icmp, icmpv6 } = plan.baseline;
  const names = [...icmp, ...icmpv6.filter((type) => !(icmp as readonly string[]).includes(type))];
  return names.map((name): FirewalldZoneItem => {
    const inV4 = (icmp as readonly string[]).includes(name);
    const inV6 = (icmpv6 as readonly string[]).includes(name);
    const family: Family | undefined = inV4 && inV6 ? undefined : inV4 ? 'ipv4' : 'ipv6';
    const comment = `baseline: ICMP${family === 'ipv4' ? '' : family === 'ipv6' ? 'v6' : ' and ICMPv6'} ${name}`;
    return { kind: 'rule', comment, rule: { ...(family ? { family } : {}), icmpType: name, action: 'accept' } };
  });
}

const ZONE_TARGETS: Record<Plan['baseline']['inputPolicy'], FirewalldZone['target']> = { drop: 'DROP' };

/** Builds the backend-neutral plan into firewalld's terms: one zone, one ipset per peer set. */
export function buildFirewalldConfig(plan: Plan): FirewalldConfig {
  const ipsets = plan.sets.map((set): FirewalldIpset => ({
    name: ipsetName(set.name),
    family: set.family === 'ipv4' ? 'inet' : 'inet6',
    type: 'hash:net',
    description: `kubewall peer class ${set.peer} (${set.family})${set.defaulted ? ', defaulted: private address space' : ''}`,
    entries: set.elements,
  }));
  const zone: FirewalldZone = {
    name: assertFirewalldName(FIREWALLD_ZONE, 'zone'),
    short: 'kubewall',
    description:
      `Kubernetes node firewall for roles ${plan.roles.join(', ')}: each port from its peer class only; ` +
      `new inbound connections no rule accepts are dropped. Generated by kubewall ${plan.generator.version}: do not edit by hand.`,
    target: ZONE_TARGETS[plan.baseline.inputPolicy],
    sources: [...FIREWALLD_CATCH_ALL_SOURCES],
    forward: true,
    items: [
      ...icmpItems(plan),
      ...linkLocalItems(plan),
      ...networkRules(plan).flatMap((rule) => ruleItems(plan, rule)),
      ...networkIpProtocolRules(plan).flatMap((rule) => ipProtocolItems(plan, rule)),
    ],
  };
  return { zone, ipsets };
}
