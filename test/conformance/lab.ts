import ipaddr from 'ipaddr.js';
import type { Cluster, Family, Plan } from '../../src/index.js';
import type { PeerName } from './adapter.js';

/**
 * Where everyone sits in the namespace lab for one cluster: pure, so the
 * choice of addresses is testable and printed, not hidden in `ip` calls.
 *
 * The node under test joins the cluster as a new node with a synthetic
 * address (`.250` / `::250` in the first node's subnet): the firewall only
 * matches source addresses, so the node's own address changes nothing, and
 * every real node of the cluster stays free to play a peer. Peers take real
 * addresses from the cluster file; a peer class the file describes as empty
 * (no etcd node, no load balancer) has no peer, and the harness logs why.
 */
export interface LabAddresses {
  readonly node: Readonly<Record<Family, string>>;
  /** The pod behind the node's `kwpod` veth, and the node's side of that link. */
  readonly pod: Readonly<Record<Family, string>>;
  readonly podGateway: Readonly<Record<Family, string>>;
  readonly podPrefix: Readonly<Record<Family, number>>;
  /** Peers on the LAN segment (everyone but `self` and `pod`). */
  readonly peers: ReadonlyMap<Exclude<PeerName, 'self' | 'pod'>, LabPeer>;
  /** The `kubernetes` Service's ClusterIP. */
  readonly clusterIp: Readonly<Record<Family, string>>;
  /** Why a peer is missing, or where an address was made up. */
  readonly notes: readonly string[];
}

export interface LabPeer {
  readonly addresses: Readonly<Record<Family, string>>;
  /** Where the address came from, for the log. */
  readonly origin: string;
}

const FALLBACK = {
  subnet: { ipv4: '10.0.0.0', ipv6: 'fd00:0:0:1::' },
  pod: { ipv4: '10.244.0.0', ipv6: 'fd00:244::' },
  service: { ipv4: '10.96.0.0', ipv6: 'fd00:96::' },
  admin: { ipv4: '192.168.99.0', ipv6: 'fd00:99::' },
  // Documentation ranges: public space, outside every private default (used only inside our namespaces).
  public: { ipv4: '198.51.100.0', ipv6: '2001:db8::' },
} as const;

/** `base` with its last bits replaced by `host` (a small number), e.g. (10.10.0.11, 250) → 10.10.0.250. */
export function withHost(base: string, host: number, hostBits = 8): string {
  const address = ipaddr.parse(base);
  const bytes = address.toByteArray();
  let value = host;
  for (let i = bytes.length - 1, bits = hostBits; bits > 0; i -= 1, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (1 << bits) - 1;
    bytes[i] = (bytes[i]! & ~mask) | (value & mask);
    value >>= 8;
  }
  return ipaddr.fromByteArray(bytes).toString();
}

/** Host `host` inside a network given as text (`10.244.0.0/16`, `fd00:99::/64`, or a bare address). */
function hostIn(network: string, host: number): string {
  if (!network.includes('/')) return network;
  const [base, prefix] = ipaddr.parseCIDR(network);
  const full = base.kind() === 'ipv4' ? 32 : 128;
  return withHost(base.toString(), host, Math.min(full - prefix, 16));
}

function familyOf(text: string): Family {
  return text.includes(':') ? 'ipv6' : 'ipv4';
}

/** Whether `address` falls in any element (address or CIDR) of the list. */
export function addressIn(address: string, elements: readonly string[]): boolean {
  const parsed = ipaddr.parse(address);
  return elements.some((element) => {
    const [base, prefix] = element.includes('/')
      ? ipaddr.parseCIDR(element)
      : [ipaddr.parse(element), parsed.kind() === 'ipv4' ? 32 : 128];
    return base.kind() === parsed.kind() && parsed.match(base, prefix);
  });
}

function firstOf(networks: Cluster['podCIDRs'], family: Family): string | undefined {
  return networks?.find((n) => n.family === family)?.text;
}

/**
 * Picks every address of the lab. `plans` are the cluster's plans (any
 * roles): the outsider must fall outside every peer set they name.
 */
export function chooseLabAddresses(cluster: Cluster, plans: readonly Plan[]): LabAddresses {
  const notes: string[] = [];
  const peers = new Map<Exclude<PeerName, 'self' | 'pod'>, LabPeer>();
  const nodes = cluster.nodes ?? [];
  const subnet = (family: Family): string => {
    const first = nodes.flatMap((n) => n.addresses).find((a) => a.family === family);
    return first ? first.text : FALLBACK.subnet[family];
  };
  const node = { ipv4: withHost(subnet('ipv4'), 250), ipv6: withHost(subnet('ipv6'), 0x250, 16) };
  const used = new Set<string>();

  const fromNodes = (peer: 'control-plane' | 'worker' | 'etcd', fallbackHost: number) => {
    if (cluster.nodes === null) {
      peers.set(peer, {
        addresses: { ipv4: withHost(subnet('ipv4'), fallbackHost), ipv6: withHost(subnet('ipv6'), fallbackHost, 16) },
        origin: 'no nodes in the cluster: a private address (every node class defaults to private space)',
      });
      return;
    }
    // A worker peer is a node that is only a worker, so it shows what "just a node" may reach.
    const candidates = nodes.filter((n) =>
      peer === 'worker' ? n.roles.length === 1 && n.roles[0] === 'worker' : n.roles.includes(peer),
    );
    const chosen = candidates.find((n) => !used.has(n.name));
    if (!chosen) {
      notes.push(`no ${peer} peer: the cluster has no${candidates.length > 0 ? ' other' : ''} node with role ${peer === 'worker' ? 'worker only' : peer}; its cells are not probed`);
      return;
    }
    used.add(chosen.name);
    const addresses = {} as Record<Family, string>;
    for (const family of ['ipv4', 'ipv6'] as const) {
      const own = chosen.addresses.find((a) => a.family === family);
      if (own) addresses[family] = own.text;
      else {
        addresses[family] = withHost(subnet(family), fallbackHost, family === 'ipv6' ? 16 : 8);
        notes.push(`${peer} peer ${chosen.name} has no ${family} address: a synthetic one (${addresses[family]}) in no peer class`);
      }
    }
    peers.set(peer, { addresses, origin: `node ${chosen.name}` });
  };
  fromNodes('control-plane', 11);
  fromNodes('worker', 21);
  fromNodes('etcd', 31);

  const fromNetworks = (
    peer: 'load-balancer' | 'admin',
    networks: Cluster['loadBalancers'],
    host: number,
    fallback: Readonly<Record<Family, string>>,
  ) => {
    if (networks !== null && networks.length === 0) {
      notes.push(`no ${peer} peer: the cluster lists none`);
      return;
    }
    const addresses = {} as Record<Family, string>;
    for (const family of ['ipv4', 'ipv6'] as const) {
      const network = firstOf(networks, family);
      addresses[family] = network ? hostIn(network, host) : hostIn(`${fallback[family]}/${family === 'ipv4' ? 24 : 64}`, host);
      if (!network && networks !== null) notes.push(`${peer} peer: the cluster has no ${family} ${peer} address; ${addresses[family]} is in no peer class`);
    }
    peers.set(peer, { addresses, origin: networks === null ? 'not described: a private address (defaulted class)' : 'cluster file' });
  };
  fromNetworks('load-balancer', cluster.loadBalancers, 5, { ipv4: withHost(subnet('ipv4'), 0), ipv6: withHost(subnet('ipv6'), 0, 16) });
  fromNetworks('admin', cluster.adminNetworks, 10, FALLBACK.admin);

  const pod = {} as Record<Family, string>;
  const podGateway = {} as Record<Family, string>;
  const podPrefix = { ipv4: 24, ipv6: 64 };
  for (const family of ['ipv4', 'ipv6'] as const) {
    const cidr = firstOf(cluster.podCIDRs, family) ?? `${FALLBACK.pod[family]}/${family === 'ipv4' ? 16 : 56}`;
    if (!firstOf(cluster.podCIDRs, family) && cluster.podCIDRs !== null) notes.push(`pod: the cluster has no ${family} pod CIDR; the pod's ${family} address is in no peer class`);
    // The node's pod subnet: the second /24 (v4) or /64 (v6) of the pod CIDR, as a CNI would hand out.
    const [base] = ipaddr.parseCIDR(cidr);
    const bytes = base.toByteArray();
    if (family === 'ipv4') bytes[2] = (bytes[2]! | 1) & 0xff;
    else bytes[7] = (bytes[7]! | 1) & 0xff;
    const subnetBase = ipaddr.fromByteArray(bytes).toString();
    podGateway[family] = withHost(subnetBase, 1, family === 'ipv4' ? 8 : 16);
    pod[family] = withHost(subnetBase, 0x10, family === 'ipv4' ? 8 : 16);
  }

  // In the nodes' own subnet when that is outside every set (sharper: a /24 where a /32 was meant shows);
  // otherwise public documentation space.
  const allElements = plans.flatMap((p) => p.sets.map((s) => s.elements)).flat();
  const outsider = {} as Record<Family, string>;
  for (const family of ['ipv4', 'ipv6'] as const) {
    const near = withHost(subnet(family), family === 'ipv4' ? 199 : 0x199, family === 'ipv4' ? 8 : 16);
    outsider[family] = cluster.nodes !== null && !addressIn(near, allElements) ? near : withHost(FALLBACK.public[family], 10);
    if (addressIn(outsider[family], allElements)) throw new Error(`lab: outsider ${outsider[family]} falls in a peer set`);
  }
  peers.set('outsider', { addresses: outsider, origin: 'in no peer class' });

  const clusterIp = {} as Record<Family, string>;
  for (const family of ['ipv4', 'ipv6'] as const) {
    clusterIp[family] = hostIn(firstOf(cluster.serviceCIDRs, family) ?? `${FALLBACK.service[family]}/${family === 'ipv4' ? 12 : 108}`, 1);
  }

  for (const [peer, { addresses }] of peers) {
    for (const family of ['ipv4', 'ipv6'] as const) {
      if (familyOf(addresses[family]) !== family) throw new Error(`lab: ${peer} ${family} address ${addresses[family]}`);
    }
  }
  return { node, pod, podGateway, podPrefix, peers, clusterIp, notes };
}
