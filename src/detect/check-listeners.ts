import type { PortRange } from '../model.js';
import type { Plan } from '../plan/types.js';
import { formatPortRanges } from '../ports.js';
import { isLoopbackAddress } from './detectors.js';
import type { NodeSnapshot } from './types.js';

/** A port something listens on that the plan accepts from no peer but the node itself. */
export interface UnplannedListener {
  readonly protocol: 'tcp' | 'udp';
  readonly port: number;
  /** The bound addresses, sorted (`0.0.0.0`, `::`, `169.254.20.10`). */
  readonly addresses: readonly string[];
  /** Process names, or what the kernel socket belongs to (`kernel: VXLAN device flannel.1`). */
  readonly processes: readonly string[];
  /** Plan rules that accept it only from the node itself (`kube-scheduler`), if any. */
  readonly selfOnly: readonly string[];
}

/** A planned rule nothing on the node uses: a port nothing listens on, or an IP protocol nothing speaks. */
export interface IdleRule {
  readonly id: string;
  readonly entry: string;
  readonly protocol: string;
  /** `8472`, `2379-2380`; `-` for IP protocols. */
  readonly ports: string;
  /** The peer classes of its rules, comma-separated: `self, control-plane`. */
  readonly peer: string;
}

export interface ListenerCheck {
  readonly unplanned: readonly UnplannedListener[];
  readonly idle: readonly IdleRule[];
  /** Planned rules that are not expected to have a listener, and why (NodePorts are DNATed; ESP is not a socket). */
  readonly notChecked: readonly string[];
}

const covers = (ranges: readonly PortRange[], port: number) => ranges.some((r) => r.from <= port && port <= r.to);

/**
 * Pure: the node's sockets against a plan. A listener bound only to loopback
 * is reachable from the node alone, so only the others count as dropped; a
 * planned port counts as used by any socket, loopback included (a `self`
 * rule's daemon binds 127.0.0.1).
 */
export function checkListeners(snapshot: NodeSnapshot, plan: Plan): ListenerCheck {
  const groups = new Map<string, { protocol: 'tcp' | 'udp'; port: number; addresses: Set<string>; processes: Set<string> }>();
  for (const listener of snapshot.listeners) {
    if (listener.protocol === 'raw' || isLoopbackAddress(listener.address)) continue;
    const key = `${listener.protocol}/${String(listener.port).padStart(5, '0')}`;
    const group = groups.get(key) ?? { protocol: listener.protocol, port: listener.port, addresses: new Set(), processes: new Set() };
    group.addresses.add(listener.address);
    for (const p of listener.processes) group.processes.add(p);
    if (listener.processes.length === 0 && listener.protocol === 'udp') {
      const device = snapshot.links.find((l) => l.udpPort === listener.port);
      if (device) group.processes.add(`kernel: ${device.kind === 'geneve' ? 'Geneve' : 'VXLAN'} device ${device.name}`);
    }
    groups.set(key, group);
  }
  const unplanned: UnplannedListener[] = [];
  for (const key of [...groups.keys()].sort()) {
    const group = groups.get(key)!;
    const rules = plan.rules.filter((r) => r.protocol === group.protocol && covers(r.ports, group.port));
    if (rules.some((r) => r.peer !== 'self')) continue;
    unplanned.push({
      protocol: group.protocol,
      port: group.port,
      addresses: [...group.addresses].sort(),
      processes: [...group.processes].sort(),
      selfOnly: [...new Set(rules.map((r) => r.entry))],
    });
  }
  const idle: IdleRule[] = [];
  const notChecked: string[] = [];
  for (const rule of plan.rules) {
    if (rule.filterBeforeDnat) {
      notChecked.push(`${rule.entry} ${formatPortRanges(rule.ports)}/${rule.protocol}: kube-proxy DNATs it, no socket listens`);
      continue;
    }
    const used = snapshot.listeners.some((l) => l.protocol === rule.protocol && covers(rule.ports, l.port));
    if (used) continue;
    // One row per port and entry: the planner writes one rule per peer class.
    const ports = formatPortRanges(rule.ports);
    const same = idle.findIndex((i) => i.entry === rule.entry && i.protocol === rule.protocol && i.ports === ports);
    if (same >= 0) idle[same] = { ...idle[same]!, peer: `${idle[same]!.peer}, ${rule.peer}` };
    else idle.push({ id: rule.id, entry: rule.entry, protocol: rule.protocol, ports, peer: rule.peer });
  }
  for (const rule of plan.ipProtocolRules) {
    let used: boolean;
    if (rule.protocol === 'vrrp') used = snapshot.listeners.some((l) => l.protocol === 'raw' && l.port === rule.ipProtocol);
    else if (rule.protocol === 'ipip') used = snapshot.links.some((l) => l.name === 'tunl0' && l.addresses.length > 0);
    else {
      notChecked.push(`${rule.entry} ${rule.protocol}: IPsec runs in the kernel's xfrm layer, not on a socket`);
      continue;
    }
    if (!used) idle.push({ id: rule.id, entry: rule.entry, protocol: rule.protocol, ports: '-', peer: rule.peer });
  }
  return { unplanned, idle, notChecked: [...new Set(notChecked)] };
}
