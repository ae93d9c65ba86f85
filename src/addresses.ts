import { domainToASCII } from 'node:url';
import type { Family } from './model.js';
import { showValue } from './text/terminal.js';

/** A host address or network in canonical text form (RFC 5952 for IPv6). */
export interface Network {
  readonly family: Family;
  /** `10.0.0.0/8`, or a bare host address `10.0.0.11` for /32 and /128. */
  readonly text: string;
  /** The address's 4 or 16 bytes (computed when read). */
  readonly bytes: readonly number[];
  readonly prefix: number;
}

/**
 * A parsed network holds its address as a short string instead of an array
 * of bytes: a character for the family (4 or 6), one per 16-bit word, one
 * for the prefix. Strings compare by UTF-16 code unit, so that key orders
 * networks by family, address and prefix with one comparison, and a
 * 100,000-address cluster file no longer allocates 100,000 byte arrays
 * (a quarter of a 50,000-node render's memory went to them, and on these
 * machines a render's time follows the memory it touches).
 */
class ParsedNetwork implements Network {
  constructor(
    readonly family: Family,
    readonly text: string,
    readonly prefix: number,
    /** Family, words and prefix as character codes (see above). */
    readonly key: string,
  ) {}

  get bytes(): number[] {
    const bytes: number[] = [];
    for (let i = 1; i < this.key.length - 1; i++) {
      const word = this.key.charCodeAt(i);
      bytes.push(word >> 8, word & 0xff);
    }
    return bytes;
  }
}

/** Scratch for an address's 16-bit words while its key is made (2 for IPv4, 8 for IPv6). */
const WORDS = new Uint16Array(8);

function keyFromWords(family: Family, prefix: number): string {
  const w = WORDS;
  return family === 'ipv4' ? String.fromCharCode(4, w[0]!, w[1]!, prefix) : String.fromCharCode(6, w[0]!, w[1]!, w[2]!, w[3]!, w[4]!, w[5]!, w[6]!, w[7]!, prefix);
}

/** The key of any Network: a parsed one carries it, one built elsewhere (the library's users) has bytes. */
function keyOf(network: Network): string {
  if (network instanceof ParsedNetwork) return network.key;
  const { bytes } = network;
  for (let i = 0; i < bytes.length; i += 2) WORDS[i >> 1] = (bytes[i]! << 8) | bytes[i + 1]!;
  return keyFromWords(network.family, network.prefix);
}

/** A dotted quad as written by inet_ntoa: four numbers 0-255, no leading zeros. */
const IPV4_ADDRESS = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;

/**
 * Whether text is a plain dotted quad; if so its two words are in WORDS.
 * `test` and the digits read back, not `exec`: no match array and four
 * substrings per address.
 */
function readIpv4(text: string): boolean {
  if (!IPV4_ADDRESS.test(text)) return false;
  let value = 0;
  let octet = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 46 /* . */) {
      value = value * 256 + octet;
      octet = 0;
    } else octet = octet * 10 + (c - 48);
  }
  value = value * 256 + octet;
  WORDS[0] = Math.floor(value / 65536);
  WORDS[1] = value % 65536;
  return true;
}

/** What may appear in an IPv6 literal (hex groups, colons, an embedded dotted quad). */
const IPV6_CHARACTERS = /^[0-9A-Fa-f:.]+$/;

/**
 * The RFC 5952 text of an IPv6 address (lower case, no leading zeros, the
 * first longest run of two or more zero groups as "::"), else undefined;
 * its eight words are left in WORDS.
 *
 * Node's WHATWG URL host parser (ada) does the parsing: url.domainToASCII
 * sets its input as a URL's hostname, and a bracketed hostname must be a
 * whole IPv6 address, serialised in exactly that form ("" when it is not
 * one). That is about 0.9 µs an address, without a URL object per address
 * (half the time and a third of the memory of `new URL`), against 2.5 µs
 * for ipaddr.js's parse and print, and it spares a render node:net's isIPv6
 * pattern, which took 8 ms to compile for the first address. The character
 * check keeps the text one bracketed host: "]", "/", "@" or a zone id's "%"
 * never reach the parser.
 *
 * Text already in that form (as a fleet's generated addresses are) is
 * recognised without the parser: its groups are read as words and the
 * words' RFC 5952 serialisation compared with the text, character by
 * character. Only a text that is exactly the serialisation of eight words
 * passes, and such a text is a valid address with those words, whatever the
 * reading made of a malformed one; anything else goes to ada. In a profiled
 * 50,000-node render that took canonicalIPv6 from ~50 ms to ~35 (the
 * parser's ~40 ms gone, the reading and comparing added). (test/addresses.test.ts
 * holds both paths to node:net and ipaddr.js on random, canonical and
 * almost-canonical input.)
 */
function canonicalIPv6(text: string): string | undefined {
  // The character check after the fast path: a text that serialisesWords
  // matches holds only hex digits and colons already.
  readIpv6Words(text);
  if (serialisesWords(text)) return text;
  if (!IPV6_CHARACTERS.test(text)) return undefined;
  const host = domainToASCII(`[${text}]`);
  if (!(host.length > 2 && host.startsWith('[') && host.endsWith(']'))) return undefined;
  const canonical = host.slice(1, -1);
  readIpv6Words(canonical);
  return canonical;
}

/** The hex digit for 0-15, lower case. */
const hexDigit = (value: number) => (value < 10 ? 48 + value : 87 + value);

/** Whether text is, character for character, the RFC 5952 serialisation of the eight words in WORDS. */
function serialisesWords(text: string): boolean {
  // The first longest run of two or more zero words becomes "::".
  let runStart = -1;
  let runLength = 1;
  for (let i = 0; i < 8; ) {
    if (WORDS[i] !== 0) {
      i++;
      continue;
    }
    let end = i;
    while (end < 8 && WORDS[end] === 0) end++;
    if (end - i > runLength) {
      runStart = i;
      runLength = end - i;
    }
    i = end;
  }
  let at = 0;
  for (let i = 0; i < 8; i++) {
    if (i === runStart) {
      if (text.charCodeAt(at++) !== 58 || text.charCodeAt(at++) !== 58) return false;
      i += runLength - 1;
      continue;
    }
    // A ":" between groups, none right after the "::".
    if (i > 0 && i !== runStart + runLength && text.charCodeAt(at++) !== 58) return false;
    const word = WORDS[i]!;
    for (let shift = word >= 0x1000 ? 12 : word >= 0x100 ? 8 : word >= 0x10 ? 4 : 0; shift >= 0; shift -= 4) {
      if (text.charCodeAt(at++) !== hexDigit((word >> shift) & 15)) return false;
    }
  }
  return at === text.length;
}

/**
 * Reads the groups of an address in canonicalIPv6's form (hex groups, at
 * most one "::", no dotted quad) into WORDS, character by character: no
 * array of groups and no substring per group. Other text reads as some
 * words without failing; serialisesWords then tells it apart.
 */
function readIpv6Words(canonical: string): void {
  // Loops, not Uint16Array fill and copyWithin: in code not yet optimised,
  // each builtin call cost more than the eight stores (19 ms against 12 for
  // 50,000 addresses, cold).
  let word = 0;
  let filled = 0;
  let gapAt = -1;
  let previous = 0;
  for (let i = 0; i < canonical.length; i++) {
    const c = canonical.charCodeAt(i);
    if (c === 58 /* : */) {
      if (previous === 58) gapAt = filled;
      else if (i > 0) {
        WORDS[filled++] = word;
        word = 0;
      }
    } else word = (word << 4) | (c <= 57 ? c - 48 : c - 87); // canonical hex is lower case
    previous = c;
  }
  if (previous !== 58) WORDS[filled++] = word;
  if (gapAt >= 0) {
    // The words after "::" belong at the end; the gap between is zero.
    const tail = filled - gapAt;
    for (let k = 1; k <= tail; k++) WORDS[8 - k] = WORDS[filled - k]!;
    for (let k = gapAt; k < 8 - tail; k++) WORDS[k] = 0;
  }
}

/**
 * Whether the IPv6 address in WORDS is an IPv4 address written as IPv6:
 * ::ffff:0:0/96 (IPv4-mapped), or a dotted quad after 96 zero bits
 * (`::10.0.0.1`, RFC 4291's deprecated IPv4-compatible form, which is what
 * someone writing it means).
 */
function isIpv4InIpv6(text: string): boolean {
  for (let i = 0; i < 5; i++) if (WORDS[i] !== 0) return false;
  return WORDS[5] === 0xffff || (WORDS[5] === 0 && text.includes('.'));
}

/**
 * 4 or 6 when text is a plain IPv4 dotted quad or IPv6 address, else 0.
 * ipaddr.isValid alone would also take "10", "0x0a.1" and zone ids.
 */
export function ipVersion(text: string): 0 | 4 | 6 {
  if (text.includes(':')) return canonicalIPv6(text) === undefined ? 0 : 6;
  return IPV4_ADDRESS.test(text) ? 4 : 0;
}

/**
 * `::ffff:10.0.0.1` is an IPv4 address written as IPv6: it would land in the
 * IPv6 sets while IPv4 packets are matched against the (empty) IPv4 ones.
 */
export function isIpv4Mapped(text: string): boolean {
  const address = text.split('/')[0]!.trim();
  if (!/ffff|:\d+\./i.test(address)) return false;
  return canonicalIPv6(address) !== undefined && isIpv4InIpv6(address);
}

export function ipv4MappedRefusal(value: string): string {
  const address = value.split('/')[0]!.trim();
  if (canonicalIPv6(address) === undefined) WORDS.fill(0);
  const ipv4 = `${WORDS[6]! >> 8}.${WORDS[6]! & 0xff}.${WORDS[7]! >> 8}.${WORDS[7]! & 0xff}`;
  return `IPv4-mapped IPv6 address ${showValue(value)} is refused (write the IPv4 address itself, ${ipv4}: kubewall keeps IPv4 and IPv6 rules apart)`;
}

/** The canonical text of a strictly written address, its words in WORDS; else undefined. */
function readStrictAddress(text: string): string | undefined {
  // A dotted quad that passed readIpv4 is already canonical.
  if (!text.includes(':')) return readIpv4(text) ? text : undefined;
  return canonicalIPv6(text);
}

const familyOf = (canonical: string): Family => (canonical.includes(':') ? 'ipv6' : 'ipv4');

export function invalidHostAddress(value: string): string {
  return `invalid IP address ${showValue(value)} (expected an IPv4 address like 10.0.0.11 or an IPv6 address like fd00::11)`;
}

/** Parses a host address (no prefix), spaces around it ignored. Returns the network or what is wrong. */
export function parseHostAddress(value: string): Network | string {
  const text = value.trim();
  // On refusal, parsed again only to say which: well formed (then IPv4 written as IPv6) or not.
  return parseExactHostAddress(text) ?? (readStrictAddress(text) !== undefined ? ipv4MappedRefusal(value) : invalidHostAddress(value));
}

/** The host address text is exactly (no spaces around it), else undefined (the schema's isHostAddress). */
export function parseExactHostAddress(text: string): Network | undefined {
  // readStrictAddress's branches, taken once here: this runs for each of a fleet's node addresses.
  if (!text.includes(':')) return readIpv4(text) ? new ParsedNetwork('ipv4', text, 32, keyFromWords('ipv4', 32)) : undefined;
  const canonical = canonicalIPv6(text);
  if (canonical === undefined || isIpv4InIpv6(text)) return undefined;
  return new ParsedNetwork('ipv6', canonical, 128, keyFromWords('ipv6', 128));
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
  const canonical = readStrictAddress(text.slice(0, slash));
  const family = canonical === undefined ? undefined : familyOf(canonical);
  const prefixText = text.slice(slash + 1);
  const max = family === 'ipv4' ? 32 : 128;
  if (canonical === undefined || family === undefined || !/^\d{1,3}$/.test(prefixText) || Number(prefixText) > max) {
    return `invalid CIDR ${showValue(value)} (expected a network like 10.0.0.0/24 or fd00::/64)`;
  }
  const prefix = Number(prefixText);
  let hostBits = false;
  for (let i = 0; i * 16 < max; i++) {
    const kept = WORDS[i]! & prefixWordMask(prefix, i);
    if (kept !== WORDS[i]) hostBits = true;
    WORDS[i] = kept;
  }
  if (hostBits) return `CIDR ${showValue(value)} has host bits set (did you mean ${formatWords(family)}/${prefix}?)`;
  return new ParsedNetwork(family, prefix === max ? canonical : `${canonical}/${prefix}`, prefix, keyFromWords(family, prefix));
}

/** The mask of 16-bit word i of an address under a prefix of that many bits. */
function prefixWordMask(prefix: number, i: number): number {
  const kept = prefix - i * 16;
  return kept >= 16 ? 0xffff : kept <= 0 ? 0 : (0xffff << (16 - kept)) & 0xffff;
}

/** Canonical text of the address in WORDS (RFC 5952 for IPv6, through canonicalIPv6). */
function formatWords(family: Family): string {
  if (family === 'ipv4') return `${WORDS[0]! >> 8}.${WORDS[0]! & 0xff}.${WORDS[1]! >> 8}.${WORDS[1]! & 0xff}`;
  return canonicalIPv6(Array.from(WORDS, (word) => word.toString(16)).join(':'))!;
}

/** Whether the network with key `outer` (its prefix given) contains the one with key `inner`. */
function contains(outer: string, outerPrefix: number, inner: string): boolean {
  const last = inner.length - 1;
  if (outer.charCodeAt(0) !== inner.charCodeAt(0) || outerPrefix > inner.charCodeAt(last)) return false;
  for (let i = 0; i * 16 < outerPrefix; i++) {
    const mask = prefixWordMask(outerPrefix, i);
    if ((outer.charCodeAt(1 + i) & mask) !== (inner.charCodeAt(1 + i) & mask)) return false;
  }
  return true;
}

/**
 * Sorts, de-duplicates and drops entries covered by a wider network, so every
 * backend gets the same minimal, deterministic element list (and nftables
 * interval sets never see overlapping elements).
 */
export function normalizeNetworks(networks: readonly Network[]): Network[] {
  const { ipv4, ipv6 } = splitByFamily<Network>(networks, (network) => network);
  return ipv4.concat(ipv6);
}

/** The texts of normalizeNetworks' list, split by family: what a peer class's two sets hold. */
export function normalizedTextsByFamily(networks: readonly Network[]): { readonly ipv4: string[]; readonly ipv6: string[] } {
  return splitByFamily(networks, (network) => network.text);
}

const byKey = (a: ParsedNetwork, b: ParsedNetwork) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);

/**
 * Sorted, de-duplicated and minimal per family, each kept network mapped
 * by `pick`. Ordered by key (the address as 16-bit words, then the prefix:
 * the order of comparing bytes and prefix). This runs once over a fleet's
 * 100,000 addresses, in code not yet optimised, where each pass costs
 * ~50 ns an element: so one pass splits the families and notes whether
 * each is in order already (a fleet's node list usually is: the sort, a
 * comparator call per pair even on sorted input, is then skipped) and
 * whether it holds a network wider than a host; a second drops duplicates
 * and covered networks while it picks. Indexed loops: a for…of allocates an
 * iterator result per step there.
 */
function splitByFamily<T>(networks: readonly Network[], pick: (network: ParsedNetwork) => T): { readonly ipv4: T[]; readonly ipv6: T[] } {
  const ipv4: ParsedNetwork[] = [];
  const ipv6: ParsedNetwork[] = [];
  let ipv4Sorted = true;
  let ipv6Sorted = true;
  let ipv4Wide = false;
  let ipv6Wide = false;
  for (let i = 0; i < networks.length; i++) {
    const network = networks[i]!;
    const parsed = network instanceof ParsedNetwork ? network : new ParsedNetwork(network.family, network.text, network.prefix, keyOf(network));
    if (parsed.family === 'ipv4') {
      if (ipv4Sorted && ipv4.length > 0 && ipv4[ipv4.length - 1]!.key > parsed.key) ipv4Sorted = false;
      if (parsed.prefix < 32) ipv4Wide = true;
      ipv4.push(parsed);
    } else {
      if (ipv6Sorted && ipv6.length > 0 && ipv6[ipv6.length - 1]!.key > parsed.key) ipv6Sorted = false;
      if (parsed.prefix < 128) ipv6Wide = true;
      ipv6.push(parsed);
    }
  }
  if (!ipv4Sorted) ipv4.sort(byKey);
  if (!ipv6Sorted) ipv6.sort(byKey);
  return { ipv4: minimal(ipv4, ipv4Wide ? 32 : -1, pick), ipv6: minimal(ipv6, ipv6Wide ? 128 : -1, pick) };
}

/** The sorted networks without repeats or networks inside a wider one (hostPrefix -1: none is wider than a host), picked. */
function minimal<T>(sorted: readonly ParsedNetwork[], hostPrefix: number, pick: (network: ParsedNetwork) => T): T[] {
  const wide = hostPrefix < 0 ? [] : sorted.filter((n) => n.prefix < hostPrefix);
  const out: T[] = [];
  let last: ParsedNetwork | undefined;
  for (let i = 0; i < sorted.length; i++) {
    const network = sorted[i]!;
    if (last !== undefined && last.key === network.key) continue;
    last = network;
    if (wide.length > 0 && wide.some((w) => w.key !== network.key && contains(w.key, w.prefix, network.key))) continue;
    out.push(pick(network));
  }
  return out;
}

/** The documented default for a peer class the user did not describe: private address space. */
export const PRIVATE_NETWORKS: readonly string[] = ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', 'fc00::/7'];
