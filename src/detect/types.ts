/**
 * The versioned shape of `kubewall detect --format json`; bump on any
 * incompatible change, additions keep v1.
 */
export const DETECT_API_VERSION = 'kubewall.dev/detect/v1';

/** One network interface as `ip -d -j addr show` reports it. */
export interface HostLink {
  readonly name: string;
  /** `vxlan`, `geneve`, `wireguard`, `ipip`, `veth`, `dummy`, ...; null when the kernel reports none (lo). */
  readonly kind: string | null;
  readonly up: boolean;
  /** The UDP port of a VXLAN or Geneve device. */
  readonly udpPort: number | null;
  /** Addresses without prefix, in the order the kernel lists them. */
  readonly addresses: readonly string[];
}

export type ListenerProtocol = 'tcp' | 'udp' | 'raw';

/** One listening (or unconnected UDP/raw) socket as `ss -H -lntuwp` reports it. */
export interface HostListener {
  readonly protocol: ListenerProtocol;
  /** The bound address without brackets or `%iface`; `*` or `0.0.0.0`/`::` for any. */
  readonly address: string;
  /** The port; for raw sockets the IP protocol number (VRRP: 112). */
  readonly port: number;
  /** Process names (deduplicated, sorted); empty for kernel sockets (VXLAN) or without root. */
  readonly processes: readonly string[];
}

/** What became of one probe command: kept so the report can say what it could not see. */
export interface ProbeStatus {
  readonly command: string;
  readonly status: 'ok' | 'failed' | 'not-found' | 'timed-out' | 'skipped';
  /** Why it failed or was skipped, one line. */
  readonly detail?: string;
}

/** A chain looked up with `iptables -t nat -S CHAIN 1`: present or not, in which variant and family. */
export interface IptablesChainProbe {
  readonly tool: string;
  readonly table: string;
  readonly chain: string;
  readonly present: boolean;
}

/** The normalized host the detectors read: pure data, no I/O past this point. */
export interface NodeSnapshot {
  readonly source: string;
  readonly links: readonly HostLink[];
  readonly listeners: readonly HostListener[];
  /** `ip kube-proxy`, `inet kubewall`, `ip nat`, ... from `nft -j list tables`. */
  readonly nftTables: readonly string[];
  /** Tables of iptables-legacy that are loaded (`/proc/net/ip_tables_names`), as `ip nat` / `ip6 nat`. */
  readonly legacyTables: readonly string[];
  readonly iptablesChains: readonly IptablesChainProbe[];
  readonly probes: readonly ProbeStatus[];
}

/** One fact and where it came from, for the report: `flannel.1 is a VXLAN device on UDP 8472`. */
export type Evidence = string;

export const KUBE_PROXY_MODES = ['iptables', 'ipvs', 'nftables', 'none'] as const;
export type KubeProxyMode = (typeof KUBE_PROXY_MODES)[number];
