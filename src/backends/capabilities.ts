import { KubewallError } from '../errors.js';
import type { Plan } from '../plan/types.js';
import { IP_PROTOCOL_INFO } from '../model.js';
import { networkIpProtocolRules, networkRules, peerClassSizes } from '../plan/types.js';
import { formatPortRange, formatPortRanges } from '../ports.js';
import type { BackendCapabilities } from './types.js';

export interface CapabilityGaps {
  /** What the backend cannot express and must not render silently. */
  readonly errors: readonly string[];
  /** What it renders with a documented, weaker behaviour. */
  readonly warnings: readonly string[];
}

/**
 * Collects every way the plan asks more than the backend can give, all at
 * once, so a user sees the whole list before anything renders.
 */
export function findCapabilityGaps(plan: Plan, backend: string, capabilities: BackendCapabilities): CapabilityGaps {
  const errors: string[] = [];
  const warnings: string[] = [];
  const rules = networkRules(plan);
  const { kubeProxy } = plan;
  // In ipvs mode NodePorts reach INPUT by their original port, so INPUT's rules suffice.
  if (!capabilities.filterBeforeDnat && !kubeProxy.nodePortsOnInput && kubeProxy.mode !== 'none') {
    for (const rule of rules.filter((r) => r.filterBeforeDnat && r.peer !== 'any')) {
      warnings.push(
        `${backend} cannot filter before kube-proxy's DNAT: ${rule.id} is limited to ${rule.peer} only for traffic that reaches INPUT; DNATed NodePort traffic is not filtered (kubeProxy ipvs would be, or choose nftables/iptables)`,
      );
    }
    for (const closed of kubeProxy.closedNodePorts) {
      warnings.push(
        `${backend} cannot filter before kube-proxy's DNAT: NodePorts ${formatPortRanges(closed.ports)}/${closed.protocol} (outside what the NodePort entry allows, inside nodePortRange ${formatPortRange(kubeProxy.nodePortRange)}) stay reachable for any Service kube-proxy DNATs there (choose nftables/iptables)`,
      );
    }
  }
  const destinations = [...kubeProxy.serviceDestinations.ipv4, ...kubeProxy.serviceDestinations.ipv6];
  if (!capabilities.acceptByDestination && destinations.length > 0) {
    // Not a warning: without the accept every Service times out from pods on this node.
    errors.push(
      `${backend} cannot accept traffic by destination address, which kubeProxy ipvs needs for the Service and external IPs IPVS serves on kube-ipvs0 (${destinations.join(', ')}): pods on this node could reach no Service (choose nftables or iptables)`,
    );
  }
  // Not a warning: without the rule the CNI's tunnel or the VIP election silently breaks.
  for (const rule of networkIpProtocolRules(plan).filter((r) => !capabilities.ipProtocols.includes(r.protocol))) {
    const can = capabilities.ipProtocols.length > 0 ? `; it can express ${capabilities.ipProtocols.join(', ')}` : '';
    errors.push(
      `${backend} cannot accept IP protocol ${rule.ipProtocol} (${rule.protocol}: ${IP_PROTOCOL_INFO[rule.protocol].description}), needed by ${rule.id}${can} ` +
        `(choose another backend, or a profile or mode without it: ${rule.entry} asks for it)`,
    );
  }
  if (!capabilities.addressSets) {
    let largest: [string, number] | undefined;
    for (const [peer, size] of peerClassSizes(plan)) if (size > (largest?.[1] ?? 0)) largest = [peer, size];
    if (largest) warnings.push(`${backend} has no address sets: one rule per peer address (largest peer class: ${largest[0]}, ${largest[1]} addresses)`);
  }
  return { errors, warnings };
}

/**
 * Throws CAPABILITY with every error gap: what render refuses, diff refuses
 * too, rather than list rules that applying could never add. Returns the gaps.
 */
export function requireExpressible(plan: Plan, backend: string, capabilities: BackendCapabilities): CapabilityGaps {
  const gaps = findCapabilityGaps(plan, backend, capabilities);
  if (gaps.errors.length > 0) {
    throw new KubewallError('CAPABILITY', `the ${backend} backend cannot express this plan:\n${gaps.errors.map((e) => `  - ${e}`).join('\n')}`);
  }
  return gaps;
}
