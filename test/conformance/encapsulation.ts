import ipaddr from 'ipaddr.js';
import type { Cluster, Family, Plan, Role } from '../../src/index.js';
import { addressIn, type LabAddresses } from './lab.js';
import { planAllows } from './matrix.js';

/**
 * The encapsulation suite's pure half: which CNI modes are exercised and how
 * their traffic crosses the wire, where everyone sits, and the `ip` lines
 * that build the overlay. The namespaces, processes and probes are in
 * `encapsulation-run.ts`.
 *
 * The tunnel table is written from the CNIs' documentation (the profiles'
 * sources), not from the planner: `encapsulation-cases.test.ts` holds the
 * plans against it, so a profile that stops opening a tunnel port fails
 * there without root, and here on a real kernel.
 */

/** How one encapsulation crosses the wire between two nodes. */
export type Tunnel =
  /** A kernel VXLAN device on the profile's port, carrying pod traffic. */
  | { readonly kind: 'vxlan'; readonly port: number }
  /** A kernel Geneve device where the kernel has one; else datagrams on its port, like `udp`. */
  | { readonly kind: 'geneve'; readonly port: number }
  /** A tunnel whose kernel module these machines lack (WireGuard): datagrams on its port, per family. */
  | { readonly kind: 'udp'; readonly name: string; readonly ports: Readonly<Record<Family, number>> }
  /** An IP protocol without ports (IP-in-IP 4, ESP 50): raw packets of that protocol, in the families it runs over. */
  | { readonly kind: 'ip-protocol'; readonly name: string; readonly protocol: number; readonly families: readonly Family[] };

export interface EncapsulationCase {
  /** The `--cni` value, as a user writes it. */
  readonly cni: string;
  readonly tunnels: readonly Tunnel[];
  /** UDP ports only the CNI's other modes use: closed between nodes, since the mode decides what opens. */
  readonly closedUdpPorts: readonly number[];
  /** IP protocols only the CNI's other modes use (IP-in-IP 4, ESP 50): closed between nodes too. */
  readonly closedIpProtocols: readonly number[];
  /**
   * Run on every backend. ufw and firewalld apply slowly (one process per
   * ufw rule; a daemon start and reload per node), so they get one case per
   * CNI; nftables and iptables get every case.
   */
  readonly everyBackend: boolean;
}

const WIREGUARD_51820: Tunnel = { kind: 'udp', name: 'wireguard', ports: { ipv4: 51820, ipv6: 51821 } };

const IPIP: Tunnel = { kind: 'ip-protocol', name: 'ipip', protocol: 4, families: ['ipv4'] };
const ESP: Tunnel = { kind: 'ip-protocol', name: 'esp', protocol: 50, families: ['ipv4', 'ipv6'] };

/**
 * One case per CNI mode that encapsulates. Left out: modes with no tunnel
 * (calico:bgp, cilium:native, flannel:host-gw: routes only, no packets of
 * their own).
 */
export const ENCAPSULATION_CASES: readonly EncapsulationCase[] = [
  { cni: 'calico:vxlan+wireguard', tunnels: [{ kind: 'vxlan', port: 4789 }, WIREGUARD_51820], closedUdpPorts: [], closedIpProtocols: [4], everyBackend: true },
  // ufw cannot express IP protocol 4 (kubewall refuses to render it), so this one is never an everyBackend case.
  { cni: 'calico:ipip', tunnels: [IPIP], closedUdpPorts: [4789, 51820, 51821], closedIpProtocols: [], everyBackend: false },
  { cni: 'cilium', tunnels: [{ kind: 'vxlan', port: 8472 }], closedUdpPorts: [6081, 51871], closedIpProtocols: [50], everyBackend: false },
  {
    cni: 'cilium:geneve+wireguard',
    tunnels: [{ kind: 'geneve', port: 6081 }, { kind: 'udp', name: 'wireguard', ports: { ipv4: 51871, ipv6: 51871 } }],
    closedUdpPorts: [8472],
    closedIpProtocols: [50],
    everyBackend: true,
  },
  { cni: 'cilium:vxlan+ipsec', tunnels: [{ kind: 'vxlan', port: 8472 }, ESP], closedUdpPorts: [6081, 51871], closedIpProtocols: [], everyBackend: false },
  { cni: 'flannel', tunnels: [{ kind: 'vxlan', port: 8472 }], closedUdpPorts: [51820, 51821], closedIpProtocols: [], everyBackend: true },
  { cni: 'flannel:wireguard', tunnels: [WIREGUARD_51820], closedUdpPorts: [8472], closedIpProtocols: [], everyBackend: false },
  { cni: 'canal', tunnels: [{ kind: 'vxlan', port: 8472 }], closedUdpPorts: [51820, 51821], closedIpProtocols: [], everyBackend: false },
  { cni: 'canal:wireguard', tunnels: [WIREGUARD_51820], closedUdpPorts: [8472], closedIpProtocols: [], everyBackend: true },
];

/** examples/cluster.yaml: five nodes, so each node set holds more than the two nodes under test. */
export const ENCAPSULATION_CLUSTER = 'examples/cluster.yaml';

/** The backends that apply fast enough to run every case; the others run the `everyBackend` ones. */
export const FAST_BACKENDS: ReadonlySet<string> = new Set(['nftables', 'iptables']);

export function casesFor(backend: string): EncapsulationCase[] {
  return ENCAPSULATION_CASES.filter((c) => c.everyBackend || FAST_BACKENDS.has(backend));
}

/** A short label for test titles and tokens: `vxlan-8472`, `wireguard-51820`, `ipip`. */
export function tunnelLabel(tunnel: Tunnel): string {
  switch (tunnel.kind) {
    case 'vxlan':
    case 'geneve':
      return `${tunnel.kind}-${tunnel.port}`;
    case 'udp':
      return `${tunnel.name}-${tunnel.ports.ipv4}`;
    case 'ip-protocol':
      return tunnel.name;
  }
}

/** The kernel device a tunnel gets, or null when it is probed with sockets. */
export function deviceKind(tunnel: Tunnel, kernelHasGeneve: boolean): 'vxlan' | 'geneve' | null {
  if (tunnel.kind === 'vxlan') return 'vxlan';
  if (tunnel.kind === 'geneve' && kernelHasGeneve) return 'geneve';
  return null;
}

/** The (protocol, port, family) pairs a tunnel sends on the wire, when it is probed with sockets. */
export interface WireProbe {
  readonly label: string;
  readonly family: Family;
  /** `udp` with a port, or a raw IP protocol number. */
  readonly transport: { readonly udp: number } | { readonly ipProtocol: number };
}

export function wireProbes(tunnel: Tunnel, kernelHasGeneve: boolean): WireProbe[] {
  if (deviceKind(tunnel, kernelHasGeneve) !== null) return [];
  const label = tunnelLabel(tunnel);
  switch (tunnel.kind) {
    case 'geneve':
      // Without the kernel module the datagrams still cross the firewall the same way; both families.
      return (['ipv4', 'ipv6'] as const).map((family) => ({ label, family, transport: { udp: tunnel.port } }));
    case 'udp':
      return (['ipv4', 'ipv6'] as const).map((family) => ({ label: `${tunnel.name}-${tunnel.ports[family]}`, family, transport: { udp: tunnel.ports[family] } }));
    case 'ip-protocol':
      return tunnel.families.map((family) => ({ label, family, transport: { ipProtocol: tunnel.protocol } }));
    default:
      return [];
  }
}

export type EndpointName = 'a' | 'b' | 'outsider';

/** One namespace on the LAN segment: a node under test or the outsider. */
export interface Endpoint {
  readonly name: EndpointName;
  /** Roles rendered for it (empty for the outsider). */
  readonly roles: readonly Role[];
  /** Where the address came from, for the log. */
  readonly origin: string;
  readonly addresses: Readonly<Record<Family, string>>;
  /** Its address on the overlay device and the device's MAC (fixed, so neighbours are static). */
  readonly overlay: string;
  readonly mac: string;
}

export interface NodeEndpoint extends Endpoint {
  /** The pod behind the node (`kwpod` veth) and the node's side of that link, /24. */
  readonly pod: string;
  readonly podGateway: string;
}

/** Everyone in one encapsulation lab. */
export interface EncapsulationLab {
  readonly a: NodeEndpoint;
  readonly b: NodeEndpoint;
  readonly outsider: Endpoint;
  /** The overlay segment every tunnel device sits on. */
  readonly overlayPrefix: number;
  /** The VNI of every tunnel device. */
  readonly vni: number;
}

/** The pod listeners: UDP datagrams (one way, so an outsider's can be observed) and a TCP banner. */
export const POD_PORTS = { udp: 9000, tcp: 8080 } as const;

/**
 * Node A is the cluster's first control-plane node, node B its first
 * worker-only node (two roles, each rendered for its own); the outsider is
 * the harness's (`chooseLabAddresses`: in the nodes' subnet, in no peer set).
 * Pods and the overlay take /24s of the first IPv4 pod CIDR: the overlay
 * the first, node A's pods the second, node B's the third.
 */
export function chooseEncapsulationLab(cluster: Cluster, lab: LabAddresses): EncapsulationLab {
  const cp = lab.peers.get('control-plane');
  const worker = lab.peers.get('worker');
  const outsider = lab.peers.get('outsider');
  if (!cp || !worker || !outsider) throw new Error('encapsulation lab: the cluster needs a control-plane node and a worker-only node');
  const podCidr = cluster.podCIDRs?.find((c) => c.family === 'ipv4')?.text ?? '10.244.0.0/16';
  const [base, prefix] = ipaddr.parseCIDR(podCidr);
  if (prefix > 22) throw new Error(`encapsulation lab: pod CIDR ${podCidr} is too small for three /24s`);
  const bytes = base.toByteArray();
  const inSubnet = (subnet: number, host: number) => [bytes[0], bytes[1], (bytes[2]! & ~3) + subnet, host].join('.');
  const node = (name: 'a' | 'b', roles: Role[], peer: typeof cp, subnet: number): NodeEndpoint => ({
    name,
    roles,
    origin: peer.origin,
    addresses: peer.addresses,
    overlay: inSubnet(0, subnet),
    mac: `02:6b:77:00:00:0${subnet}`,
    pod: inSubnet(subnet, 10),
    podGateway: inSubnet(subnet, 1),
  });
  return {
    a: node('a', ['control-plane'], cp, 1),
    b: node('b', ['worker'], worker, 2),
    outsider: { name: 'outsider', roles: [], origin: outsider.origin, addresses: outsider.addresses, overlay: inSubnet(0, 99), mac: '02:6b:77:00:00:99' },
    overlayPrefix: 24,
    vni: 42,
  };
}

/** The subnet a pod address sits in (`10.244.2.10` → `10.244.2.0/24`). */
function podSubnet(pod: string): string {
  return `${pod.split('.').slice(0, 3).join('.')}.0/24`;
}

/**
 * `ip -batch` lines for one endpoint's tunnel device, flannel-style: a fixed
 * MAC, static neighbours for the peers' overlay addresses and, for VXLAN,
 * one forwarding entry per peer MAC, so no ARP crosses the tunnel and the
 * outsider can send without any answer from the far end. Node A and B know
 * each other; the outsider knows both, but no node knows the outsider.
 * Geneve has no forwarding table: one remote per device, so the outsider's
 * device points at node B only.
 */
export function tunnelDeviceLines(kind: 'vxlan' | 'geneve', port: number, lab: EncapsulationLab, self: EndpointName): string[] {
  const me = self === 'outsider' ? lab.outsider : lab[self];
  const peers: NodeEndpoint[] = self === 'a' ? [lab.b] : self === 'b' ? [lab.a] : kind === 'vxlan' ? [lab.a, lab.b] : [lab.b];
  const dev = TUNNEL_DEVICE;
  const lines =
    kind === 'vxlan'
      ? [`link add ${dev} address ${me.mac} type vxlan id ${lab.vni} dstport ${port} local ${me.addresses.ipv4} dev eth0 nolearning`]
      : [`link add ${dev} address ${me.mac} type geneve id ${lab.vni} dstport ${port} remote ${peers[0]!.addresses.ipv4}`];
  lines.push(`addr add ${me.overlay}/${lab.overlayPrefix} dev ${dev}`, `link set ${dev} up`);
  for (const peer of peers) {
    lines.push(`neigh replace ${peer.overlay} lladdr ${peer.mac} dev ${dev} nud permanent`);
    // Pod traffic for the peer's pods goes through the tunnel to the peer.
    lines.push(`route add ${podSubnet(peer.pod)} via ${peer.overlay} dev ${dev}`);
  }
  return lines;
}

/** `bridge -batch` lines: where the VXLAN device sends each peer MAC. */
export function vxlanFdbLines(lab: EncapsulationLab, self: EndpointName): string[] {
  const peers: NodeEndpoint[] = self === 'a' ? [lab.b] : self === 'b' ? [lab.a] : [lab.a, lab.b];
  return peers.map((peer) => `fdb append ${peer.mac} dev ${TUNNEL_DEVICE} dst ${peer.addresses.ipv4} self permanent`);
}

export const TUNNEL_DEVICE = 'kwtun';

/** The payload of one probe: unique per phase, sender, tunnel and target, so a receiver's log says who got through. */
export function probeToken(phase: string, from: EndpointName, label: string, family: Family, to: EndpointName): string {
  return `kw|${phase}|${from}>${to}|${label}|${family}|`;
}

/**
 * What the plans say about one tunnel port between the two nodes and from
 * the outsider, for the pure cross-check: both nodes' plans must open it to
 * the other node and not to the outsider.
 */
export function planOpensBetweenNodes(plans: Readonly<Record<'a' | 'b', Plan>>, lab: EncapsulationLab, port: number, family: Family): { nodes: boolean; outsider: boolean } {
  const open = (receiver: 'a' | 'b', from: Endpoint) =>
    planAllows(plans[receiver], { port, protocol: 'udp', family }, 'worker', from.addresses[family]);
  return {
    nodes: open('a', lab.b) && open('b', lab.a),
    outsider: open('a', lab.outsider) || open('b', lab.outsider),
  };
}

/** The same for an IP protocol without ports, from the plan's `ipProtocolRules`. */
export function planOpensIpProtocolBetweenNodes(
  plans: Readonly<Record<'a' | 'b', Plan>>,
  lab: EncapsulationLab,
  ipProtocol: number,
  family: Family,
): { nodes: boolean; outsider: boolean } {
  const open = (receiver: 'a' | 'b', from: Endpoint) =>
    plans[receiver].ipProtocolRules.some((rule) => {
      if (rule.ipProtocol !== ipProtocol || !rule.families.includes(family)) return false;
      if (rule.peer === 'any') return true;
      const set = plans[receiver].sets.find((s) => s.peer === rule.peer && s.family === family);
      return set !== undefined && addressIn(from.addresses[family], set.elements);
    });
  return {
    nodes: open('a', lab.b) && open('b', lab.a),
    outsider: open('a', lab.outsider) || open('b', lab.outsider),
  };
}
