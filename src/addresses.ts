import { domainToASCII } from 'node:url';
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

/** A dotted quad as written by inet_ntoa: four numbers 0-255, no leading zeros. */
const OCTET = '(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)';
const IPV4_ADDRESS = new RegExp(`^${OCTET}\\.${OCTET}\\.${OCTET}\\.${OCTET}$`);

/** The four bytes of a plain dotted quad, else undefined. */
function ipv4Bytes(text: string): number[] | undefined {
  const match = IPV4_ADDRESS.exec(text);
  return match === null ? undefined : [Number(match[1]), Number(match[2]), Number(match[3]), Number(match[4])];
}

/** What may appear in an IPv6 literal (hex groups, colons, an embedded dotted quad). */
const IPV6_CHARACTERS = /^[0-9A-Fa-f:.]+$/;

/**
 * The RFC 5952 text of an IPv6 address (lower case, no leading zeros, the
 * first longest run of two or more zero groups as "::"), else undefined.
 * Node's WHATWG URL host parser (ada) does the work: url.domainToASCII sets
 * its input as a URL's hostname, and a bracketed hostname must be a whole
 * IPv6 address, serialised in exactly that form ("" when it is not one).
 * That is about 0.9 µs an address, without a URL object per address (half
 * the time and a third of the memory of `new URL`), against 2.5 µs for
 * ipaddr.js's parse and print, and it spares a render node:net's isIPv6
 * pattern, which took 8 ms to compile for the first address. The character
 * check keeps the text one bracketed host: "]", "/", "@" or a zone id's "%"
 * never reach the parser. (test/addresses.test.ts holds it to node:net and
 * ipaddr.js on random and broken input.)
 */
function canonicalIPv6(text: string): string | undefined {
  if (!IPV6_CHARACTERS.test(text)) return undefined;
  const host = domainToASCII(`[${text}]`);
  return host.length > 2 && host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : undefined;
}

/** The 16 bytes of an address in canonicalIPv6's form: hex groups, at most one "::", no dotted quad. */
function canonicalIPv6Bytes(canonical: string): number[] {
  const groups = canonical.split(':');
  let written = 0;
  for (const group of groups) if (group !== '') written++;
  const bytes: number[] = [];
  let gapFilled = false;
  for (const group of groups) {
    if (group !== '') {
      const value = Number.parseInt(group, 16);
      bytes.push(value >> 8, value & 0xff);
    } else if (!gapFilled) {
      // "::" splits into one empty group in the middle, two at either end.
      gapFilled = true;
      for (let i = written; i < 8; i++) bytes.push(0, 0);
    }
  }
  return bytes;
}

/**
 * An IPv4 address written as IPv6: ::ffff:0:0/96 (IPv4-mapped), or a
 * dotted quad after 96 zero bits (`::10.0.0.1`, RFC 4291's deprecated
 * IPv4-compatible form, which is what someone writing it means).
 */
function isIpv4InIpv6(text: string, bytes: readonly number[]): boolean {
  for (let i = 0; i < 10; i++) if (bytes[i] !== 0) return false;
  return (bytes[10] === 0xff && bytes[11] === 0xff) || (bytes[10] === 0 && bytes[11] === 0 && text.includes('.'));
}

/**
 * 4 or 6 when text is a plain IPv4 dotted quad or IPv6 address, else 0.
 * ipaddr.isValid alone would also take "10", "0x0a.1" and zone ids.
 */
export function ipVersion(text: string): 0 | 4 | 6 {
  if (text.includes(':')) return canonicalIPv6(text) === undefined ? 0 : 6;
  // test, not ipv4Bytes: validating a fleet's addresses needs no match arrays.
  return IPV4_ADDRESS.test(text) ? 4 : 0;
}

/**
 * `::ffff:10.0.0.1` is an IPv4 address written as IPv6: it would land in the
 * IPv6 sets while IPv4 packets are matched against the (empty) IPv4 ones.
 */
export function isIpv4Mapped(text: string): boolean {
  const address = text.split('/')[0]!.trim();
  if (!/ffff|:\d+\./i.test(address)) return false;
  const canonical = canonicalIPv6(address);
  return canonical !== undefined && isIpv4InIpv6(address, canonicalIPv6Bytes(canonical));
}

export function ipv4MappedRefusal(value: string): string {
  const address = value.split('/')[0]!.trim();
  const bytes = canonicalIPv6Bytes(canonicalIPv6(address) ?? '::');
  return `IPv4-mapped IPv6 address ${showValue(value)} is refused (write the IPv4 address itself, ${bytes.slice(12).join('.')}: kubewall keeps IPv4 and IPv6 rules apart)`;
}

/** A strictly written address as family, canonical text and bytes, else undefined. */
function parseStrictAddress(text: string): { family: Family; text: string; bytes: number[] } | undefined {
  if (!text.includes(':')) {
    const bytes = ipv4Bytes(text);
    // A dotted quad that passed ipv4Bytes is already canonical.
    return bytes && { family: 'ipv4', text, bytes };
  }
  const canonical = canonicalIPv6(text);
  return canonical === undefined ? undefined : { family: 'ipv6', text: canonical, bytes: canonicalIPv6Bytes(canonical) };
}

export function invalidHostAddress(value: string): string {
  return `invalid IP address ${showValue(value)} (expected an IPv4 address like 10.0.0.11 or an IPv6 address like fd00::11)`;
}

/** Parses a host address (no prefix), spaces around it ignored. Returns the network or what is wrong. */
export function parseHostAddress(value: string): Network | string {
  const text = value.trim();
  // On refusal, parsed again only to say which: well formed (then IPv4 written as IPv6) or not.
  return parseExactHostAddress(text) ?? (parseStrictAddress(text) ? ipv4MappedRefusal(value) : invalidHostAddress(value));
}

/**
 * The host address text is exactly (no spaces around it), else undefined:
 * what the schema's isHostAddress accepts, parsed.
 */
export function parseExactHostAddress(text: string): Network | undefined {
  const address = parseStrictAddress(text);
  if (!address || (address.family === 'ipv6' && isIpv4InIpv6(text, address.bytes))) return undefined;
  return { family: address.family, text: address.text, bytes: address.bytes, prefix: address.family === 'ipv4' ? 32 : 128 };
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
  const max = address?.family === 'ipv4' ? 32 : 128;
  if (!address || !/^\d{1,3}$/.test(prefixText) || Number(prefixText) > max) {
    return `invalid CIDR ${showValue(value)} (expected a network like 10.0.0.0/24 or fd00::/64)`;
  }
  const prefix = Number(prefixText);
  const base = networkBytes(address.bytes, prefix);
  if (base.some((byte, i) => byte !== address.bytes[i])) {
    return `CIDR ${showValue(value)} has host bits set (did you mean ${formatAddressBytes(address.family, base)}/${prefix}?)`;
  }
  return { family: address.family, text: prefix === max ? address.text : `${address.text}/${prefix}`, bytes: address.bytes, prefix };
}

/** The mask of byte i of an address under a prefix of that many bits. */
function prefixByteMask(prefix: number, i: number): number {
  const kept = prefix - i * 8;
  return kept >= 8 ? 0xff : kept <= 0 ? 0 : (0xff << (8 - kept)) & 0xff;
}

/** The address with every bit after the first prefix bits cleared. */
function networkBytes(bytes: readonly number[], prefix: number): number[] {
  return bytes.map((byte, i) => byte & prefixByteMask(prefix, i));
}

/** Canonical text of 4 or 16 address bytes (RFC 5952 for IPv6, through canonicalIPv6). */
function formatAddressBytes(family: Family, bytes: readonly number[]): string {
  if (family === 'ipv4') return bytes.join('.');
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i]! << 8) | bytes[i + 1]!).toString(16));
  return canonicalIPv6(groups.join(':'))!;
}

function contains(outer: Network, inner: Network): boolean {
  if (outer.family !== inner.family || outer.prefix > inner.prefix) return false;
  for (let i = 0; i * 8 < outer.prefix; i++) {
    const mask = prefixByteMask(outer.prefix, i);
    if (((outer.bytes[i] ?? 0) & mask) !== ((inner.bytes[i] ?? 0) & mask)) return false;
  }
  return true;
}

/** One character per 16-bit word: strings compare by UTF-16 code unit, which orders the words numerically. */
function sortKey({ family, bytes: b, prefix }: Network): string {
  const word = (i: number) => (b[i]! << 8) | b[i + 1]!;
  return family === 'ipv4'
    ? String.fromCharCode(4, word(0), word(2), prefix)
    : String.fromCharCode(6, word(0), word(2), word(4), word(6), word(8), word(10), word(12), word(14), prefix);
}

/**
 * Sorts, de-duplicates and drops entries covered by a wider network, so every
 * backend gets the same minimal, deterministic element list (and nftables
 * interval sets never see overlapping elements).
 */
export function normalizeNetworks(networks: readonly Network[]): Network[] {
  // Sorted by a key string made once per network (family, the address as
  // 16-bit words, the prefix): the same order as comparing family, bytes and
  // prefix, without a byte loop in each of a 100,000-address sort's comparisons.
  const keyed = networks.map((network) => ({ network, key: sortKey(network) }));
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
