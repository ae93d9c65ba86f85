/** Node roles a plan can be built for; a node with several roles gets their union. */
export const ROLES = ['control-plane', 'worker', 'etcd'] as const;
export type Role = (typeof ROLES)[number];

/**
 * Who may connect, after the catalogue's "Used by" column. `self` is the node
 * itself (loopback), `any` is everyone; the rest resolve to address sets.
 */
export const PEER_CLASSES = [
  'any',
  'self',
  'control-plane',
  'etcd',
  'nodes',
  'load-balancers',
  'pods',
  'admin',
] as const;
export type PeerClass = (typeof PEER_CLASSES)[number];

/** Peer classes that resolve to address sets (everything but `any` and `self`). */
export const ADDRESS_PEER_CLASSES = [
  'control-plane',
  'etcd',
  'nodes',
  'load-balancers',
  'pods',
  'admin',
] as const satisfies readonly PeerClass[];
export type AddressPeerClass = (typeof ADDRESS_PEER_CLASSES)[number];

/** Protocols with ports: a rule names destination ports on one of these. */
export const PROTOCOLS = ['tcp', 'udp'] as const;
export type Protocol = (typeof PROTOCOLS)[number];
/** The same as `Protocol`, for code that must say it means a protocol with ports. */
export type PortProtocol = Protocol;

export const FAMILIES = ['ipv4', 'ipv6'] as const;
export type Family = (typeof FAMILIES)[number];

/**
 * IP protocols without ports that a node must accept for its CNI or an
 * add-on, by the name kubewall uses (never /etc/protocols', where 4 is
 * `ipencap` and `ipip` is 94). Rules carry the IANA number and backends write
 * the number, so no host's protocol names can change what a rule matches.
 */
export const IP_PROTOCOLS = ['ipip', 'esp', 'vrrp'] as const;
export type IpProtocol = (typeof IP_PROTOCOLS)[number];

export interface IpProtocolInfo {
  /** The IANA protocol number (IPv4 protocol field, IPv6 next header). */
  readonly number: number;
  readonly description: string;
  /** The families a rule for it is written for. */
  readonly families: readonly Family[];
}

export const IP_PROTOCOL_INFO: Readonly<Record<IpProtocol, IpProtocolInfo>> = {
  // IPv4-in-IPv4 (RFC 2003). Calico's IP-in-IP pools are IPv4 only (IPv6 pools use VXLAN or no
  // encapsulation), and protocol 4 inside IPv6 is a different tunnel (ip6tnl ipip6) no CNI here uses.
  ipip: { number: 4, description: 'IP-in-IP encapsulation', families: ['ipv4'] },
  esp: { number: 50, description: 'IPsec Encapsulating Security Payload', families: ['ipv4', 'ipv6'] },
  // VRRPv3 (RFC 5798) runs over IPv4 and IPv6; keepalived speaks both.
  vrrp: { number: 112, description: 'Virtual Router Redundancy Protocol', families: ['ipv4', 'ipv6'] },
};

/** What a catalogue entry's `protocols` may name: protocols with ports, or IP protocols without. */
export const CATALOGUE_PROTOCOLS = [...PROTOCOLS, ...IP_PROTOCOLS] as const;
export type CatalogueProtocol = (typeof CATALOGUE_PROTOCOLS)[number];

export function isIpProtocol(protocol: string): protocol is IpProtocol {
  return (IP_PROTOCOLS as readonly string[]).includes(protocol);
}

/** An inclusive port range; a single port has `from === to`. */
export interface PortRange {
  readonly from: number;
  readonly to: number;
}

export function isAddressPeerClass(peer: PeerClass): peer is AddressPeerClass {
  return (ADDRESS_PEER_CLASSES as readonly string[]).includes(peer);
}

/**
 * How Services reach pods on a node. `iptables` (kubeadm's default) and
 * `nftables` DNAT NodePorts in PREROUTING; `ipvs` (kubespray's default) serves
 * Service IPs bound to the local `kube-ipvs0` and NodePorts at LOCAL_IN, after
 * INPUT's filtering; `none` is an eBPF replacement (Cilium, Calico eBPF) that
 * translates before netfilter sees the packet.
 */
export const KUBE_PROXY_MODES = ['iptables', 'ipvs', 'nftables', 'none'] as const;
export type KubeProxyMode = (typeof KUBE_PROXY_MODES)[number];
export const DEFAULT_KUBE_PROXY_MODE: KubeProxyMode = 'iptables';

/** kube-apiserver's `--service-node-port-range` default. */
export const DEFAULT_NODE_PORT_RANGE: PortRange = { from: 30000, to: 32767 };
/** Addresses local to every node that a catalogue entry can name as its destination. */
export const LOCAL_DESTINATIONS = ['node-local-dns'] as const;
export type LocalDestination = (typeof LOCAL_DESTINATIONS)[number];

/** NodeLocal DNSCache's default address (k8s.io/dns cmd/node-cache, the nodelocaldns.yaml manifest's __PILLAR__LOCAL__DNS__). */
export const DEFAULT_NODE_LOCAL_DNS = '169.254.20.10';

// Backend vocabulary that host readers use too: here, below both src/backends/ and src/host/, so neither imports the other's types.

/** What a backend can express; the plan's needs are checked against it before rendering. */
export interface BackendCapabilities {
  /** Can filter traffic by its original destination port before kube-proxy's DNAT (NodePorts). */
  readonly filterBeforeDnat: boolean;
  /** Holds peers in sets, so rules do not multiply with the number of addresses. */
  readonly addressSets: boolean;
  /** The IP protocols without ports (IP-in-IP, ESP, VRRP) it can accept by protocol number. */
  readonly ipProtocols: readonly IpProtocol[];
  /** Can accept traffic by destination address from anyone (kube-proxy ipvs: Service IPs on kube-ipvs0). */
  readonly acceptByDestination: boolean;
}

/** Backend-specific settings from the CLI edge (e.g. `iptablesVariant`), already validated there. */
export type BackendOptions = Readonly<Record<string, string | undefined>>;
/** Names other tools use for kubewall's roles. */
export const ROLE_ALIASES: Readonly<Record<string, Role>> = {
  master: 'control-plane',
  controlplane: 'control-plane',
  control_plane: 'control-plane',
  server: 'control-plane',
  node: 'worker',
  agent: 'worker',
  minion: 'worker',
};
