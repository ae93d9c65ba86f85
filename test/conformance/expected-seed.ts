import type { Role } from '../../src/index.js';
import type { PeerName, ProbeProtocol as Protocol } from './adapter.js';

/**
 * What the seed catalogue must give, written by hand from DOMAIN.md §1 and
 * the cluster files, not from the planner, so a planner bug cannot pass its
 * own test. Per cluster and role: `'proto/ports' → peers that get in`
 * (`'all'` = every peer, the outsider too). The node itself (`self`) reaches
 * everything through loopback; a port not listed is closed to every peer.
 * A port listed with `[]` is the node's own (Used by: Self).
 */
export type HandTable = Readonly<Record<string, readonly Exclude<PeerName, 'self'>[] | 'all'>>;

/** In the embedded default cluster every peer class is private space, so every peer but the outsider matches. */
const PRIVATE = ['control-plane', 'worker', 'etcd', 'load-balancer', 'admin', 'pod'] as const;

type RoleTables = Readonly<Record<'control-plane' | 'worker' | 'etcd', HandTable>>;

const SEED: Readonly<Record<string, RoleTables>> = {
  // No --cluster: nothing described, every peer class defaulted to private space.
  default: {
    'control-plane': {
      'tcp/22': PRIVATE,
      'tcp/2379-2380': PRIVATE,
      'tcp/6443': 'all',
      'tcp/10250': PRIVATE,
      'tcp/10257': [],
      'tcp/10259': [],
      'tcp/30000-32767': 'all',
      'udp/30000-32767': 'all',
    },
    worker: {
      'tcp/22': PRIVATE,
      'tcp/10250': PRIVATE,
      'tcp/10256': PRIVATE,
      'tcp/30000-32767': 'all',
      'udp/30000-32767': 'all',
    },
    etcd: {
      'tcp/22': PRIVATE,
      'tcp/2379-2380': PRIVATE,
    },
  },
  // Stacked etcd on the control plane, no etcd-only node: the etcd set is empty.
  // Every example names flannel (VXLAN 8472/udp between nodes, not on etcd-only nodes).
  'examples/cluster.yaml': {
    'control-plane': {
      'tcp/22': ['admin'],
      'tcp/2379-2380': ['control-plane'],
      'tcp/6443': 'all',
      'tcp/10250': ['control-plane'],
      'tcp/10257': [],
      'tcp/10259': [],
      'tcp/30000-32767': 'all',
      'udp/30000-32767': 'all',
      'udp/8472': ['control-plane', 'worker'],
    },
    worker: {
      'tcp/22': ['admin'],
      'tcp/10250': ['control-plane'],
      'tcp/10256': ['load-balancer'],
      'tcp/30000-32767': 'all',
      'udp/30000-32767': 'all',
      'udp/8472': ['control-plane', 'worker'],
    },
    etcd: {
      'tcp/22': ['admin'],
      'tcp/2379-2380': ['control-plane'],
    },
  },
  // API server on 443, SSH on 2222, etcd on its own nodes.
  'examples/external-etcd.yaml': {
    'control-plane': {
      'tcp/2222': ['admin'],
      'tcp/443': 'all',
      'tcp/2379-2380': ['control-plane', 'etcd'],
      'tcp/10250': ['control-plane'],
      'tcp/10257': [],
      'tcp/10259': [],
      'tcp/30000-32767': 'all',
      'udp/30000-32767': 'all',
      'udp/8472': ['control-plane', 'worker', 'etcd'],
    },
    worker: {
      'tcp/2222': ['admin'],
      'tcp/10250': ['control-plane'],
      'tcp/10256': ['load-balancer'],
      'tcp/30000-32767': 'all',
      'udp/30000-32767': 'all',
      'udp/8472': ['control-plane', 'worker', 'etcd'],
    },
    etcd: {
      'tcp/2222': ['admin'],
      'tcp/2379-2380': ['control-plane', 'etcd'],
    },
  },
  // NodePorts 30000-30999, from the load balancers only.
  'examples/nodeports-from-load-balancers.yaml': {
    'control-plane': {
      'tcp/22': ['admin'],
      'tcp/2379-2380': ['control-plane'],
      'tcp/6443': 'all',
      'tcp/10250': ['control-plane'],
      'tcp/10257': [],
      'tcp/10259': [],
      'tcp/30000-30999': ['load-balancer'],
      'udp/30000-30999': ['load-balancer'],
      'udp/8472': ['control-plane', 'worker'],
    },
    worker: {
      'tcp/22': ['admin'],
      'tcp/10250': ['control-plane'],
      'tcp/10256': ['load-balancer'],
      'tcp/30000-30999': ['load-balancer'],
      'udp/30000-30999': ['load-balancer'],
      'udp/8472': ['control-plane', 'worker'],
    },
    etcd: {
      'tcp/22': ['admin'],
      'tcp/2379-2380': ['control-plane'],
    },
  },
  // kubespray-style: kube-proxy ipvs (ports unchanged: the Service IPs are not the node's address), Calico's
  // default IP-in-IP with BIRD on 179 and Typha on 5473 between nodes (Calico's "Network requirements"),
  // NodeLocal DNS on 169.254.25.10 (pods to that address only: the node's own :53 stays closed).
  'examples/kubespray-ipvs.yaml': {
    'control-plane': {
      'tcp/22': ['admin'],
      'tcp/179': ['control-plane', 'worker'],
      'tcp/2379-2380': ['control-plane'],
      'tcp/5473': ['control-plane', 'worker'],
      'tcp/6443': 'all',
      'tcp/10250': ['control-plane'],
      'tcp/10257': [],
      'tcp/10259': [],
      'tcp/30000-32767': 'all',
      'udp/30000-32767': 'all',
    },
    worker: {
      'tcp/22': ['admin'],
      'tcp/179': ['control-plane', 'worker'],
      'tcp/5473': ['control-plane', 'worker'],
      'tcp/10250': ['control-plane'],
      'tcp/10256': ['load-balancer'],
      'tcp/30000-32767': 'all',
      'udp/30000-32767': 'all',
    },
    etcd: {
      'tcp/22': ['admin'],
      'tcp/2379-2380': ['control-plane'],
    },
  },
};

/** A node with several roles gets the union of their tables. */
export function handTable(cluster: string | null, roles: readonly Role[]): HandTable | null {
  const tables = SEED[cluster ?? 'default'];
  if (!tables) return null;
  const merged: Record<string, Exclude<PeerName, 'self'>[] | 'all'> = {};
  for (const role of roles) {
    for (const [key, peers] of Object.entries(tables[role])) {
      const previous = merged[key];
      merged[key] = previous === 'all' || peers === 'all' ? 'all' : [...new Set([...(previous ?? []), ...peers])];
    }
  }
  return merged;
}

export interface HandRange {
  readonly protocol: Protocol;
  readonly from: number;
  readonly to: number;
}

export function parseHandKey(key: string): HandRange {
  const match = /^(tcp|udp)\/(\d+)(?:-(\d+))?$/.exec(key);
  if (!match) throw new Error(`hand-written table: bad key ${key}`);
  const from = Number(match[2]);
  return { protocol: match[1] as Protocol, from, to: match[3] === undefined ? from : Number(match[3]) };
}

/** What the hand-written table says for one cell. */
export function handAllows(table: HandTable, peer: PeerName, protocol: Protocol, port: number): boolean {
  if (peer === 'self') return true;
  return Object.entries(table).some(([key, peers]) => {
    const range = parseHandKey(key);
    return range.protocol === protocol && port >= range.from && port <= range.to && (peers === 'all' || peers.includes(peer));
  });
}
