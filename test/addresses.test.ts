import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { normalizeNetworks, parseHostAddress, parseNetwork, type Network } from '../src/addresses.js';

const net = (text: string) => parseNetwork(text) as Network;

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

test('networks: CIDR with host bits set names the network that was probably meant', () => {
  assert.is(parseNetwork('10.0.0.5/24'), 'CIDR "10.0.0.5/24" has host bits set (did you mean 10.0.0.0/24?)');
  assert.is(parseNetwork('fd00::1/64'), 'CIDR "fd00::1/64" has host bits set (did you mean fd00::/64?)');
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

test.run();
