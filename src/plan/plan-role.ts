import { normalizedTextsByFamily, normalizeNetworks, parseNetwork, PRIVATE_NETWORKS, type Network } from '../addresses.js';
import { entriesForRoles, type Catalogue, type CatalogueEntry, type EntrySource } from '../catalogue/catalogue.js';
import type { Cluster } from '../cluster/cluster.js';
import { KubewallError } from '../errors.js';
import {
  ADDRESS_PEER_CLASSES,
  DEFAULT_NODE_PORT_RANGE,
  DEFAULT_NODE_LOCAL_DNS,
  FAMILIES,
  IP_PROTOCOL_INFO,
  isAddressPeerClass,
  PEER_CLASSES,
  PROTOCOLS,
  ROLES,
  type AddressPeerClass,
  type Family,
  type PeerClass,
  type Role,
} from '../model.js';
import { formatPortRange, formatPortRanges, rangesOverlap, subtractPortRanges } from '../ports.js';
import { VERSION } from '../version.js';
import {
  ICMP_TYPES,
  ICMPV6_TYPES,
  LINK_LOCAL_V6,
  MLD_TYPES,
  PLAN_API_VERSION,
  setName,
  type LinkLocalRule,
  type MldType,
  type PlanDestination,
  type IpProtocolRule,
  type KubeProxyPlan,
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
  const nodesWith = (role: Role | null): Network[] | null => {
    if (cluster.nodes === null) return null;
    // Indexed loops, not filter and flatMap or for…of: this runs once over
    // every node of a fleet, where each of those allocates per step.
    const addresses: Network[] = [];
    for (let n = 0; n < cluster.nodes.length; n++) {
      const node = cluster.nodes[n]!;
      if (role !== null && !node.roles.includes(role)) continue;
      for (let a = 0; a < node.addresses.length; a++) addresses.push(node.addresses[a]!);
    }
    return addresses;
  };
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
    const elements = normalizedTextsByFamily(described ?? PRIVATE_DEFAULT);
    for (const family of FAMILIES) {
      sets.push({ name: setName(peer, family), peer, family, elements: elements[family], defaulted: described === null });
    }
  }
  return sets;
}

/** Longer than any backend keeps (iptables: 255 bytes), short enough that no output carries a 100 KB "Used by" whole. */
const MAX_COMMENT = 240;

function ruleComment(entry: string, purpose: string, usedBy: string): string {
  const text = `${entry}: ${purpose} (used by: ${usedBy})`;
  if (text.length <= MAX_COMMENT) return text;
  // Cut at a code point, so the comment never ends in half a surrogate pair.
  return `${[...text.slice(0, MAX_COMMENT - 3)].join('').replace(/[\ud800-\udbff]$/, '')}...`;
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

/** The address an entry's `destination` names, from the cluster file or the documented default. */
function resolveDestination(entry: CatalogueEntry, cluster: Cluster): PlanDestination | undefined {
  if (entry.destination === null) return undefined;
  const described = cluster.nodeLocalDNS;
  const network = described ?? (parseNetwork(DEFAULT_NODE_LOCAL_DNS) as Network);
  return {
    address: network.text,
    family: network.family,
    from: `${entry.destination} (${described ? `${cluster.source}: nodeLocalDNS` : 'default: upstream NodeLocal DNSCache'})`,
  };
}

function rulesForEntry(entry: CatalogueEntry, cluster: Cluster): PlanRule[] {
  const rules: PlanRule[] = [];
  const destination = resolveDestination(entry, cluster);
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
        ...(destination ? { destination } : {}),
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
  const admin = cluster.adminNetworks;
  if (admin !== null) {
    // The lockout guard reasons per address family: SSH reaches a node in the families it has
    // addresses in, and an admin list in none of them drops every SSH connection as surely as an
    // empty one (an IPv6-only list on IPv4-only nodes). Nodes the file does not list: assume IPv4.
    const adminFamilies = new Set(admin.map((n) => n.family));
    const nodeFamilies = new Set<Family>();
    // Only when a family is missing, and only until both are seen: a fleet's addresses are parsed lazily.
    for (const node of adminFamilies.size < FAMILIES.length ? (cluster.nodes ?? []) : []) {
      for (const address of node.addresses) nodeFamilies.add(address.family);
      if (nodeFamilies.size === FAMILIES.length) break;
    }
    if (nodeFamilies.size === 0) nodeFamilies.add('ipv4');
    const missing = FAMILIES.filter((f) => nodeFamilies.has(f) && !adminFamilies.has(f));
    const where = () => cluster.locate(['adminNetworks']);
    const families = (list: readonly Family[]) => list.map((f) => (f === 'ipv4' ? 'IPv4' : 'IPv6')).join(' and ');
    if (missing.length === nodeFamilies.size) {
      const message = `${where()}: adminNetworks: only ${families([...adminFamilies])} networks, but the nodes are reached over ${families([...nodeFamilies])}: this firewall would drop SSH (port ${port}/tcp) from everywhere and lock you out (add the ${families(missing)} networks you manage nodes from, or pass --allow-lockout)`;
      if (!options.allowLockout) throw new KubewallError('PLAN', message);
      warnings.push(`--allow-lockout: ${message}`);
    } else if (missing.length > 0) {
      warnings.push(`${where()}: adminNetworks: no ${families(missing)} network, so SSH (port ${port}/tcp) over ${families(missing)} is dropped from everywhere (add the ${families(missing)} networks you manage nodes from)`);
    }
    const world = admin.filter((n) => n.prefix === 0).map((n) => n.text);
    if (world.length > 0) {
      warnings.push(`${cluster.locate(['adminNetworks'])}: adminNetworks: ${world.join(', ')} opens SSH (port ${port}/tcp) to the whole internet (list the networks you manage nodes from instead)`);
    }
  }
  return sshRule(port);
}

const MLD_RULE: LinkLocalRule = {
  id: 'mld',
  purpose: 'MLD queries and reports, so MLD-snooping switches keep forwarding neighbour discovery',
  source: LINK_LOCAL_V6,
  match: { kind: 'icmpv6', types: Object.keys(MLD_TYPES) as MldType[] },
  reason: 'RFC 4890 §4.4.1 (ICMPv6 messages that must not be dropped)',
  comment: 'baseline: MLD from link-local (RFC 4890 4.4.1)',
};

const DHCPV6_RULE: LinkLocalRule = {
  id: 'dhcpv6-client',
  purpose: 'DHCPv6 server replies to the client (no conntrack entry matches the multicast Solicit)',
  source: LINK_LOCAL_V6,
  match: { kind: 'udp', sourcePort: 547, port: 546 },
  reason: 'RFC 8415 §7.2 (servers send from port 547 to client port 546)',
  comment: 'baseline: DHCPv6 replies from link-local (RFC 8415 7.2)',
};

const VRRP_RULE: LinkLocalRule = {
  id: 'vrrp',
  purpose: 'VRRPv3 adverts over IPv6, sent from the link-local address to ff02::12',
  source: LINK_LOCAL_V6,
  match: { kind: 'ip-protocol', protocol: IP_PROTOCOL_INFO.vrrp.number, destination: 'ff02::12' },
  reason: 'RFC 5798 §5.1.2.1 (the IPv6 source is the link-local address of the interface)',
  comment: 'baseline: VRRPv3 adverts from link-local to ff02::12 (RFC 5798 5.1.2.1)',
};

/**
 * Link-local control traffic every IPv6 node needs, and VRRPv3 when a rule
 * accepts VRRP: its IPv6 adverts never come from a node address, so a rule
 * on the node sets alone would never match (split brain: every node MASTER).
 */
function linkLocalRules(ipProtocolRules: readonly IpProtocolRule[]): LinkLocalRule[] {
  const vrrp = ipProtocolRules.some((rule) => rule.protocol === 'vrrp' && rule.peer !== 'self');
  return [MLD_RULE, DHCPV6_RULE, ...(vrrp ? [VRRP_RULE] : [])];
}

/**
 * The seed's NodePort entry opens the default range; a cluster that moved the
 * range (nodePortRange) gets the moved range, unless an override set the ports.
 */
function followNodePortRange(entry: CatalogueEntry, cluster: Cluster): CatalogueEntry {
  if (entry.id !== 'nodeport-services' || cluster.overrides[entry.id]?.ports !== undefined) return entry;
  const [only] = entry.ports;
  if (entry.ports.length !== 1 || only!.from !== DEFAULT_NODE_PORT_RANGE.from || only!.to !== DEFAULT_NODE_PORT_RANGE.to) return entry;
  return { ...entry, ports: [cluster.nodePortRange] };
}

/** kubeadm's default --service-cluster-ip-range, used in ipvs mode when the cluster file names none. */
export const DEFAULT_SERVICE_CIDRS: readonly string[] = ['10.96.0.0/12'];

const HOST_POLICIES =
  "restrict it in the CNI's host policies instead (Cilium: host firewall, CiliumClusterwideNetworkPolicy with nodeSelector; Calico: host endpoints with a GlobalNetworkPolicy, preDNAT: true)";

/**
 * What kube-proxy's mode asks: the NodePort range's closed part, the Service
 * destinations IPVS serves locally, and refusals where an eBPF dataplane
 * translates NodePorts before netfilter can see them (cilium#12781).
 */
function planKubeProxy(cluster: Cluster, rules: readonly PlanRule[], warnings: string[]): KubeProxyPlan {
  const { mode, where } = cluster.kubeProxy;
  const chosen = where ?? 'the default kube-proxy mode';
  const range = cluster.nodePortRange;
  const nodePortRules = rules.filter((rule) => rule.filterBeforeDnat);
  const closedNodePorts =
    nodePortRules.length === 0
      ? []
      : PROTOCOLS.map((protocol) => ({
          protocol,
          ports: subtractPortRanges(
            range,
            nodePortRules.filter((rule) => rule.protocol === protocol).flatMap((rule) => rule.ports),
          ),
        })).filter((closed) => closed.ports.length > 0);
  const rangeText = formatPortRange(range);
  if (mode === 'none' && nodePortRules.length > 0) {
    const restricted = [...new Set(nodePortRules.filter((rule) => rule.peer !== 'any').map((rule) => rule.entry))];
    const problems = [
      ...(restricted.length > 0 ? [`NodePort entr${restricted.length > 1 ? 'ies' : 'y'} ${restricted.join(', ')} restricted to ${[...new Set(nodePortRules.filter((r) => r.peer !== 'any').map((r) => r.peer))].join(', ')}`] : []),
      ...closedNodePorts.map((closed) => `NodePort range ${rangeText}/${closed.protocol} narrowed: ${formatPortRanges(closed.ports)} would have to be dropped`),
    ];
    if (problems.length > 0) {
      throw new KubewallError(
        'PLAN',
        `${chosen}: kubeProxy none: an eBPF dataplane (Cilium kube-proxy replacement, Calico eBPF) translates NodePorts before netfilter, so this host firewall cannot enforce: ${problems.join('; ')}. ${HOST_POLICIES}; or lift the restriction (overrides.${restricted[0] ?? 'nodeport-services'}) to render the rest`,
      );
    }
    warnings.push(`${chosen}: kubeProxy none: NodePorts are translated in eBPF before this firewall sees them; nothing here restricts them (to restrict them, ${HOST_POLICIES.replace(/^restrict it /, 'use ')})`);
  }
  let serviceDestinations: KubeProxyPlan['serviceDestinations'] = { ipv4: [], ipv6: [] };
  if (mode === 'ipvs') {
    const described = [...(cluster.serviceCIDRs ?? []), ...(cluster.serviceExternalIPs ?? [])];
    if (cluster.serviceCIDRs === null) {
      warnings.push(
        `${chosen}: kubeProxy ipvs: ${clusterName(cluster)} names no serviceCIDRs: accepting traffic to kubeadm's default ${DEFAULT_SERVICE_CIDRS.join(', ')} on input (set serviceCIDRs to your --service-cluster-ip-range; kubespray's default is 10.233.0.0/18)`,
      );
    }
    const networks = normalizeNetworks([...described, ...(cluster.serviceCIDRs === null ? DEFAULT_SERVICE_CIDRS.map((t) => parseNetwork(t) as Network) : [])]);
    serviceDestinations = {
      ipv4: networks.filter((n) => n.family === 'ipv4').map((n) => n.text),
      ipv6: networks.filter((n) => n.family === 'ipv6').map((n) => n.text),
    };
  }
  return {
    mode,
    chosenBy: where,
    nodePortRange: range,
    closedNodePorts: mode === 'none' ? [] : closedNodePorts,
    serviceDestinations,
    nodePortsOnInput: mode === 'ipvs',
  };
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
  const entries = entriesForRoles(catalogue, roles).map((entry) => followNodePortRange(entry, cluster));
  const rules = entries.flatMap((entry) => rulesForEntry(entry, cluster));
  const ssh = planSsh(cluster, entries, options, warnings);
  if (ssh) rules.push(ssh);
  rules.sort(compareRules);
  const ipProtocolRules = entries.flatMap(ipProtocolRulesForEntry).sort(compareIpProtocolRules);
  const kubeProxy = planKubeProxy(cluster, rules, warnings);

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
      linkLocal: linkLocalRules(ipProtocolRules),
      inputPolicy: 'drop',
    },
    ssh: { enabled: ssh !== null, port: cluster.ssh.port },
    sets,
    rules,
    ipProtocolRules,
    kubeProxy,
    defaultedPeers,
    warnings,
  };
}

