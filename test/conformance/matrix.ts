import type { Family, Plan, PortRange } from '../../src/index.js';
import type { Cell, PeerName, ProbeProtocol as Protocol } from './adapter.js';
import type { ProbeResult } from './agent.js';
import { addressIn } from './lab.js';

/**
 * The reachability matrix: which (peer, port, protocol, family) cells the
 * harness probes, what the plan and the hand-written table expect, and a
 * readable difference when the kernel disagrees.
 */

/** Ports outside every seed entry; probed (and listened on) unless the plan has them. */
export const OUTSIDE_PORTS: Readonly<Record<Protocol, readonly number[]>> = {
  // 22 and 443 matter when SSH or the API server moved; 10251/10252/10255 are the removed insecure ports.
  tcp: [22, 80, 443, 2222, 6443, 10251, 10252, 10255],
  udp: [53, 4789, 8472, 10250, 51820],
};

/** A range of more than this many ports is sampled: both ends, and the ports just outside them. */
const SAMPLE_ABOVE = 4;

function inRanges(port: number, ranges: readonly PortRange[]): boolean {
  return ranges.some((r) => port >= r.from && port <= r.to);
}

/**
 * The ports to probe for one protocol: every port of a small range, both
 * ends of a large one (NodePorts), the ports just outside each range, and
 * `OUTSIDE_PORTS`; never the DNATed NodePorts (probed as their own cells).
 */
export function portsToProbe(ranges: readonly PortRange[], protocol: Protocol, exclude: readonly number[]): number[] {
  const ports = new Set<number>();
  for (const range of ranges) {
    if (range.to - range.from <= SAMPLE_ABOVE) for (let p = range.from; p <= range.to; p += 1) ports.add(p);
    else ports.add(range.from).add(range.to);
    for (const edge of [range.from - 1, range.to + 1]) if (edge >= 1 && edge <= 65535 && !inRanges(edge, ranges)) ports.add(edge);
  }
  for (const port of OUTSIDE_PORTS[protocol]) ports.add(port);
  return [...ports].filter((p) => !exclude.includes(p)).sort((a, b) => a - b);
}

/** Every range the plan names for a protocol, `self` rules included (the node listens there too). */
export function planRanges(plan: Plan, protocol: Protocol): PortRange[] {
  return plan.rules.filter((r) => r.protocol === protocol).flatMap((r) => r.ports);
}

/** Whether the plan lets this address reach this port (the `self` peer always does: loopback). */
export function planAllows(plan: Plan, cell: Omit<Cell, 'peer' | 'dnat'>, peer: PeerName, address: string): boolean {
  if (peer === 'self') return true;
  return plan.rules.some((rule) => {
    if (rule.protocol !== cell.protocol || !inRanges(cell.port, rule.ports)) return false;
    // Cells probe the node's own address; a rule with a destination (NodeLocal DNSCache's) opens only
    // that address (cluster-traffic.test.ts probes it there).
    if (rule.destination) return false;
    if (rule.peer === 'any') return true;
    if (rule.peer === 'self') return false;
    const set = plan.sets.find((s) => s.peer === rule.peer && s.family === cell.family);
    return set !== undefined && addressIn(address, set.elements);
  });
}

/** Whether some plan rule covers the port at all (for DNATed NodePorts: otherwise kubewall does not filter them). */
export function planCovers(plan: Plan, protocol: Protocol, port: number): boolean {
  return plan.rules.some((rule) => rule.protocol === protocol && rule.peer !== 'self' && inRanges(port, rule.ports));
}

export interface CellOutcome {
  readonly cell: Cell;
  readonly expected: { readonly plan: boolean; readonly hand: boolean | null };
  readonly seen: ProbeResult;
  /** Why this cell is not asserted (a finding or a known gap), or null. */
  readonly excused: string | null;
}

export function cellKey(cell: Cell): string {
  return `${cell.peer}|${cell.protocol}|${cell.port}|${cell.family}|${cell.dnat ? 'dnat' : 'node'}`;
}

function describe(cell: Cell): string {
  return `${cell.peer.padEnd(13)} × ${`${cell.port}/${cell.protocol}`.padEnd(10)} ${cell.family}${cell.dnat ? ' (NodePort DNATed to the pod)' : ''}`;
}

function word(open: boolean | null): string {
  return open === null ? '-' : open ? 'open' : 'closed';
}

/** A probe counts as open only with the responder's banner; `refused` means the firewall let it through. */
export function seenOpen(result: ProbeResult): boolean {
  return result.status === 'open';
}

/**
 * Whether the kernel agrees with both expectations. A `refused` answer is
 * always wrong: either the firewall let a packet through that it should have
 * dropped, or the harness forgot a listener.
 */
export function cellPasses(outcome: CellOutcome): boolean {
  if (outcome.seen.status === 'refused' || outcome.seen.status === 'error') return false;
  const open = seenOpen(outcome.seen);
  return open === outcome.expected.plan && (outcome.expected.hand === null || open === outcome.expected.hand);
}

/** The matrix difference, one line per disagreeing cell, grouped by peer. */
export function formatMatrixDiff(outcomes: readonly CellOutcome[]): string {
  const lines = ['peer          × port/proto family: expected (plan, hand-written table) → seen'];
  for (const outcome of [...outcomes].sort((a, b) => cellKey(a.cell).localeCompare(cellKey(b.cell)))) {
    const { cell, expected, seen } = outcome;
    lines.push(
      `  ${describe(cell)}: expected ${word(expected.plan)}, ${word(expected.hand)} → seen ${seen.status}${seen.detail ? ` (${seen.detail})` : ''}${expected.hand !== null && expected.hand !== expected.plan ? '  [plan and hand-written table disagree]' : ''}`,
    );
  }
  return lines.join('\n');
}

/** Keys for a family-specific address lookup. */
export type FamilyAddresses = Readonly<Record<Family, string>>;
