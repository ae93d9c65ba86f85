import { formatPortRange, formatPortRanges } from '../ports.js';
import { sanitizeCommentLine } from '../render/header.js';
import { MLD_TYPES, type IpProtocolRule, type LinkLocalMatch, type Plan, type PlanRule } from './types.js';

function table(rows: readonly (readonly string[])[]): string[] {
  const widths: number[] = [];
  for (const row of rows.map((r) => r.map(sanitizeCommentLine))) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  // A catalogue's free text must not break the table's lines.
  const clean = rows.map((row) => row.map(sanitizeCommentLine));
  return clean.map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0))).join('  ').trimEnd());
}

function peerLabel(rule: PlanRule | IpProtocolRule): string {
  if (rule.peer === 'self') return 'self (loopback)';
  return rule.peer;
}

/** kube-proxy's mode and what it changes: the closed part of the NodePort range, ipvs's local Service IPs. */
function formatKubeProxy(plan: Plan): string[] {
  const k = plan.kubeProxy;
  const lines = [`kube-proxy: ${k.mode} (${k.chosenBy ?? 'default'}); NodePort range ${formatPortRange(k.nodePortRange)}.`];
  for (const closed of k.closedNodePorts) {
    lines.push(`  NodePorts ${formatPortRanges(closed.ports)}/${closed.protocol}: in the range but allowed by no rule: dropped before kube-proxy's DNAT.`);
  }
  const destinations = [...k.serviceDestinations.ipv4, ...k.serviceDestinations.ipv6];
  if (destinations.length > 0) lines.push(`  Service and external IPs IPVS serves on kube-ipvs0, accepted on input from anyone: ${destinations.join(', ')}.`);
  if (k.nodePortsOnInput) lines.push('  NodePorts reach INPUT by their original port (IPVS at LOCAL_IN): the input rules restrict them too.');
  lines.push('');
  return lines;
}

function describeLinkLocal(match: LinkLocalMatch): string {
  switch (match.kind) {
    case 'icmpv6':
      return `icmpv6 ${match.types.map((t) => MLD_TYPES[t]).join(',')}`;
    case 'udp':
      return `udp ${match.sourcePort} -> ${match.port}`;
    case 'ip-protocol':
      return `ip proto ${match.protocol} to ${match.destination}`;
  }
}

/** The `kubewall plan` table: each rule with its reason, then sets, baseline and warnings. */
export function formatPlanTable(plan: Plan): string {
  const out: string[] = [];
  out.push(`kubewall plan for role ${plan.roles.join(' + ')}, cluster: ${plan.cluster ?? 'embedded default'}`);
  out.push('');
  const documents: string[] = [];
  const sourceRef = (rule: PlanRule | IpProtocolRule) => {
    if (!documents.includes(rule.source.document)) documents.push(rule.source.document);
    return `[${documents.indexOf(rule.source.document) + 1}: ${rule.source.section}]`;
  };
  out.push(
    ...table([
      ['PORT', 'PROTO', 'PEERS', 'WHY'],
      ...plan.rules.map((rule) => [
        formatPortRanges(rule.ports),
        rule.protocol,
        peerLabel(rule) + (rule.filterBeforeDnat && rule.peer !== 'any' ? ' (before DNAT)' : '') + (rule.destination ? ` to ${rule.destination.address}` : ''),
        `${rule.entry}: ${rule.purpose}; Used by: ${rule.usedBy} ${sourceRef(rule)}`,
      ]),
      // IP protocols have no ports: the PORT column says so, PROTO names the protocol and its number.
      ...plan.ipProtocolRules.map((rule) => [
        '-',
        `${rule.protocol} (${rule.ipProtocol})`,
        peerLabel(rule) + (rule.families.length === 1 ? ` (${rule.families[0] === 'ipv4' ? 'IPv4' : 'IPv6'} only)` : ''),
        `${rule.entry}: ${rule.purpose}; Used by: ${rule.usedBy} ${sourceRef(rule)}`,
      ]),
    ]),
  );
  out.push('');
  out.push('Sources:');
  out.push(...documents.map((document, i) => `  [${i + 1}] ${document}`));
  out.push('');
  out.push('Peer sets:');
  out.push(
    ...table(
      plan.sets.map((set) => {
        const shown = set.elements.slice(0, 4).join(', ') + (set.elements.length > 4 ? `, ... (${set.elements.length} in all)` : '');
        return ['  ' + set.name, set.defaulted ? 'defaulted' : 'cluster', shown === '' ? '(empty)' : shown];
      }),
    ),
  );
  out.push('');
  out.push(...formatKubeProxy(plan));
  const b = plan.baseline;
  out.push(
    `Baseline: accept loopback (self); accept established,related; drop invalid; ICMP ${b.icmp.join(', ')}; ICMPv6 ${b.icmpv6.join(', ')}; new inbound connections no rule accepts: ${b.inputPolicy}.`,
  );
  if (b.linkLocal.length > 0) {
    out.push('Baseline, IPv6 link-local control traffic:');
    out.push(...table(b.linkLocal.map((rule) => ['  ' + describeLinkLocal(rule.match), `from ${rule.source}`, `${rule.id}: ${rule.purpose} [${rule.reason}]`])));
  }
  if (plan.warnings.length > 0) {
    out.push('');
    out.push('Warnings:');
    out.push(...plan.warnings.map((w) => `  - ${w}`));
  }
  return out.join('\n') + '\n';
}

/** `kubewall plan --format json`: the plan itself, stable key order, two-space indent. */
export function formatPlanJson(plan: Plan): string {
  return JSON.stringify(plan, null, 2) + '\n';
}
