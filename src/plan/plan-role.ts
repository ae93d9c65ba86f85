import { normalizeNetworks, parseNetwork, PRIVATE_NETWORKS, type Network } from '../addresses.js';
import { entriesForRoles, type Catalogue, type CatalogueEntry, type EntrySource } from '../catalogue/catalogue.js';
import type { Cluster } from '../cluster/cluster.js';
import { KubewallError } from '../errors.js';
import {
  ADDRESS_PEER_CLASSES,
  FAMILIES,
  IP_PROTOCOL_INFO,
  isAddressPeerClass,
  PEER_CLASSES,
  ROLES,
  type AddressPeerClass,
  type PeerClass,
  type Role,
} from '../model.js';
import { formatPortRanges, rangesOverlap } from '../ports.js';
import { VERSION } from '../version.js';
import {
  ICMP_TYPES,
  ICMPV6_TYPES,
  PLAN_API_VERSION,
  setName,
  type IpProtocolRule,
  type PeerSet,
  type Plan,
  type PlanRule,
} from './types.js';

export interface PlanOptions {
  /** Render even though no SSH rule would remain (console access, out-of-band management). */
  readonly allowLockout?: boolean;
}

export interface PlanInput {
  /** The catalogue with the cluster's overrides already applied. */
  readonly catalogue: Catalogue;
  readonly cluster: Cluster;
  readonly roles: readonly Role[];
  readonly options?: PlanOptions;
}

const SSH_SOURCE: EntrySource = {
  document: 'kubewall baseline',
  section: 'SSH from admin networks, so a default-drop policy cannot lock operators out',
};

const PRIVATE_DEFAULT: readonly Network[] = PRIVATE_NETWORKS.map((text) => parseNetwork(text) as Network);

/** Where each peer class takes its addresses from in the cluster model; null = not described. */
function describedNetworks(peer: AddressPeerClass, cluster: Cluster): readonly Network[] | null {
  const nodesWith = (role: Role | null) =>
    cluster.nodes === null
      ? null
      : cluster.nodes.filter((node) => role === null || node.roles.includes(role)).flatMap((node) => node.addresses);
  switch (peer) {
    case 'control-plane':
      return nodesWith('control-plane');
    case 'etcd':
      return nodesWith('etcd');
    case 'nodes':
      return nodesWith(null);
    case 'load-balancers':
      return cluster.loadBalancers;
    case 'pods':
      return cluster.podCIDRs;
    case 'admin':
      return cluster.adminNetworks;
  }
}

/** The documented default for peer classes a cluster does not describe: private address space. */
export const DEFAULT_PEER_NETWORKS: Readonly<Record<AddressPeerClass, readonly string[]>> = Object.fromEntries(
  ADDRESS_PEER_CLASSES.map((peer) => [peer, PRIVATE_NETWORKS]),
) as Record<AddressPeerClass, readonly string[]>;

function resolvePeerSets(peers: ReadonlySet<AddressPeerClass>, cluster: Cluster): PeerSet[] {
  const sets: PeerSet[] = [];
  for (const peer of ADDRESS_PEER_CLASSES) {
    if (!peers.has(peer)) continue;
    const described = describedNetworks(peer, cluster);
    const networks = normalizeNetworks(described ?? PRIVATE_DEFAULT);
    for (const family of FAMILIES) {
      sets.push({
        name: setName(peer, family),
        peer,
        family,
        elements: networks.filter((n) => n.family === family).map((n) => n.text),
        defaulted: described === null,
      });
    }
  }
  return sets;
}

function ruleComment(entry: string, purpose: string, usedBy: string): string {
  return `${entry}: ${purpose} (used by: ${usedBy})`;
}

/**
 * `any` makes every other peer redundant, and `nodes` covers control-plane and
 * etcd (both are nodes); `self` stays visible (it is the loopback accept).
 */
function effectivePeers(peers: readonly PeerClass[]): PeerClass[] {
  const ordered = PEER_CLASSES.filter((p) => peers.includes(p));
  if (ordered.includes('any')) return ['any'];
  return ordered.includes('nodes') ? ordered.filter((p) => p !== 'control-plane' && p !== 'etcd') : ordered;
}

function rulesForEntry(entry: CatalogueEntry): PlanRule[] {
  const rules: PlanRule[] = [];
  for (const protocol of entry.protocols) {
    for (const peer of effectivePeers(entry.peers)) {
      rules.push({
        id: `${entry.id}/${protocol}/${peer}`,
        entry: entry.id,
        purpose: entry.purpose,
        protocol,
        ports: entry.ports,
        peer,
        action: 'accept',
        filterBeforeDnat: entry.dnatByKubeProxy,
        usedBy: entry.usedBy,
        source: entry.source,
        comment: ruleComment(entry.id, entry.purpose, entry.usedBy),
      });
    }
  }
  return rules;
}

function ipProtocolRulesForEntry(entry: CatalogueEntry): IpProtocolRule[] {
  return entry.ipProtocols.flatMap((protocol) =>
    effectivePeers(entry.peers).map((peer) => ({
      id: `${entry.id}/${protocol}/${peer}`,
      entry: entry.id,
      purpose: entry.purpose,
      protocol,
      ipProtocol: IP_PROTOCOL_INFO[protocol].number,
      families: IP_PROTOCOL_INFO[protocol].families,
      peer,
      action: 'accept' as const,
      usedBy: entry.usedBy,
      source: entry.source,
      comment: ruleComment(entry.id, entry.purpose, entry.usedBy),
    })),
  );
}

// Code-unit order, not localeCompare: the first localeCompare loads ICU's collator,
// which cost a render more time than the rest of the planner (and ids are ASCII).
function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function compareRules(a: PlanRule, b: PlanRule): number {
  return (
    (a.ports[0]?.from ?? 0) - (b.ports[0]?.from ?? 0) ||
    compareText(a.protocol, b.protocol) ||
    PEER_CLASSES.indexOf(a.peer) - PEER_CLASSES.indexOf(b.peer) ||
    compareText(a.entry, b.entry)
  );
}

function compareIpProtocolRules(a: IpProtocolRule, b: IpProtocolRule): number {
  return a.ipProtocol - b.ipProtocol || PEER_CLASSES.indexOf(a.peer) - PEER_CLASSES.indexOf(b.peer) || compareText(a.entry, b.entry);
}

function sshRule(port: number): PlanRule {
  return {
    id: 'ssh/tcp/admin',
    entry: 'ssh',
    purpose: 'SSH (management)',
    protocol: 'tcp',
    ports: [{ from: port, to: port }],
    peer: 'admin',
    action: 'accept',
    filterBeforeDnat: false,
    usedBy: 'Admin networks',
    source: SSH_SOURCE,
    comment: ruleComment('ssh', 'SSH (management)', 'Admin networks'),
  };
}

/** The cluster-file keys that describe each address peer class. */
const PEER_CLASS_KEYS: Readonly<Record<AddressPeerClass, string>> = {
  'control-plane': 'nodes with roles: [control-plane]',
  etcd: 'nodes with roles: [etcd] (stacked etcd: control-plane)',
  nodes: 'nodes',
  'load-balancers': 'loadBalancers',
  pods: 'podCIDRs',
  admin: 'adminNetworks',
};

/** Without a file, pass one; with a file, name the keys to add to it. */
function howToNarrow(cluster: Cluster, peers: readonly AddressPeerClass[]): string {
  if (cluster.source === null) return `pass --cluster FILE to narrow ${peers.length > 1 ? 'them' : 'it'}`;
  return `add ${peers.map((peer) => PEER_CLASS_KEYS[peer]).join('; ')} to ${cluster.source} to narrow ${peers.length > 1 ? 'them' : 'it'}`;
}

function clusterName(cluster: Cluster): string {
  return cluster.source ?? 'the embedded default cluster';
}

/** Decides the SSH rule: present, deliberately absent, or a refusal to lock the operator out. */
function planSsh(cluster: Cluster, entries: readonly CatalogueEntry[], options: PlanOptions, warnings: string[]): PlanRule | null {
  const { enabled, port } = cluster.ssh;
  if (!enabled) {
    warnings.push(`${cluster.locate(['ssh', 'enabled'])}: ssh.enabled is false: no SSH rule; new SSH connections will be dropped`);
    return null;
  }
  const clash = entries.find((e) => e.protocols.includes('tcp') && e.ports.some((r) => rangesOverlap(r, { from: port, to: port })));
  if (clash) {
    throw new KubewallError(
      'PLAN',
      `${cluster.locate(['ssh', 'port'])}: ssh.port: SSH port ${port}/tcp overlaps catalogue entry "${clash.id}" (${clash.origin}) ports ${formatPortRanges(clash.ports)} (choose another SSH port or move the entry with an override)`,
    );
  }
  if (cluster.adminNetworks !== null && cluster.adminNetworks.length === 0) {
    if (options.allowLockout) {
      warnings.push(`--allow-lockout: ${clusterName(cluster)} lists no admin networks, so no SSH rule is rendered; new SSH connections will be dropped`);
      return null;
    }
    throw new KubewallError(
      'PLAN',
      `${cluster.locate(['adminNetworks'])}: adminNetworks: empty, so this firewall would drop SSH (port ${port}/tcp) from everywhere and lock you out (add the networks you manage nodes from, set ssh.enabled: false to go without SSH on purpose, or pass --allow-lockout)`,
    );
  }
  return sshRule(port);
}

/**
 * Builds the backend-neutral plan for a node with these roles: one rule per
 * (entry, protocol, peer class), peers held in named sets, so the rule count
 * never grows with the cluster. Pure: no I/O, same input, same plan.
 */
export function planRole(input: PlanInput): Plan {
  const { catalogue, cluster } = input;
  const options = input.options ?? {};
  const roles = ROLES.filter((role) => input.roles.includes(role));
  if (roles.length === 0) {
    throw new KubewallError('USAGE', `no role given (expected one or more of ${ROLES.join(', ')})`);
  }
  const warnings: string[] = [...(catalogue.notes ?? [])];
  const entries = entriesForRoles(catalogue, roles);
  const rules = entries.flatMap(rulesForEntry);
  const ssh = planSsh(cluster, entries, options, warnings);
  if (ssh) rules.push(ssh);
  rules.sort(compareRules);
  const ipProtocolRules = entries.flatMap(ipProtocolRulesForEntry).sort(compareIpProtocolRules);

  const usedPeers = new Set([...rules, ...ipProtocolRules].map((r) => r.peer).filter(isAddressPeerClass));
  const sets = resolvePeerSets(usedPeers, cluster);

  const defaultedPeers = ADDRESS_PEER_CLASSES.filter((peer) => sets.some((s) => s.peer === peer && s.defaulted));
  if (defaultedPeers.length > 0) {
    warnings.push(
      `${clusterName(cluster)} does not describe peer class${defaultedPeers.length > 1 ? 'es' : ''} ${defaultedPeers.join(', ')}: defaulted to private address space (${PRIVATE_NETWORKS.join(', ')}); ${howToNarrow(cluster, defaultedPeers)}`,
    );
  }
  for (const entry of entries) {
    const peers = effectivePeers(entry.peers);
    if (peers.includes('any')) continue;
    const reachable = peers.filter(isAddressPeerClass).some((peer) => sets.some((s) => s.peer === peer && s.elements.length > 0));
    if (!reachable) {
      const who = peers.filter(isAddressPeerClass);
      if (who.length > 0) {
        warnings.push(
          `${entry.id} (${entry.ipProtocols.length > 0 ? entry.ipProtocols.join(', ') : formatPortRanges(entry.ports)}): ${clusterName(cluster)} has no addresses for ${who.join(', ')}, so only the node itself can reach it`,
        );
      }
    }
  }

  return {
    apiVersion: PLAN_API_VERSION,
    generator: { name: 'kubewall', version: VERSION },
    roles,
    cluster: cluster.source,
    catalogue: catalogue.files,
    profiles: catalogue.profiles ?? [],
    baseline: {
      acceptLoopback: true,
      acceptEstablished: true,
      dropInvalid: true,
      icmp: ICMP_TYPES,
      icmpv6: ICMPV6_TYPES,
      inputPolicy: 'drop',
    },
    ssh: { enabled: ssh !== null, port: cluster.ssh.port },
    sets,
    rules,
    ipProtocolRules,
    defaultedPeers,
    warnings,
  };
}

