import { joinedLines } from '../../render/joined-lines.js';
import { ADDRESS_PEER_CLASSES, FAMILIES, type Family } from '../../model.js';
import { formatPortRange, formatPortRanges } from '../../ports.js';
import {
  networkIpProtocolRules,
  networkRules,
  setName,
  type IcmpType,
  type Icmpv6Type,
  type IpProtocolRule,
  type LinkLocalRule,
  type MldType,
  type Plan,
  type PlanRule,
} from '../../plan/types.js';
import { assertNftAddress, assertNftIdentifier, quoteNftString } from './escape.js';

export const NFT_TABLE = { family: 'inet', name: 'kubewall' } as const;
/** After conntrack (-200), before kube-proxy's DNAT (dstnat, -100): sees NodePorts by their original port. */
export const NFT_BEFORE_DNAT_PRIORITY = -150;

/**
 * Audit mode (`render --audit`): the sets that record what the enforcing
 * render would drop, as source . protocol . destination port (0 for
 * protocols without ports); see docs/audit.md.
 */
export const NFT_AUDIT_SETS = { ipv4: 'audit-v4', ipv6: 'audit-v6' } as const;
/** A record lives this long after its last packet; at most this many records a family (the kernel's bound on memory). */
export const AUDIT_TIMEOUT_SECONDS = 3600;
export const AUDIT_SET_SIZE = 65536;
/** Protocols whose destination port `th dport` reads; every other protocol is recorded with port 0. */
const AUDIT_PORT_PROTOCOLS = 'tcp, udp, dccp, sctp';

function auditSetSpec(family: Family): string {
  const type = family === 'ipv4' ? 'ipv4_addr' : 'ipv6_addr';
  return `{ type ${type} . inet_proto . inet_service; flags dynamic,timeout; timeout ${AUDIT_TIMEOUT_SECONDS / 3600}h; size ${AUDIT_SET_SIZE}; counter; }`;
}

/**
 * What audit mode writes where the enforcing render drops: record the packet
 * in the family's audit set (refreshing its timeout, counting its packets),
 * then accept it. `match` narrows it as the drop did (e.g. `tcp dport 30080`).
 */
export function auditStatements(match: string, comment: string): string[] {
  const quoted = quoteNftString(comment);
  const prefix = match === '' ? '' : `${match} `;
  return (['ipv4', 'ipv6'] as const).flatMap((family) => {
    const addr = family === 'ipv4' ? 'ip saddr' : 'ip6 saddr';
    const set = NFT_AUDIT_SETS[family];
    return match === ''
      ? [
          `meta l4proto { ${AUDIT_PORT_PROTOCOLS} } update @${set} { ${addr} . meta l4proto . th dport } accept comment ${quoted}`,
          `update @${set} { ${addr} . meta l4proto . 0 } accept comment ${quoted}`,
        ]
      : [`${prefix}update @${set} { ${addr} . meta l4proto . th dport } accept comment ${quoted}`];
  });
}

export interface NftSetView {
  readonly name: string;
  readonly type: 'ipv4_addr' | 'ipv6_addr';
  readonly comment: string;
  /** One element a line, indented, commas placed, so a 5,000-node set stays readable and diffable ('' for none). */
  readonly elementsText: string;
  /** The same lines as a list (computed when read: templates written before elementsText use it). */
  readonly elementLines: readonly string[];
}

export interface NftChainView {
  readonly name: string;
  readonly hook: string;
  readonly priority: string;
  readonly policy: 'accept' | 'drop';
  readonly comment: string;
  readonly rules: readonly string[];
}

/** A set or chain named only to be emptied or deleted: no elements, no rules. */
export interface NftDeclaration {
  readonly name: string;
  /**
   * `{ type ipv4_addr; flags interval; }`, `{ type filter hook input priority filter; policy accept; }`,
   * or `{ }` for a chain only named to be deleted: declaring it without a hook
   * registers none where it is missing (and changes none where it is there).
   */
  readonly spec: string;
}

export interface NftablesView {
  readonly header: { readonly lines: readonly string[] };
  readonly table: typeof NFT_TABLE;
  readonly sets: readonly NftSetView[];
  readonly chains: readonly NftChainView[];
  /**
   * Everything the file empties or deletes, declared first so that both work
   * on a host that lacks it: this plan's sets and chains, and those an
   * earlier plan may have left (`obsoleteSets`, `obsoleteChains`).
   */
  readonly declaredSets: readonly NftDeclaration[];
  readonly declaredChains: readonly NftDeclaration[];
  readonly obsoleteSets: readonly string[];
  readonly obsoleteChains: readonly string[];
}

const ICMP_NAMES: Record<IcmpType, string> = {
  'echo-request': 'echo-request',
  'destination-unreachable': 'destination-unreachable',
  'time-exceeded': 'time-exceeded',
  'parameter-problem': 'parameter-problem',
};

const ICMPV6_NAMES: Record<Icmpv6Type, string> = {
  'echo-request': 'echo-request',
  'destination-unreachable': 'destination-unreachable',
  'packet-too-big': 'packet-too-big',
  'time-exceeded': 'time-exceeded',
  'parameter-problem': 'parameter-problem',
  'router-solicitation': 'nd-router-solicit',
  'router-advertisement': 'nd-router-advert',
  'neighbour-solicitation': 'nd-neighbor-solicit',
  'neighbour-advertisement': 'nd-neighbor-advert',
};

function dport(rule: PlanRule): string {
  const ports = formatPortRanges(rule.ports).split(',');
  return `${rule.protocol} dport ${ports.length === 1 ? ports[0] : `{ ${ports.join(', ')} }`}`;
}

function saddr(rule: PlanRule | IpProtocolRule, family: Family): string {
  if (rule.peer === 'any' || rule.peer === 'self') return '';
  const setRef = assertNftIdentifier(setName(rule.peer, family));
  return `${family === 'ipv4' ? 'ip' : 'ip6'} saddr @${setRef} `;
}

function daddr(rule: PlanRule): string {
  if (!rule.destination) return '';
  return `${rule.destination.family === 'ipv4' ? 'ip' : 'ip6'} daddr ${assertNftAddress(rule.destination.address)} `;
}

/** A rule's statements: one for `any`, one per family for an address peer; a destination keeps only its family. */
function acceptStatements(rule: PlanRule): string[] {
  const comment = `comment ${quoteNftString(rule.comment)}`;
  if (rule.peer === 'any') return [`${daddr(rule)}${dport(rule)} accept ${comment}`];
  const families = rule.destination ? [rule.destination.family] : (['ipv4', 'ipv6'] as const);
  return families.map((family) => `${saddr(rule, family)}${daddr(rule)}${dport(rule)} accept ${comment}`);
}

const NFT_MLD_NAMES: Record<MldType, string> = {
  'mld-listener-query': 'mld-listener-query',
  'mld-listener-report': 'mld-listener-report',
  'mld-listener-done': 'mld-listener-done',
  'mld2-listener-report': 'mld2-listener-report',
};

/** IPv6 link-local control traffic: `ip6 saddr` alone makes the rule IPv6-only. */
export function linkLocalStatement(rule: LinkLocalRule): string {
  const source = `ip6 saddr ${assertNftAddress(rule.source)}`;
  const comment = `comment ${quoteNftString(rule.comment)}`;
  switch (rule.match.kind) {
    case 'icmpv6':
      return `${source} icmpv6 type { ${rule.match.types.map((t) => NFT_MLD_NAMES[t]).join(', ')} } accept ${comment}`;
    case 'udp':
      return `${source} udp sport ${rule.match.sourcePort} udp dport ${rule.match.port} accept ${comment}`;
    case 'ip-protocol':
      return `${source} ip6 daddr ${assertNftAddress(rule.match.destination)} meta l4proto ${rule.match.protocol} accept ${comment}`;
  }
}

/**
 * An IP protocol by number (nft would print /etc/protocols' name back: 4 is
 * `ipencap` there); `meta l4proto` also finds it behind IPv6 extension headers.
 * A rule for one family only says so with `meta nfproto` when no set does.
 */
function ipProtocolStatements(rule: IpProtocolRule): string[] {
  const match = `meta l4proto ${rule.ipProtocol} accept comment ${quoteNftString(rule.comment)}`;
  if (rule.peer === 'any') {
    return rule.families.length === 2 ? [match] : rule.families.map((family) => `meta nfproto ${family} ${match}`);
  }
  return rule.families.map((family) => `${saddr(rule, family)}${match}`);
}

/**
 * kube-proxy ipvs: Service and external IPs are local (kube-ipvs0) and IPVS
 * takes them at LOCAL_IN, after this table's input chain: accept them by
 * destination, from anyone, on any port (kubernetes#98465).
 */
function serviceDestinationStatements(plan: Plan): string[] {
  const comment = quoteNftString('kube-proxy ipvs: Service and external IPs served by IPVS on kube-ipvs0');
  return (['ipv4', 'ipv6'] as const).flatMap((family) => {
    const addresses = plan.kubeProxy.serviceDestinations[family];
    if (addresses.length === 0) return [];
    return [`${family === 'ipv4' ? 'ip' : 'ip6'} daddr { ${addresses.join(', ')} } accept comment ${comment}`];
  });
}

function inputChain(plan: Plan, audit: boolean): NftChainView {
  const { baseline } = plan;
  const rules = [
    `iif "lo" accept comment "baseline: the node itself (Used by: Self)"`,
    `ct state established,related accept comment "baseline: replies and related traffic"`,
    `ct state invalid drop comment "baseline: invalid packets"`,
    `meta l4proto icmp icmp type { ${baseline.icmp.map((t) => ICMP_NAMES[t]).join(', ')} } accept comment "baseline: ICMP that IPv4 needs"`,
    `meta l4proto ipv6-icmp icmpv6 type { ${baseline.icmpv6.map((t) => ICMPV6_NAMES[t]).join(', ')} } accept comment "baseline: ICMPv6 that IPv6 needs"`,
    ...serviceDestinationStatements(plan),
    ...baseline.linkLocal.map(linkLocalStatement),
    ...networkRules(plan).flatMap(acceptStatements),
    ...networkIpProtocolRules(plan).flatMap(ipProtocolStatements),
    // The plan's input policy (always drop) is this rule, not the chain's policy: while `nft -f`
    // replaces the table, the old and the new base chain are both hooked and one of them has no
    // active rules; with `policy drop` that instant dropped a new SYN per reload (1 s stall),
    // and the kernel sets a new chain's drop policy only at the end of the commit
    // (nft_chain_commit_drop_policy) anyway. See DOMAIN.md §6 and test/conformance/reload.test.ts.
    ...(audit
      ? auditStatements('', 'audit: would be dropped by the final drop; recorded and accepted')
      : [`${baseline.inputPolicy} comment "baseline: explicit final drop; policy accept, so a reload never drops a new connection"`]),
  ];
  return {
    name: 'input',
    hook: 'input',
    priority: 'filter',
    policy: 'accept',
    comment: quoteNftString('kubewall: new inbound connections no rule accepts are dropped'),
    rules,
  };
}

/**
 * NodePort traffic is DNATed by kube-proxy in PREROUTING and then takes the
 * FORWARD path, so INPUT never sees it: restricted NodePorts are dropped here
 * by their original destination port, before the DNAT.
 */
function beforeDnatChain(plan: Plan, audit: boolean): NftChainView | null {
  const restricted = networkRules(plan).filter((rule) => rule.filterBeforeDnat && rule.peer !== 'any');
  const { closedNodePorts, nodePortRange } = plan.kubeProxy;
  if (restricted.length === 0 && closedNodePorts.length === 0) return null;
  const rules = [
    `iif "lo" accept comment "baseline: the node itself"`,
    `ct state established,related accept comment "baseline: only new connections are filtered here"`,
    `fib daddr type != local accept comment "only traffic addressed to this node"`,
    // ipvs makes Service IPs local: a Service port that happens to be a NodePort number is not a NodePort.
    ...serviceDestinationStatements(plan),
  ];
  const dropped = new Map<string, PlanRule>();
  for (const rule of restricted) {
    rules.push(...acceptStatements(rule));
    dropped.set(`${rule.entry}/${rule.protocol}`, rule);
  }
  for (const rule of dropped.values()) {
    const comment = `${rule.entry}: other sources, before kube-proxy DNAT`;
    if (audit) rules.push(...auditStatements(dport(rule), `audit: would be dropped (${comment}); recorded and accepted`));
    else rules.push(`${dport(rule)} drop comment ${quoteNftString(comment)}`);
  }
  for (const closed of closedNodePorts) {
    const ports = formatPortRanges(closed.ports).split(',');
    const match = `${closed.protocol} dport ${ports.length === 1 ? ports[0] : `{ ${ports.join(', ')} }`}`;
    const comment = `nodePortRange ${formatPortRange(nodePortRange)}: NodePorts no rule allows, before kube-proxy DNAT`;
    if (audit) rules.push(...auditStatements(match, `audit: would be dropped (${comment}); recorded and accepted`));
    else rules.push(`${match} drop comment ${quoteNftString(comment)}`);
  }
  return {
    name: 'before-dnat',
    hook: 'prerouting',
    priority: String(NFT_BEFORE_DNAT_PRIORITY),
    policy: 'accept',
    comment: quoteNftString('kubewall: restricted NodePorts, filtered by original port before kube-proxy DNAT'),
    rules,
  };
}

function setView(plan: Plan, index: number): NftSetView {
  const set = plan.sets[index]!;
  const elements = set.elements;
  return {
    name: assertNftIdentifier(set.name),
    type: set.family === 'ipv4' ? 'ipv4_addr' : 'ipv6_addr',
    comment: quoteNftString(`peer class ${set.peer}${set.defaulted ? ' (defaulted: private address space)' : ''}`),
    elementsText: joinedLines(elements, '\t\t\t', ',', ''),
    get elementLines() {
      return elements.map((element, i) => (i === elements.length - 1 ? element : `${element},`));
    },
  };
}

const setSpec = (type: NftSetView['type']) => `{ type ${type}; flags interval; }`;
const chainSpec = (chain: Pick<NftChainView, 'hook' | 'priority' | 'policy'>) => `{ type filter hook ${chain.hook} priority ${chain.priority}; policy ${chain.policy}; }`;

/** Every chain kubewall renders in some plan. */
const KNOWN_CHAINS = ['input', 'before-dnat'] as const;

/**
 * The nftables view model: everything the template lays out, escaped for nft.
 * The file replaces the table's contents without deleting the table, its sets
 * or its base chains (see the template): a set re-created in a transaction is
 * empty to lookups until the end of the commit, after its rules are active.
 */
export function buildNftablesView(plan: Plan, headerLines: readonly string[], options: { audit?: boolean } = {}): NftablesView {
  const audit = options.audit === true;
  const chains = [inputChain(plan, audit)];
  const beforeDnat = beforeDnatChain(plan, audit);
  if (beforeDnat) chains.push(beforeDnat);
  const sets = plan.sets.map((_, index) => setView(plan, index));
  const used = new Set(sets.map((set) => set.name));
  const obsoleteSetViews = ADDRESS_PEER_CLASSES.flatMap((peer) =>
    FAMILIES.map((family) => ({ name: assertNftIdentifier(setName(peer, family)), type: family === 'ipv4' ? ('ipv4_addr' as const) : ('ipv6_addr' as const) })),
  ).filter((set) => !used.has(set.name));
  const obsoleteChains = KNOWN_CHAINS.filter((known) => !chains.some((chain) => chain.name === known));
  return {
    header: { lines: headerLines },
    table: NFT_TABLE,
    sets,
    chains,
    // Audit sets are declared, never flushed: what was recorded survives a reload of the audit render.
    declaredSets: [
      ...[...sets, ...obsoleteSetViews].map((set) => ({ name: set.name, spec: setSpec(set.type) })),
      ...(audit ? FAMILIES.map((family) => ({ name: NFT_AUDIT_SETS[family], spec: auditSetSpec(family) })) : []),
    ],
    declaredChains: [...chains.map((chain) => ({ name: chain.name, spec: chainSpec(chain) })), ...obsoleteChains.map((name) => ({ name, spec: '{ }' }))],
    obsoleteSets: obsoleteSetViews.map((set) => set.name),
    obsoleteChains,
  };
}
