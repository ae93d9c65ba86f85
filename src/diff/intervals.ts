import ipaddr from 'ipaddr.js';
import type { Family } from '../model.js';
import { ipVersion } from '../addresses.js';

/** An inclusive interval; lists of them are kept sorted and merged. */
export interface Interval {
  readonly from: bigint;
  readonly to: bigint;
}

/** Sorts and merges overlapping or adjacent intervals. */
export function unionIntervals(intervals: readonly Interval[]): Interval[] {
  const sorted = [...intervals].sort((a, b) => (a.from < b.from ? -1 : a.from > b.from ? 1 : 0));
  const merged: Interval[] = [];
  for (const next of sorted) {
    const last = merged[merged.length - 1];
    if (last && next.from <= last.to + 1n) merged[merged.length - 1] = { from: last.from, to: next.to > last.to ? next.to : last.to };
    else merged.push(next);
  }
  return merged;
}

/** `a − b` for merged lists: what `a` covers and `b` does not. */
export function subtractIntervals(a: readonly Interval[], b: readonly Interval[]): Interval[] {
  const out: Interval[] = [];
  let j = 0;
  for (const range of a) {
    let from = range.from;
    while (j < b.length && b[j]!.to < from) j++;
    let k = j;
    while (k < b.length && b[k]!.from <= range.to && from <= range.to) {
      const cut = b[k]!;
      if (cut.from > from) out.push({ from, to: cut.from - 1n });
      from = cut.to + 1n;
      k++;
    }
    if (from <= range.to) out.push({ from, to: range.to });
  }
  return out;
}

export function intersectIntervals(a: readonly Interval[], b: readonly Interval[]): Interval[] {
  return subtractIntervals(a, subtractIntervals(a, b));
}

export function isEmpty(intervals: readonly Interval[]): boolean {
  return intervals.length === 0;
}

const WIDTH: Record<Family, number> = { ipv4: 32, ipv6: 128 };

function addressToBigint(text: string, family: Family): bigint | undefined {
  const kind = ipVersion(text);
  if (kind !== (family === 'ipv4' ? 4 : 6)) return undefined;
  let value = 0n;
  for (const byte of ipaddr.parse(text).toByteArray()) value = (value << 8n) | BigInt(byte);
  return value;
}

function bigintToAddress(value: bigint, family: Family): string {
  const bytes: number[] = [];
  for (let i = WIDTH[family] / 8 - 1; i >= 0; i--) bytes.push(Number((value >> BigInt(i * 8)) & 255n));
  return ipaddr.fromByteArray(bytes).toString();
}

/**
 * Parses a set element as the host or the plan writes it: an address, a
 * CIDR (host bits ignored, as the kernel does) or an `a-b` range. Returns
 * undefined for anything else.
 */
export function parseAddressElement(text: string, family: Family): Interval | undefined {
  const trimmed = text.trim();
  const dash = trimmed.indexOf('-');
  if (dash > 0) {
    const from = addressToBigint(trimmed.slice(0, dash).trim(), family);
    const to = addressToBigint(trimmed.slice(dash + 1).trim(), family);
    return from !== undefined && to !== undefined && from <= to ? { from, to } : undefined;
  }
  const slash = trimmed.indexOf('/');
  const base = addressToBigint(slash === -1 ? trimmed : trimmed.slice(0, slash), family);
  if (base === undefined) return undefined;
  const width = WIDTH[family];
  const prefix = slash === -1 ? width : Number(trimmed.slice(slash + 1));
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > width || !/^\d+$/.test(slash === -1 ? '0' : trimmed.slice(slash + 1))) return undefined;
  const hostBits = BigInt(width - prefix);
  const from = (base >> hostBits) << hostBits;
  return { from, to: from + (1n << hostBits) - 1n };
}

/** Writes intervals as the fewest addresses and CIDRs that cover them exactly. */
export function formatAddressIntervals(intervals: readonly Interval[], family: Family): string[] {
  const width = WIDTH[family];
  const out: string[] = [];
  for (const range of intervals) {
    let from = range.from;
    while (from <= range.to) {
      let bits = 0;
      // The largest aligned block that starts at `from` and ends within the range.
      while (bits < width && ((from >> BigInt(bits)) & 1n) === 0n && from + (1n << BigInt(bits + 1)) - 1n <= range.to) bits++;
      out.push(bits === 0 ? bigintToAddress(from, family) : `${bigintToAddress(from, family)}/${width - bits}`);
      from += 1n << BigInt(bits);
    }
  }
  return out;
}
