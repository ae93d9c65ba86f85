import type { Family, PortRange, Protocol } from '../model.js';

/**
 * The normalized form both sides of a diff are compiled to: what the plan
 * would render and what the host has. Backend-neutral: each backend's host
 * reader maps its own grammar onto it, so one diff serves every backend.
 */

/** Chains by their job, not their backend name: `input` (INPUT hook) and `before-dnat` (before kube-proxy's DNAT). */
export type ChainName = 'input' | 'before-dnat' | (string & {});

/** `accept` lets the packet pass this filter (nftables accept, iptables ACCEPT or RETURN in a sub-chain). */
export type Verdict = 'accept' | 'drop';

/** What a rule matches, besides family, source and chain. */
export type RuleMatch =
  /** Traffic on the loopback interface. */
  | { readonly kind: 'loopback' }
  /** Conntrack state established or related. */
  | { readonly kind: 'established' }
  /** Conntrack state invalid. */
  | { readonly kind: 'invalid' }
  /** Destination is not an address of this node (before-dnat lets it through untouched). */
  | { readonly kind: 'not-local' }
  /** ICMP (ipv4) or ICMPv6 (ipv6) types, by kubewall's names (see `ICMP_TYPES` in plan/types.ts). */
  | { readonly kind: 'icmp'; readonly types: readonly string[] }
  /** Destination ports of one protocol, sorted and merged. */
  | { readonly kind: 'ports'; readonly protocol: Protocol; readonly ports: readonly PortRange[] }
  /** An IP protocol without ports, by its IANA number (4 IP-in-IP, 50 ESP, 112 VRRP); readers map names to numbers. */
  | { readonly kind: 'ip-protocol'; readonly protocol: number }
  /**
   * IPv6 link-local control traffic of the baseline, by its id (`mld`,
   * `dhcpv6-client`, `vrrp`): each reader recognizes its own backend's
   * spelling of exactly what kubewall writes (source fe80::/10).
   */
  | { readonly kind: 'link-local'; readonly id: string }
  /** Every packet: a catch-all at the end of a chain (nftables: an explicit final drop beside the drop policy). */
  | { readonly kind: 'all' }
  /** A rule in kubewall's table the reader could not map: it can only be reported, as a removal. */
  | { readonly kind: 'other'; readonly text: string };

export interface NormalizedRule {
  readonly chain: ChainName;
  /** Always concrete: a rule that matches both families appears once per family. `null` only for `other`. */
  readonly family: Family | null;
  /** The name of the peer set the source must be in, an address or CIDR where the backend has no sets (ufw), or null for any source. */
  readonly source: string | null;
  /** An address the destination must be (NodeLocal DNSCache's); absent for any destination. */
  readonly destination?: string | undefined;
  readonly match: RuleMatch;
  readonly verdict: Verdict;
  /** Where it came from: the plan rule id (desired side) or the backend's own text for the rule (host side). */
  readonly origin?: string;
}

export interface NormalizedChain {
  readonly name: ChainName;
  /** What happens to packets no rule decides. */
  readonly policy: Verdict;
  /** Backend-specific properties compared as they are (nftables: type, hook, priority). */
  readonly details: Readonly<Record<string, string>>;
}

export interface NormalizedSet {
  readonly name: string;
  readonly family: Family;
  /** Addresses and CIDRs (`10.0.0.1`, `10.0.0.0/8`, or `a-b` ranges from the host); compared as address intervals. */
  readonly elements: readonly string[];
}

/** Everything kubewall owns on one side of the diff. `present: false` when the host has none of it. */
export interface NormalizedRuleset {
  /** Where kubewall's rules live, for messages: `table inet kubewall`. */
  readonly scope: string;
  readonly present: boolean;
  /** Chains in order; rules are in chain order too (order matters between verdicts). */
  readonly chains: readonly NormalizedChain[];
  readonly rules: readonly NormalizedRule[];
  readonly sets: readonly NormalizedSet[];
}

/** Something outside kubewall's rules that would defeat them; reported, never acted on. */
export interface HostWarning {
  /** Stable code for tooling: `shadowing-drop`, `firewalld-active`, `ufw-active`, `iptables-legacy`, ... */
  readonly code: string;
  readonly message: string;
}
