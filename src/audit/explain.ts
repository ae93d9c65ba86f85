import ipaddr from 'ipaddr.js';
import type { CatalogueEntry } from '../catalogue/catalogue.js';
import { IP_PROTOCOL_INFO, IP_PROTOCOLS, type AddressPeerClass, type Family, type IpProtocol, type PeerClass, type PortRange } from '../model.js';
import { formatPortRange } from '../ports.js';
import type { IpProtocolRule, Plan, PlanRule } from '../plan/types.js';
import type { AuditRecord } from './types.js';

/**
 * One entry of a shipped profile that the plan did not select, and the flag
 * that would select it (`--addon node-local-dns`, `--cni flannel:wireguard`).
 */
export interface ProfileCandidate {
  readonly flag: string;
  /** `addon node-local-dns`. */
  readonly profile: string;
  readonly entry: string;
  readonly purpose: string;
  readonly protocols: readonly string[];
  readonly ports: readonly PortRange[];
  readonly roles: readonly string[];
  readonly peers: readonly string[];
}

/** What explains a record, from the most specific to the least. */
export type AuditFindingKind =
  | 'peer-missing' // an entry of this plan has the port; the source is in none of its peer classes
  | 'destination' // the entry accepts it only when addressed to a local address (NodeLocal DNSCache's)
  | 'allowed-now' // this plan accepts it: the record predates the inputs used now
  | 'other-role' // a loaded catalogue entry has it, for other roles
  | 'profile' // an entry of a profile not selected has it
  | 'nodeport' // a NodePort no entry opens
  | 'baseline' // ICMP types the baseline does not accept
  | 'no-entry'; // nothing knows this port

export interface AuditFinding {
  readonly record: AuditRecord;
  readonly kind: AuditFindingKind;
  /** `9100/tcp`, `esp`, `icmp`. */
  readonly traffic: string;
  /** The catalogue entry the explanation rests on, if any. */
  readonly entry: string | null;
  /** What is going on, in catalogue terms. */
  readonly explanation: string;
  /** What to change in the inputs (`add 10.1.2.3 to loadBalancers`, `--addon node-local-dns`). */
  readonly fix: string;
}

export interface ExplainInputs {
  readonly plan: Plan;
  /** Every entry the plan's catalogue loaded, whatever its roles. */
  readonly catalogue: readonly CatalogueEntry[];
  /** Entries of shipped profiles not selected. */
  readonly candidates: readonly ProfileCandidate[];
}

/** Where a peer class's addresses come from in the cluster file. */
export const PEER_CLASS_SOURCES: Readonly<Record<AddressPeerClass, string>> = {
  'control-plane': 'nodes (as a node with role control-plane)',
  etcd: 'nodes (as a node with role etcd)',
  nodes: 'nodes (as a node)',
  'load-balancers': 'loadBalancers',
  pods: 'podCIDRs',
  admin: 'adminNetworks',
};

/** Protocol names hosts print (/etc/protocols differ) → kubewall's IP protocol. */
const IP_PROTOCOL_NAMES: Readonly<Record<string, IpProtocol>> = { ipencap: 'ipip', ipip: 'ipip', 'ip-in-ip': 'ipip', esp: 'esp', 'ipv6-crypt': 'esp', vrrp: 'vrrp', carp: 'vrrp' };

function ipProtocolOf(protocol: string): IpProtocol | null {
  if (/^\d+$/.test(protocol)) return IP_PROTOCOLS.find((p) => IP_PROTOCOL_INFO[p].number === Number(protocol)) ?? null;
  return IP_PROTOCOL_NAMES[protocol.toLowerCase()] ?? null;
}

function portProtocolOf(protocol: string): 'tcp' | 'udp' | null {
  const name = protocol.toLowerCase();
  if (name === 'tcp' || name === '6') return 'tcp';
  if (name === 'udp' || name === '17') return 'udp';
  return null;
}

const inRanges = (port: number, ranges: readonly PortRange[]) => ranges.some((r) => port >= r.from && port <= r.to);

/** Whether `address` is one of `elements` (addresses and CIDRs, one family). */
export function addressIn(address: string, elements: readonly string[]): boolean {
  let parsed: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    parsed = ipaddr.parse(address);
  } catch {
    return false;
  }
  return elements.some((element) => {
    try {
      const [net, prefix] = element.includes('/') ? ipaddr.parseCIDR(element) : [ipaddr.parse(element), parsed.kind() === 'ipv4' ? 32 : 128];
      return net.kind() === parsed.kind() && parsed.match(net, prefix);
    } catch {
      return false;
    }
  });
}

/** The address peer classes of the plan whose sets hold the source. */
function classesOf(plan: Plan, source: string, family: Family): AddressPeerClass[] {
  return plan.sets.filter((set) => set.family === family && addressIn(source, set.elements)).map((set) => set.peer);
}

function peersText(peers: readonly PeerClass[]): string {
  return peers.join(', ');
}

function addTo(source: string, peers: readonly PeerClass[]): string {
  const targets = peers.filter((p): p is AddressPeerClass => p !== 'any' && p !== 'self').map((p) => PEER_CLASS_SOURCES[p]);
  const unique = [...new Set(targets)];
  return unique.length === 0 ? 'nothing to add: no address peer class' : `add ${source} to ${unique.join(', or to ')}`;
}

function explainRules(record: AuditRecord, traffic: string, rules: readonly (PlanRule | IpProtocolRule)[], plan: Plan): Omit<AuditFinding, 'record'> | null {
  if (rules.length === 0) return null;
  const inClasses = classesOf(plan, record.source, record.family);
  const entries = [...new Set(rules.map((r) => r.entry))];
  const peers = [...new Set(rules.map((r) => r.peer))];
  const purpose = rules[0]!.purpose;
  const accepting = rules.filter((r) => r.peer === 'any' || (r.peer !== 'self' && inClasses.includes(r.peer)));
  const named = `catalogue entry ${entries.join(', ')} (${purpose})`;
  if (accepting.length === 0) {
    return {
      kind: 'peer-missing',
      traffic,
      entry: entries[0]!,
      explanation: `${traffic} is ${named}, open to ${peersText(peers)}; ${record.source} is in none of them${inClasses.length > 0 ? ` (it is in ${inClasses.join(', ')})` : ''}`,
      fix: addTo(record.source, peers),
    };
  }
  const narrowed = accepting.filter((r): r is PlanRule => 'destination' in r && r.destination !== undefined);
  if (narrowed.length === accepting.length) {
    const destination = narrowed[0]!.destination!;
    return {
      kind: 'destination',
      traffic,
      entry: narrowed[0]!.entry,
      explanation: `${traffic} from ${record.source} is ${named}, but only to ${destination.address} (${destination.from}); this packet went to another address of the node`,
      fix: `send it to ${destination.address}, or set the cluster file's nodeLocalDNS to the address the clients use`,
    };
  }
  return {
    kind: 'allowed-now',
    traffic,
    entry: accepting[0]!.entry,
    explanation: `${traffic} from ${record.source} is ${named}, which this plan accepts (${record.source} is in ${peersText(accepting.map((r) => r.peer))}): recorded under other inputs, or before they changed`,
    fix: 'nothing: render again with these inputs (or compare the inputs the audit render was made with)',
  };
}

const roleList = (roles: readonly string[]) => roles.join(', ');

/**
 * Explains one record in catalogue terms: which entry of this role has the
 * port and which peer class the source is missing from, or which profile
 * has it, or that nothing has it. Pure.
 */
export function explainRecord(record: AuditRecord, inputs: ExplainInputs): AuditFinding {
  const { plan } = inputs;
  const portProtocol = portProtocolOf(record.protocol);
  const ipProtocol = ipProtocolOf(record.protocol);
  const port = record.port;
  const traffic = portProtocol && port !== null ? `${port}/${portProtocol}` : ipProtocol ?? record.protocol;
  const finding = (f: Omit<AuditFinding, 'record'>): AuditFinding => ({ record, ...f });

  // 1. An entry of this plan.
  if (portProtocol && port !== null) {
    const rules = plan.rules.filter((r) => r.protocol === portProtocol && inRanges(port, r.ports) && (!r.destination || r.destination.family === record.family));
    const explained = explainRules(record, traffic, rules, plan);
    if (explained) return finding(explained);
  } else if (ipProtocol) {
    const rules = plan.ipProtocolRules.filter((r) => r.protocol === ipProtocol && r.families.includes(record.family));
    const explained = explainRules(record, traffic, rules, plan);
    if (explained) return finding(explained);
  }

  const matchesEntry = (protocols: readonly string[], ports: readonly PortRange[]) =>
    portProtocol && port !== null ? protocols.includes(portProtocol) && inRanges(port, ports) : ipProtocol !== null && protocols.includes(ipProtocol);

  // 2. A loaded entry for other roles.
  const otherRole = inputs.catalogue.filter((e) => matchesEntry([...e.protocols, ...e.ipProtocols], e.ports) && !e.roles.some((r) => plan.roles.includes(r)));
  if (otherRole.length > 0) {
    const entry = otherRole[0]!;
    return finding({
      kind: 'other-role',
      traffic,
      entry: entry.id,
      explanation: `${traffic} is catalogue entry ${entry.id} (${entry.purpose}) for ${roleList(entry.roles)}, not for ${roleList(plan.roles)}`,
      fix: `if this node is also ${entry.roles.join(' or ')}: --role ${[...plan.roles, entry.roles[0]!].join(',')}; else whoever sends it (${record.source}) talks to the wrong node`,
    });
  }

  // 3. A shipped profile that is not selected.
  const candidates = inputs.candidates.filter((c) => matchesEntry(c.protocols, c.ports));
  if (candidates.length > 0) {
    const forRole = candidates.filter((c) => c.roles.some((r) => (plan.roles as readonly string[]).includes(r)));
    const chosen = forRole.length > 0 ? forRole : candidates;
    const flags = [...new Set(chosen.map((c) => c.flag))];
    const first = chosen[0]!;
    return finding({
      kind: 'profile',
      traffic,
      entry: first.entry,
      explanation: `${traffic} is entry ${first.entry} (${first.purpose}) of profile ${first.profile}, which is not selected${chosen.length > 1 ? ` (also: ${[...new Set(chosen.slice(1).map((c) => `${c.entry} of ${c.profile}`))].join(', ')})` : ''}; it is open to ${first.peers.join(', ')}`,
      fix: flags.length === 1 ? flags[0]! : `${flags.join(' or ')} (whichever this cluster runs)`,
    });
  }

  // 4. A NodePort nothing opens.
  const { nodePortRange } = plan.kubeProxy;
  if (portProtocol && port !== null && port >= nodePortRange.from && port <= nodePortRange.to) {
    return finding({
      kind: 'nodeport',
      traffic,
      entry: null,
      explanation: `${traffic} is a NodePort (nodePortRange ${formatPortRange(nodePortRange)}) no catalogue entry opens`,
      fix: `a catalogue fragment with a NodePort entry (dnatByKubeProxy) for ${traffic} and its peers (--catalogue FILE)`,
    });
  }

  // 5. ICMP the baseline does not take.
  if (/^(icmp|ipv6-icmp|icmpv6|1|58)$/i.test(record.protocol)) {
    return finding({
      kind: 'baseline',
      traffic,
      entry: null,
      explanation: `${record.protocol} messages the baseline does not accept (it accepts only ${record.family === 'ipv4' ? plan.baseline.icmp.join(', ') : plan.baseline.icmpv6.join(', ')})`,
      fix: 'nothing, usually: kubewall does not widen the baseline; a catalogue entry cannot open ICMP',
    });
  }

  const sourceClasses = classesOf(plan, record.source, record.family);
  const peer = sourceClasses.length > 0 ? `peers: [${sourceClasses[0]}] (${record.source} is in ${sourceClasses.join(', ')})` : `the peer class ${record.source} belongs to`;
  return finding({
    kind: 'no-entry',
    traffic,
    entry: null,
    explanation: `no catalogue entry, loaded or shipped, has ${traffic}`,
    fix: `a catalogue fragment with an entry for ${traffic} and ${peer} (--catalogue FILE), if it should be allowed`,
  });
}

export function explainRecords(records: readonly AuditRecord[], inputs: ExplainInputs): AuditFinding[] {
  return records.map((record) => explainRecord(record, inputs));
}
