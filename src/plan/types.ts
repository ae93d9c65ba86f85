import type { EntrySource } from '../catalogue/catalogue.js';
import type { AddressPeerClass, Family, IpProtocol, KubeProxyMode, PeerClass, PortRange, Protocol, Role } from '../model.js';

/**
 * The versioned shape of `kubewall plan --format json`; bump on any
 * incompatible change. Additions keep v1: `ipProtocolRules` came later, so a
 * consumer that knows only `rules` still reads every port rule it did.
 */
export const PLAN_API_VERSION = 'kubewall.dev/plan/v1';

/** A named set of addresses for one peer class and family; rules refer to it, never to addresses. */
export interface PeerSet {
  /** `control-plane-v4`: safe in every backend's grammar. */
  readonly name: string;
  readonly peer: AddressPeerClass;
  readonly family: Family;
  /** Canonical, sorted, non-overlapping addresses and CIDRs. */
  readonly elements: readonly string[];
  /** True when the cluster file did not describe this class and the documented default was used. */
  readonly defaulted: boolean;
}

/** One rule: these ports on this protocol, from this peer class. */
export interface PlanRule {
  /** `kube-apiserver/tcp/any`: unique in the plan. */
  readonly id: string;
  /** The catalogue entry (or `ssh` for the baseline's SSH rule). */
  readonly entry: string;
  readonly purpose: string;
  readonly protocol: Protocol;
  readonly ports: readonly PortRange[];
  /** `self` rules are covered by the loopback accept and need no rule of their own. */
  readonly peer: PeerClass;
  readonly action: 'accept';
  /**
   * kube-proxy DNATs this traffic in PREROUTING, so INPUT never sees the
   * original port: backends must also filter it before DNAT (NodePorts).
   */
  readonly filterBeforeDnat: boolean;
  /**
   * Absent: any destination. Present: only packets to this address (local to
   * every node, e.g. NodeLocal DNSCache's), and only in its family.
   */
  readonly destination?: PlanDestination | undefined;
  readonly usedBy: string;
  readonly source: EntrySource;
  /** A one-line reason for humans: entry, purpose and "Used by". Backends escape it. */
  readonly comment: string;
}

/** A destination address a rule is narrowed to. */
export interface PlanDestination {
  readonly address: string;
  readonly family: Family;
  /** What it is and where the address came from: `node-local-dns (cluster.yaml: nodeLocalDNS)`. */
  readonly from: string;
}

/**
 * One rule for an IP protocol without ports (IP-in-IP, ESP, VRRP), from one
 * peer class. Kept apart from `rules`, whose every rule has a port protocol
 * and ports, so consumers of those never meet a rule without ports.
 */
export interface IpProtocolRule {
  /** `keepalived-vrrp/vrrp/control-plane`: unique in the plan, across both rule lists. */
  readonly id: string;
  readonly entry: string;
  readonly purpose: string;
  /** kubewall's name for it (see `IP_PROTOCOL_INFO` in model.ts). */
  readonly protocol: IpProtocol;
  /** The IANA number every backend writes (never a name: /etc/protocols differ). */
  readonly ipProtocol: number;
  /** The families it is written for: both, or IPv4 only for IP-in-IP. */
  readonly families: readonly Family[];
  /** `self` rules are covered by the loopback accept and need no rule of their own. */
  readonly peer: PeerClass;
  readonly action: 'accept';
  readonly usedBy: string;
  readonly source: EntrySource;
  /** A one-line reason for humans: entry, purpose and "Used by". Backends escape it. */
  readonly comment: string;
}

export const ICMP_TYPES = ['echo-request', 'destination-unreachable', 'time-exceeded', 'parameter-problem'] as const;
export const ICMPV6_TYPES = [
  'echo-request',
  'destination-unreachable',
  'packet-too-big',
  'time-exceeded',
  'parameter-problem',
  'router-solicitation',
  'router-advertisement',
  'neighbour-solicitation',
  'neighbour-advertisement',
] as const;
export type IcmpType = (typeof ICMP_TYPES)[number];
export type Icmpv6Type = (typeof ICMPV6_TYPES)[number];

/** Where IPv6 link-local control traffic comes from (RFC 4291 §2.5.6). */
export const LINK_LOCAL_V6 = 'fe80::/10';

/** ICMPv6 MLD types by kubewall's name and number (RFC 2710, RFC 3810). */
export const MLD_TYPES = {
  'mld-listener-query': 130,
  'mld-listener-report': 131,
  'mld-listener-done': 132,
  'mld2-listener-report': 143,
} as const;
export type MldType = keyof typeof MLD_TYPES;

/** What a link-local baseline rule matches, besides its link-local source. */
export type LinkLocalMatch =
  | { readonly kind: 'icmpv6'; readonly types: readonly MldType[] }
  | { readonly kind: 'udp'; readonly sourcePort: number; readonly port: number }
  | { readonly kind: 'ip-protocol'; readonly protocol: number; readonly destination: string };

/**
 * IPv6 control traffic from link-local addresses that no conntrack entry
 * covers and no node address matches; IPv6 only, source fe80::/10.
 */
export interface LinkLocalRule {
  /** `mld`, `dhcpv6-client`, `vrrp`: unique in the baseline. */
  readonly id: 'mld' | 'dhcpv6-client' | 'vrrp';
  readonly purpose: string;
  readonly source: typeof LINK_LOCAL_V6;
  readonly match: LinkLocalMatch;
  /** The standard that says it must pass. */
  readonly reason: string;
  /** A one-line reason for humans; backends escape it. */
  readonly comment: string;
}

/** What every plan holds, whatever the roles: the rules that keep a host sane. */
export interface Baseline {
  readonly acceptLoopback: true;
  readonly acceptEstablished: true;
  readonly dropInvalid: true;
  readonly icmp: readonly IcmpType[];
  readonly icmpv6: readonly Icmpv6Type[];
  /** IPv6 link-local control traffic (MLD, DHCPv6 replies; VRRPv3 adverts with the keepalived add-on). */
  readonly linkLocal: readonly LinkLocalRule[];
  /** What happens to new inbound connections no rule accepts. */
  readonly inputPolicy: 'drop';
}

/** NodePorts of one protocol that no rule allows but kube-proxy would serve. */
export interface ClosedNodePorts {
  readonly protocol: Protocol;
  readonly ports: readonly PortRange[];
}

/** What kube-proxy's mode asks of the host firewall (docs/cluster-needs-kube-proxy.md). */
export interface KubeProxyPlan {
  readonly mode: KubeProxyMode;
  /** Where the mode was chosen (`--kube-proxy`, `cluster.yaml: kubeProxy`, an inventory's kube_proxy_mode); null: the default. */
  readonly chosenBy: string | null;
  /** kube-apiserver's --service-node-port-range. */
  readonly nodePortRange: PortRange;
  /**
   * The NodePort range minus the ports the catalogue's NodePort entries allow,
   * per protocol: dropped by original port before kube-proxy's DNAT, so a
   * narrowed NodePort entry does not leave the rest of the range open.
   * Empty where kube-proxy serves no NodePorts (etcd-only nodes) or nothing is narrowed.
   */
  readonly closedNodePorts: readonly ClosedNodePorts[];
  /**
   * ipvs only: addresses IPVS binds to kube-ipvs0 (Service CIDRs, LoadBalancer
   * and external IPs) and serves at LOCAL_IN, after INPUT's filtering; traffic
   * addressed to them is accepted on input. Empty in every other mode.
   */
  readonly serviceDestinations: Readonly<Record<Family, readonly string[]>>;
  /** True when NodePorts reach INPUT with their original port (ipvs): INPUT's rules restrict them too. */
  readonly nodePortsOnInput: boolean;
}

export interface Plan {
  readonly apiVersion: typeof PLAN_API_VERSION;
  readonly generator: { readonly name: 'kubewall'; readonly version: string };
  readonly roles: readonly Role[];
  /** The cluster file as named by the user, or null for the embedded default. */
  readonly cluster: string | null;
  /** The catalogue files the entries came from. */
  readonly catalogue: readonly string[];
  /** The catalogue profiles chosen, e.g. `cni calico (modes: vxlan)`; empty for plain kubeadm. */
  readonly profiles: readonly string[];
  readonly baseline: Baseline;
  readonly ssh: { readonly enabled: boolean; readonly port: number };
  readonly sets: readonly PeerSet[];
  readonly rules: readonly PlanRule[];
  /** Rules for IP protocols without ports, in protocol-number order; empty for most plans. */
  readonly ipProtocolRules: readonly IpProtocolRule[];
  /** kube-proxy's mode and what it asks of the firewall; added within v1. */
  readonly kubeProxy: KubeProxyPlan;
  /** Peer classes whose addresses are the documented default, not the cluster file's. */
  readonly defaultedPeers: readonly AddressPeerClass[];
  readonly warnings: readonly string[];
}

/** The rules a backend has to express; `self` rules are already covered by the loopback accept. */
export function networkRules(plan: Plan): PlanRule[] {
  return plan.rules.filter((rule) => rule.peer !== 'self');
}

/** The IP-protocol rules a backend has to express; `self` rules are already covered by the loopback accept. */
export function networkIpProtocolRules(plan: Plan): IpProtocolRule[] {
  return plan.ipProtocolRules.filter((rule) => rule.peer !== 'self');
}

/**
 * How many addresses and CIDRs each peer class holds, both families counted:
 * what a backend without sets turns into one rule each. In the order of
 * plan.sets. One count, so every warning about it gives the same number.
 */
export function peerClassSizes(plan: Plan): Map<AddressPeerClass, number> {
  const sizes = new Map<AddressPeerClass, number>();
  for (const set of plan.sets) sizes.set(set.peer, (sizes.get(set.peer) ?? 0) + set.elements.length);
  return sizes;
}

export function setName(peer: AddressPeerClass, family: Family): string {
  return `${peer}-${family === 'ipv4' ? 'v4' : 'v6'}`;
}
