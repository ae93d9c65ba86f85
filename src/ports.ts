import type { PortRange } from './model.js';
import { showValue } from './text/terminal.js';

export const PORT_MIN = 1;
export const PORT_MAX = 65535;

/** What a user may write for ports: `6443`, `"6443"`, `"2379-2380"`, or a list of those. */
export type PortSpec = number | string | ReadonlyArray<number | string>;

/**
 * Parses one port or range. Returns the range, or a sentence saying what is
 * wrong and what would be valid (the caller adds the file and path).
 */
export function parsePortRange(value: number | string): PortRange | string {
  const text = String(value).trim();
  const match = /^(\d{1,6})(?:\s*-\s*(\d{1,6}))?$/.exec(text);
  if (!match) return `invalid port ${showValue(value)} (expected a port 1-65535 or a range like "30000-32767")`;
  const from = Number(match[1]);
  const to = match[2] === undefined ? from : Number(match[2]);
  for (const port of [from, to]) {
    if (port < PORT_MIN || port > PORT_MAX) {
      return `port ${port} in ${showValue(value)} is out of range (expected ${PORT_MIN}-${PORT_MAX})`;
    }
  }
  if (from > to) return `reversed port range ${showValue(value)} (expected the lower port first, e.g. "${to}-${from}")`;
  return { from, to };
}

/** Parses a port spec into sorted, merged ranges, or the first problem found. */
export function parsePortSpec(spec: PortSpec): PortRange[] | string {
  const items = Array.isArray(spec) ? spec : [spec as number | string];
  if (items.length === 0) return 'empty port list (expected at least one port or range)';
  const ranges: PortRange[] = [];
  for (const item of items) {
    const range = parsePortRange(item);
    if (typeof range === 'string') return range;
    ranges.push(range);
  }
  return mergePortRanges(ranges);
}

/** The ports of `range` that none of `holes` covers, as sorted ranges. */
export function subtractPortRanges(range: PortRange, holes: readonly PortRange[]): PortRange[] {
  const left: PortRange[] = [];
  let next = range.from;
  for (const hole of mergePortRanges(holes)) {
    if (hole.to < next || hole.from > range.to) continue;
    if (hole.from > next) left.push({ from: next, to: hole.from - 1 });
    next = Math.max(next, hole.to + 1);
  }
  if (next <= range.to) left.push({ from: next, to: range.to });
  return left;
}

/** Sorts ranges and merges overlapping or adjacent ones. */
export function mergePortRanges(ranges: readonly PortRange[]): PortRange[] {
  const sorted = [...ranges].sort((a, b) => a.from - b.from || a.to - b.to);
  const merged: PortRange[] = [];
  for (const range of sorted) {
    const last = merged[merged.length - 1];
    if (last && range.from <= last.to + 1) merged[merged.length - 1] = { from: last.from, to: Math.max(last.to, range.to) };
    else merged.push(range);
  }
  return merged;
}

export function rangesOverlap(a: PortRange, b: PortRange): boolean {
  return a.from <= b.to && b.from <= a.to;
}

/**
 * Formats a range for a target grammar: nftables and firewalld write `a-b`,
 * iptables and ufw write `a:b`.
 */
export function formatPortRange(range: PortRange, separator: '-' | ':' = '-'): string {
  return range.from === range.to ? String(range.from) : `${range.from}${separator}${range.to}`;
}

export function formatPortRanges(ranges: readonly PortRange[], separator: '-' | ':' = '-'): string {
  return ranges.map((range) => formatPortRange(range, separator)).join(',');
}

export function countPorts(ranges: readonly PortRange[]): number {
  return ranges.reduce((sum, range) => sum + range.to - range.from + 1, 0);
}
