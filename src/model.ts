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

export const PROTOCOLS = ['tcp', 'udp'] as const;
export type Protocol = (typeof PROTOCOLS)[number];

export const FAMILIES = ['ipv4', 'ipv6'] as const;
export type Family = (typeof FAMILIES)[number];

/** An inclusive port range; a single port has `from === to`. */
export interface PortRange {
  readonly from: number;
  readonly to: number;
}

export function isAddressPeerClass(peer: PeerClass): peer is AddressPeerClass {
  return (ADDRESS_PEER_CLASSES as readonly string[]).includes(peer);
}
