import ipaddr from 'ipaddr.js';
import type { Family } from './model.js';
import { showValue } from './text/terminal.js';

/** A host address or network in canonical text form (RFC 5952 for IPv6). */
export interface Network {
  readonly family: Family;
  /** `10.0.0.0/8`, or a bare host address `10.0.0.11` for /32 and /128. */
  readonly text: string;
  readonly bytes: readonly number[];
  readonly prefix: number;
}

const FOUR_PART_DECIMAL = /^(?:0|[1-9]\d{0,2})(?:\.(?:0|[1-9]\d{0,2})){3}$/;

/** The four bytes of a plain dotted quad (no leading zeros, each at most 255), else undefined. */
function ipv4Bytes(text: string): number[] | undefined {
  if (!FOUR_PART_DECIMAL.test(text)) return undefined;
  const bytes = text.split('.').map(Number);
  return bytes.every((b) => b <= 255) ? bytes : undefined;
}

/**
 * 4 or 6 when text is a plain IPv4 dotted quad or IPv6 address, else 0.
 * ipaddr.isValid alone would also take "10", "0x0a.1" and zone ids.
 * (Not node:net's isIP: loading node:net cost the CLI measurable start-up time.)
 * The ':' test comes first because ipaddr's IPv4 check throws and catches
 * for every IPv6 address, which cost a 50,000-node render a third of its time.
 */
export function ipVersion(text: string): 0 | 4 | 6 {
  if (text.includes(':')) return !text.includes('%') && ipaddr.IPv6.isValid(text) ? 6 : 0;
  return ipv4Bytes(text) ? 4 : 0;
}

/**
 * `::ffff:10.0.0.1` is an IPv4 address written as IPv6: it would land in the
 * IPv6 sets while IPv4 packets are matched against the (empty) IPv4 ones.
 */
export function isIpv4Mapped(text: string): boolean {
  const address = text.split('/')[0]!.trim();
  return /ffff/i.test(address) && ipVersion(address) === 6 && ipaddr.IPv6.parse(address).isIPv4MappedAddress();
}

export function ipv4MappedRefusal(value: string): string {
  const address = value.split('/')[0]!.trim();
  return `IPv4-mapped IPv6 address ${showValue(value)} is refused (write the IPv4 address itself, ${ipaddr.IPv6.parse(address).toIPv4Address().toString()}: kubewall keeps IPv4 and IPv6 rules apart)`;
}

function parseStrictAddress(text: string): ipaddr.IPv4 | ipaddr.IPv6 | undefined {
  if (!text.includes(':')) return ipv4Bytes(text) ? ipaddr.IPv4.parse(text) : undefined;
  if (text.includes('%')) return undefined;
  // One parse, not isValid and then parse: IPv6 parsing was most of a
  // 5,000-node render's address work. It throws only on invalid input.
  try {
    return ipaddr.IPv6.parse(text);
  } catch {
    return undefined;
  }
}

function toNetwork(address: ipaddr.IPv4 | ipaddr.IPv6, prefix: number): Network {
  const family: Family = address.kind() === 'ipv4' ? 'ipv4' : 'ipv6';
  const full = family === 'ipv4' ? 32 : 128;
  const text = prefix === full ? address.toString() : `${address.toString()}/${prefix}`;
  return { family, text, bytes: address.toByteArray(), prefix };
}

export function invalidHostAddress(value: string): string {
  return `invalid IP address ${showValue(value)} (expected an IPv4 address like 10.0.0.11 or an IPv6 address like fd00::11)`;
}

/** Parses a host address (no prefix). Returns the network or what is wrong. */
export function parseHostAddress(value: string): Network | string {
  const text = value.trim();
  // A fleet's cluster file is mostly dotted quads: already canonical, so ipaddr is not needed.
  const bytes = text.includes(':') ? undefined : ipv4Bytes(text);
  if (bytes) return { family: 'ipv4', text, bytes, prefix: 32 };
  const address = parseStrictAddress(text);
  if (!address) return invalidHostAddress(value);
  if (address.kind() === 'ipv6' && (address as ipaddr.IPv6).isIPv4MappedAddress()) return ipv4MappedRefusal(value);
  return toNetwork(address, address.kind() === 'ipv4' ? 32 : 128);
}

/**
 * Parses a CIDR or a bare address. Host bits must be zero: `10.0.0.5/24`
 * usually means a typo, and silently widening or narrowing it would be worse.
 */
export function parseNetwork(value: string): Network | string {
  const text = value.trim();
  const slash = text.indexOf('/');
  if (slash === -1) return parseHostAddress(text);
  if (isIpv4Mapped(text)) return ipv4MappedRefusal(value);
  const address = parseStrictAddress(text.slice(0, slash));
  const prefixText = text.slice(slash + 1);
  const max = address?.kind() === 'ipv4' ? 32 : 128;
  if (!address || !/^\d{1,3}$/.test(prefixText) || Number(prefixText) > max) {
    return `invalid CIDR ${showValue(value)} (expected a network like 10.0.0.0/24 or fd00::/64)`;
  }
  const prefix = Number(prefixText);
  const network = ipaddr.parseCIDR(text);
  const base = address.kind() === 'ipv4'
    ? ipaddr.IPv4.networkAddressFromCIDR(text)
    : ipaddr.IPv6.networkAddressFromCIDR(text);
  if (base.toString() !== network[0].toString()) {
    return `CIDR ${showValue(value)} has host bits set (did you mean ${base.toString()}/${prefix}?)`;
  }
  return toNetwork(address, prefix);
}

function contains(outer: Network, inner: Network): boolean {
  if (outer.family !== inner.family || outer.prefix > inner.prefix) return false;
  let bits = outer.prefix;
  for (let i = 0; bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if (((outer.bytes[i] ?? 0) & mask) !== ((inner.bytes[i] ?? 0) & mask)) return false;
  }
  return true;
}

/**
 * Sorts, de-duplicates and drops entries covered by a wider network, so every
 * backend gets the same minimal, deterministic element list (and nftables
 * interval sets never see overlapping elements).
 */
export function normalizeNetworks(networks: readonly Network[]): Network[] {
  // Sorted by a key string made once per network (family, the bytes as
  // characters, the prefix): the same order as comparing family, bytes and
  // prefix, without a byte loop in each of a 100,000-address sort's comparisons.
  const keyed = networks.map((network) => ({
    network,
    key: `${network.family === 'ipv4' ? '4' : '6'}${String.fromCharCode(...network.bytes)}${String.fromCharCode(network.prefix)}`,
  }));
  keyed.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const sorted = keyed.map(({ network }) => network);
  const wide = sorted.filter((n) => n.prefix < (n.family === 'ipv4' ? 32 : 128));
  const out: Network[] = [];
  for (const network of sorted) {
    const last = out[out.length - 1];
    if (last && last.text === network.text) continue;
    if (wide.some((w) => w !== network && w.text !== network.text && contains(w, network))) continue;
    out.push(network);
  }
  return out;
}

/** The documented default for a peer class the user did not describe: private address space. */
export const PRIVATE_NETWORKS: readonly string[] = ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', 'fc00::/7'];
