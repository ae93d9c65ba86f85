import { test } from 'uvu';
import * as assert from 'uvu/assert';
import ipaddr from 'ipaddr.js';
import { isIPv4, isIPv6 } from 'node:net';
import { ipVersion, isIpv4Mapped, normalizedTextsByFamily, normalizeNetworks, parseHostAddress, parseNetwork, type Network } from '../src/addresses.js';
import { seededRandom } from './helpers/hostile.js';

const net = (text: string) => parseNetwork(text) as Network;
/** A parse result as plain fields (a parsed network keeps its bytes in a compact key and computes them when read). */
const fields = (result: Network | string) => (typeof result === 'string' ? result : { family: result.family, text: result.text, bytes: result.bytes, prefix: result.prefix });

test('host addresses: IPv4 dotted quads and IPv6, canonical text', () => {
  assert.is((parseHostAddress('10.0.0.11') as Network).text, '10.0.0.11');
  assert.is((parseHostAddress('FD00:0010:0000::0011') as Network).text, 'fd00:10::11');
  assert.is((parseHostAddress('fd00::11') as Network).family, 'ipv6');
});

test('host addresses: odd forms ipaddr.js would accept are rejected', () => {
  for (const bad of ['10', '0x0a.0.0.1', '10.0.0', '10.0.0.256', 'fe80::1%eth0', '10.0.0.1/32', 'cp-1', '']) {
    const result = parseHostAddress(bad);
    assert.type(result, 'string', `accepted ${bad}`);
    assert.match(result as string, /invalid IP address/);
  }
});

test('IPv6: what a bracketed URL host cannot hold is refused before the URL parser sees it', () => {
  for (const bad of ['::1]/x', '::1]', '[::1]', 'fe80::1%eth0', 'fe80::1%25eth0', '::1@evil', 'user@[::1]', '1::2::3', '12345::', ':::', 'fd00::g']) {
    assert.is(ipVersion(bad), 0, bad);
    assert.type(parseHostAddress(bad), 'string', bad);
  }
});

test('IPv6: an IPv4 address written as IPv6 is refused, mapped or with a dotted quad after 96 zero bits', () => {
  for (const text of ['::ffff:10.0.0.1', '::FFFF:a00:1', '::10.0.0.1', '0:0:0:0:0:0:10.0.0.1']) {
    assert.ok(isIpv4Mapped(text), text);
    assert.match(parseHostAddress(text) as string, /IPv4-mapped IPv6 address .* \(write the IPv4 address itself, 10\.0\.0\.1:/, text);
  }
  assert.match(parseNetwork('::ffff:10.0.0.0/104') as string, /IPv4-mapped/);
  // Written in hex, ::a00:1 is a plain (if odd) IPv6 address; ::1 and :: stay addresses.
  for (const text of ['::a00:1', '::1', '::', '64:ff9b::a00:1']) assert.not.ok(isIpv4Mapped(text), text);
  assert.is((parseHostAddress('64:ff9b::10.0.0.1') as Network).text, '64:ff9b::a00:1');
});

test('IPv6: the same addresses, canonical text and bytes as node:net and ipaddr.js, on 20,000 random and broken texts', () => {
  const next = seededRandom(11);
  const random = (n: number): number => Math.floor(next() * n);
  const randomAddress = (): string => {
    const words = Array.from({ length: 8 }, () => (random(3) === 0 ? 0 : random(4) === 0 ? random(16) : random(65536)));
    if (random(4) === 0) words.fill(0, random(8), random(9));
    let parts = words.map((w) => {
      const text = random(5) === 0 ? w.toString(16).padStart(4, '0') : w.toString(16);
      return random(5) === 0 ? text.toUpperCase() : text;
    });
    let tail = '';
    if (random(5) === 0) {
      parts = parts.slice(0, 6);
      tail = `:${[words[6]! >> 8, words[6]! & 255, words[7]! >> 8, words[7]! & 255].join('.')}`;
    }
    const zeroRuns: [number, number][] = [];
    for (let i = 0; i < parts.length; i++) {
      if (Number.parseInt(parts[i]!, 16) !== 0) continue;
      let j = i;
      while (j < parts.length && Number.parseInt(parts[j]!, 16) === 0) j++;
      zeroRuns.push([i, j]);
      i = j;
    }
    if (zeroRuns.length === 0 || random(2) === 0) return parts.join(':') + tail;
    const [a, b] = zeroRuns[random(zeroRuns.length)]!;
    return `${parts.slice(0, a).join(':')}::${parts.slice(b).join(':')}${tail && b === parts.length ? tail.slice(1) : tail}`;
  };
  const alphabet = '0123456789abcdefABCDEF::::...%/ ]g';
  const seen = { accepted: 0, refused: 0, invalid: 0 };
  for (let i = 0; i < 20_000; i++) {
    let text = randomAddress();
    if (i % 2) {
      const at = random(text.length + 1);
      const kind = random(4);
      if (kind === 0) text = text.slice(0, at) + text.slice(at + 1);
      else if (kind === 1) text = text.slice(0, at) + alphabet[random(alphabet.length)] + text.slice(at);
      else if (kind === 2) text = text.slice(0, at) + text.slice(at, at + 2) + text.slice(at);
      else text = Array.from({ length: random(12) + 1 }, () => alphabet[random(alphabet.length)]).join('');
    }
    // The reference: node's inet_pton-style isIPv6 for validity (zone ids refused), ipaddr.js
    // for the canonical form, given the dotted quad in hex (ipaddr reads ::a.b.c.d as ::ffff:a.b.c.d).
    assert.is(ipVersion(text) === 6, isIPv6(text) && !text.includes('%'), text);
    // parseHostAddress trims the text first.
    text = text.trim();
    const result = parseHostAddress(text);
    if (!isIPv6(text) || text.includes('%')) {
      if (ipVersion(text) !== 4) assert.type(result, 'string', text);
      seen.invalid++;
      continue;
    }
    const dotted = /^(.*:)(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
    const hexText = dotted ? `${dotted[1]}${((+dotted[2]! << 8) | +dotted[3]!).toString(16)}:${((+dotted[4]! << 8) | +dotted[5]!).toString(16)}` : text;
    const reference = ipaddr.IPv6.parse(hexText);
    const bytes = reference.toByteArray();
    if (reference.isIPv4MappedAddress() || (dotted && bytes.slice(0, 12).every((b) => b === 0))) {
      assert.match(result as string, /IPv4-mapped/, text);
      seen.refused++;
      continue;
    }
    assert.equal(fields(result), { family: 'ipv6', text: reference.toString(), bytes, prefix: 128 }, text);
    seen.accepted++;
  }
  // The generator reaches every outcome.
  for (const [outcome, count] of Object.entries(seen)) assert.ok(count > 20, `${outcome}: ${count}`);
});

test('IPv6 in RFC 5952 form (read without the URL parser) and one edit away from it: the same as node:net and ipaddr.js', () => {
  const next = seededRandom(41);
  const random = (n: number): number => Math.floor(next() * n);
  const seen = { canonical: 0, other: 0, invalid: 0 };
  for (let i = 0; i < 20_000; i++) {
    // Words with zero runs of every length and place, some words short, some the whole 16 bits.
    const words = Array.from({ length: 8 }, () => [0, 0, 0, 1, random(16), random(4096), random(65536)][random(7)]!);
    if (words.slice(0, 6).every((w) => w === 0)) words[0] = 0xfd00; // not IPv4 written as IPv6 (refused, tested above)
    const canonical = new ipaddr.IPv6(words).toRFC5952String();
    let text = canonical;
    const edit = random(8);
    if (edit === 1) text = text.toUpperCase();
    else if (edit === 2) text = text.replace(/(^|:)([0-9a-f])/, '$10$2'); // a leading zero
    else if (edit === 3) text = text.replace('::', ':0::'); // a zero group outside the run
    else if (edit === 4) text = text.replace(/(^|:)0(:|$)/, '$1:$2'); // "::" for a single zero group, or a second "::"
    else if (edit === 5) text = `${text}:1`; // one group too many
    else if (edit === 6) text = text.slice(0, -1); // one digit short
    else if (edit === 7) text = new ipaddr.IPv6(words).toNormalizedString(); // no "::" at all
    const result = parseHostAddress(text);
    if (!isIPv6(text)) {
      assert.type(result, 'string', text);
      seen.invalid++;
      continue;
    }
    const reference = ipaddr.IPv6.parse(text);
    assert.equal(fields(result), { family: 'ipv6', text: reference.toRFC5952String(), bytes: reference.toByteArray(), prefix: 128 }, text);
    if (text === canonical) seen.canonical++;
    else seen.other++;
  }
  for (const [outcome, count] of Object.entries(seen)) assert.ok(count > 1000, `${outcome}: ${count}`);
});

test('IPv4: the same addresses as node:net, on 20,000 random dotted texts', () => {
  const next = seededRandom(3);
  const random = (n: number): number => Math.floor(next() * n);
  const part = () => [String(random(300)), String(random(10)), `0${random(10)}`, String(random(256)), String(random(256)), String(random(256)), '', 'x', '1e2'][random(9)]!;
  let valid = 0;
  for (let i = 0; i < 20_000; i++) {
    const text = Array.from({ length: random(4) === 0 ? [3, 5][random(2)]! : 4 }, part).join('.');
    const expected = isIPv4(text);
    assert.is(ipVersion(text), expected ? 4 : 0, text);
    const parsed = parseHostAddress(text);
    if (expected) {
      valid++;
      assert.equal(fields(parsed), { family: 'ipv4', text, bytes: text.split('.').map(Number), prefix: 32 }, text);
    } else assert.type(parsed, 'string', text);
  }
  assert.ok(valid > 1000, `${valid} valid addresses generated`);
});

test('networks: CIDR with host bits set names the network that was probably meant', () => {
  assert.is(parseNetwork('10.0.0.5/24'), 'CIDR "10.0.0.5/24" has host bits set (did you mean 10.0.0.0/24?)');
  assert.is(parseNetwork('fd00::1/64'), 'CIDR "fd00::1/64" has host bits set (did you mean fd00::/64?)');
});

test('networks: host bits and the network meant, as ipaddr.js computes them, on 5,000 random CIDRs', () => {
  const next = seededRandom(29);
  const random = (n: number): number => Math.floor(next() * n);
  let accepted = 0;
  for (let i = 0; i < 5000; i++) {
    const ipv6 = random(2) === 0;
    const words = Array.from({ length: ipv6 ? 8 : 4 }, () => (random(3) === 0 ? 0 : ipv6 ? random(65536) : random(256)));
    // Clear the host part often, so both answers occur at every prefix length.
    const prefix = random(ipv6 ? 129 : 33);
    const bits = ipv6 ? 16 : 8;
    if (random(2) === 0) words.forEach((w, k) => (words[k] = (k + 1) * bits <= prefix ? w : k * bits >= prefix ? 0 : w & ~((1 << ((k + 1) * bits - prefix)) - 1)));
    const address = ipv6 ? words.map((w) => w.toString(16)).join(':') : words.join('.');
    const text = `${address}/${prefix}`;
    if (ipv6 && words.slice(0, 5).every((w) => w === 0) && (words[5] === 0xffff || words[5] === 0)) continue; // IPv4 written as IPv6: refused, tested above
    const base = ipaddr.parse(address).kind() === 'ipv4' ? ipaddr.IPv4.networkAddressFromCIDR(text) : ipaddr.IPv6.networkAddressFromCIDR(text);
    const parsed = parseNetwork(text);
    if (base.toString() === ipaddr.parse(address).toString()) {
      accepted++;
      const max = ipv6 ? 128 : 32;
      assert.equal(fields(parsed), { family: ipv6 ? 'ipv6' : 'ipv4', text: prefix === max ? base.toString() : `${base.toString()}/${prefix}`, bytes: ipaddr.parse(address).toByteArray(), prefix }, text);
    } else {
      assert.is(parsed, `CIDR "${text}" has host bits set (did you mean ${base.toString()}/${prefix}?)`, text);
    }
  }
  assert.ok(accepted > 1000 && accepted < 4000, `${accepted} of 5,000 had no host bits set`);
});

test('networks: invalid prefix or address', () => {
  for (const bad of ['10.0.0.0/33', '10.0.0.0/', 'fd00::/129', '300.0.0.0/8', '10.0.0.0/8/8', '10.0.0.0/x']) {
    assert.match(parseNetwork(bad) as string, /invalid CIDR|invalid IP/, bad);
  }
});

test('networks: /32 and /128 are written as bare host addresses', () => {
  assert.is(net('10.0.0.1/32').text, '10.0.0.1');
  assert.is(net('fd00::1/128').text, 'fd00::1');
  assert.is(net('10.0.0.0/8').text, '10.0.0.0/8');
});

test('normalizeNetworks sorts numerically, drops duplicates and covered entries', () => {
  const result = normalizeNetworks(
    ['10.0.0.10', '10.0.0.9', '10.0.0.10', '192.168.1.0/24', '192.168.1.7', '10.1.0.0/16', '10.1.2.0/24', 'fd00::1', 'fd00::/64', '2001:db8::1'].map(net),
  );
  assert.equal(
    result.map((n) => n.text),
    ['10.0.0.9', '10.0.0.10', '10.1.0.0/16', '192.168.1.0/24', '2001:db8::1', 'fd00::/64'],
  );
});

test('normalizeNetworks handles 10,000 hosts quickly', () => {
  const hosts = Array.from({ length: 10_000 }, (_, i) => net(`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`));
  const started = performance.now();
  const result = normalizeNetworks([net('192.168.0.0/16'), ...hosts.reverse()]);
  assert.is(result.length, 10_001);
  assert.ok(performance.now() - started < 2000, 'normalizing 10k hosts took more than 2 s');
});

test('normalizeNetworks orders like comparing family, then bytes, then prefix (random IPv4 and IPv6 networks, duplicates included)', () => {
  let seed = 7;
  const random = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) % n);
  const texts: string[] = [];
  for (let i = 0; i < 3000; i++) {
    if (random(2) === 0) texts.push(`${random(4)}.${random(3)}.${random(256)}.${random(256)}`);
    else texts.push(`fd${random(3).toString(16)}:${random(65536).toString(16)}::${random(65536).toString(16)}`);
  }
  // Wide networks that cover no host above and no other network, so none is dropped as covered.
  texts.push('200.0.0.0/8', '201.0.0.0/16', 'fe80::/10', 'fec0::/64');
  const networks = texts.map((text) => parseNetwork(text) as Network);
  const byFields = (a: Network, b: Network) => {
    if (a.family !== b.family) return a.family === 'ipv4' ? -1 : 1;
    for (let i = 0; i < a.bytes.length; i++) if (a.bytes[i] !== b.bytes[i]) return a.bytes[i]! - b.bytes[i]!;
    return a.prefix - b.prefix;
  };
  const expected = [...new Set([...networks].sort(byFields).map((n) => n.text))];
  assert.equal(normalizeNetworks(networks).map((n) => n.text), expected);
});

test('normalizeNetworks: input already in order (the sort skipped) still loses repeats and covered entries, and one pair out of order at the end is sorted', () => {
  const inOrder = ['10.0.0.0/24', '10.0.0.7', '10.0.0.7', '10.0.1.1', 'fd00::/64', 'fd00::1', 'fd00::1', 'fd00:0:0:1::1'];
  assert.equal(normalizeNetworks(inOrder.map(net)).map((n) => n.text), ['10.0.0.0/24', '10.0.1.1', 'fd00::/64', 'fd00:0:0:1::1']);
  const hosts = ['10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.5', '10.0.0.4', 'fd00::1', 'fd00::3', 'fd00::2'];
  assert.equal(normalizeNetworks(hosts.map(net)).map((n) => n.text), ['10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.4', '10.0.0.5', 'fd00::1', 'fd00::2', 'fd00::3']);
  // Interleaved families are each in order: nothing to sort, nothing dropped.
  const interleaved = ['10.0.0.1', 'fd00::1', '10.0.0.2', 'fd00::2'];
  assert.equal(normalizeNetworks(interleaved.map(net)).map((n) => n.text), ['10.0.0.1', '10.0.0.2', 'fd00::1', 'fd00::2']);
});

test('normalizedTextsByFamily holds normalizeNetworks\' texts, each family apart (random input, in order and not)', () => {
  let seed = 11;
  // The high bits: an LCG's low bits repeat with a short period (its lowest alternates).
  const random = (n: number) => Math.floor(((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * n);
  const hosts = Array.from({ length: 2000 }, () => (random(2) === 0 ? `10.0.${random(4)}.${random(256)}` : `fd00::${random(1024).toString(16)}`));
  // Each wide network covers about half its family's hosts, and sorts before all of them.
  const wide = ['10.0.0.0/23', 'fd00::/119'];
  const shuffled = [...hosts, ...wide];
  // In address order with every host twice: the sort is skipped, the repeats and covered hosts still go.
  const ordered = normalizeNetworks(hosts.map(net)).flatMap((n) => [n.text, n.text]);
  const inOrder = [wide[0]!, ...ordered.filter((t) => !t.includes(':')), wide[1]!, ...ordered.filter((t) => t.includes(':'))];
  for (const input of [shuffled, inOrder]) {
    const networks = input.map(net);
    const all = normalizeNetworks(networks);
    const split = normalizedTextsByFamily(networks);
    assert.equal(split.ipv4, all.filter((n) => n.family === 'ipv4').map((n) => n.text));
    assert.equal(split.ipv6, all.filter((n) => n.family === 'ipv6').map((n) => n.text));
    assert.equal(split.ipv4[0], '10.0.0.0/23');
    assert.equal(split.ipv6[0], 'fd00::/119');
    assert.ok(split.ipv4.length > 100 && split.ipv6.length > 100, `${split.ipv4.length} and ${split.ipv6.length} kept`);
    assert.ok(!split.ipv4.includes('10.0.1.7') && !split.ipv6.includes('fd00::17'));
  }
  assert.equal(normalizedTextsByFamily(shuffled.map(net)), normalizedTextsByFamily(inOrder.map(net)));
});

test('normalizeNetworks takes networks built as plain objects (library users) like parsed ones', () => {
  const texts = ['10.0.0.10', '10.0.0.9', '10.0.0.0/24', '192.168.1.7', 'fd00::1', 'fd00::/64', '2001:db8::1', '2001:db8::1'];
  const plain = texts.map((text) => fields(net(text)) as Network);
  assert.equal(normalizeNetworks(plain).map(fields), normalizeNetworks(texts.map(net)).map(fields));
  assert.equal(normalizeNetworks(plain).map((n) => n.text), ['10.0.0.0/24', '192.168.1.7', '2001:db8::1', 'fd00::/64']);
});

test.run();
