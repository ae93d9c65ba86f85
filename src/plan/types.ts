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
  readonly usedBy: string;
  readonly source: EntrySource;
  /** A one-line reason for humans: entry, purpose and "Used by". Backends escape it. */
  readonly comment: string;
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

/** What every plan holds, whatever the roles: the rules that keep a host sane. */
export interface Baseline {
  readonly acceptLoopback: true;
  readonly acceptEstablished: true;
  readonly dropInvalid: true;
  readonly icmp: readonly IcmpType[];
  readonly icmpv6: readonly Icmpv6Type[];
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

export function setName(peer: AddressPeerClass, family: Family): string {
  return `${peer}-${family === 'ipv4' ? 'v4' : 'v6'}`;
}
