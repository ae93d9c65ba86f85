import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { canonicalSource, normalizeSavedRule, readSavedRule } from '../../src/host/iptables-rule.js';

// Rule lines as iptables-nft-save and ufw's user.rules write them.
const CASES: [string, 'ipv4' | 'ipv6', unknown][] = [
  ['-i lo -m comment --comment "baseline: the node itself (Used by: Self)" -j RETURN', 'ipv4', { match: { kind: 'loopback' }, source: null, verdict: 'accept' }],
  ['-m conntrack --ctstate RELATED,ESTABLISHED -m comment --comment "x" -j RETURN', 'ipv4', { match: { kind: 'established' }, source: null, verdict: 'accept' }],
  ['-m conntrack --ctstate INVALID -j DROP', 'ipv6', { match: { kind: 'invalid' }, source: null, verdict: 'drop' }],
  ['-p icmp -m icmp --icmp-type 8 -m comment --comment "x" -j RETURN', 'ipv4', { match: { kind: 'icmp', types: ['echo-request'] }, source: null, verdict: 'accept' }],
  ['-p ipv6-icmp -m icmp6 --icmpv6-type 135 -j RETURN', 'ipv6', { match: { kind: 'icmp', types: ['neighbour-solicitation'] }, source: null, verdict: 'accept' }],
  [
    '-p tcp -m set --match-set KUBEWALL-ADMIN-V4 src -m tcp --dport 22 -m comment --comment "ssh: \\"x\\"" -j RETURN',
    'ipv4',
    { match: { kind: 'ports', protocol: 'tcp', ports: [{ from: 22, to: 22 }] }, source: 'KUBEWALL-ADMIN-V4', verdict: 'accept' },
  ],
  ['-p udp -m multiport --dports 30000:32767,53 -j ACCEPT', 'ipv4', { match: { kind: 'ports', protocol: 'udp', ports: [{ from: 53, to: 53 }, { from: 30000, to: 32767 }] }, source: null, verdict: 'accept' }],
  ['-p tcp --dport 10250 -s 10.10.0.11 -j ACCEPT', 'ipv4', { match: { kind: 'ports', protocol: 'tcp', ports: [{ from: 10250, to: 10250 }] }, source: '10.10.0.11', verdict: 'accept' }],
  ['-m addrtype ! --dst-type LOCAL -m comment --comment "x" -j RETURN', 'ipv4', { match: { kind: 'not-local' }, source: null, verdict: 'accept' }],
  ['-m comment --comment "kubewall: final" -j DROP', 'ipv6', { match: { kind: 'all' }, source: null, verdict: 'drop' }],
  // IP protocols as iptables-nft-save 1.8.9 prints what `-p 4`, `-p 50` and `-p 112` added (Debian's /etc/protocols names).
  [
    '-p ipencap -m set --match-set KUBEWALL-NODES-V4 src -m comment --comment "calico-ipip: x" -j RETURN',
    'ipv4',
    { match: { kind: 'ip-protocol', protocol: 4 }, source: 'KUBEWALL-NODES-V4', verdict: 'accept' },
  ],
  ['-p esp -m set --match-set KUBEWALL-NODES-V6 src -j RETURN', 'ipv6', { match: { kind: 'ip-protocol', protocol: 50 }, source: 'KUBEWALL-NODES-V6', verdict: 'accept' }],
  ['-p vrrp -m comment --comment "keepalived-vrrp: x" -j RETURN', 'ipv4', { match: { kind: 'ip-protocol', protocol: 112 }, source: null, verdict: 'accept' }],
  // Without /etc/protocols iptables prints numbers; iana-etc (Fedora, RHEL) names 4 `ipv4`; ufw's user.rules keeps `-s`.
  ['-p 4 -j RETURN', 'ipv4', { match: { kind: 'ip-protocol', protocol: 4 }, source: null, verdict: 'accept' }],
  ['-p ipv4 -j RETURN', 'ipv4', { match: { kind: 'ip-protocol', protocol: 4 }, source: null, verdict: 'accept' }],
  ['-p esp -s 10.30.0.11/32 -j ACCEPT', 'ipv4', { match: { kind: 'ip-protocol', protocol: 50 }, source: '10.30.0.11', verdict: 'accept' }],
];
for (const [body, family, expected] of CASES) {
  test(`readSavedRule: ${body}`, () => {
    const parts = readSavedRule(body, family);
    assert.type(parts, 'object', String(parts));
    const { match, source, verdict } = parts as Exclude<typeof parts, string>;
    assert.equal({ match, source, verdict }, expected);
  });
}

const NOT_KUBEWALLS = [
  '-p tcp -m tcp --dport 22 -j LOG',
  '-p tcp -m tcp ! --dport 22 -j RETURN',
  '-p tcp -m tcp --dport 22 -m limit --limit 3/min -j RETURN',
  '-i eth0 -j RETURN',
  '-p icmp --icmp-type 8 -j RETURN',
  '-p sctp -m sctp --dport 22 -j RETURN',
  '-j KUBE-FIREWALL',
  // ipip is 94 in /etc/protocols (kubewall writes 4), tcp without ports is no rule kubewall writes, nor a protocol beside a state.
  '-p ipip -j RETURN',
  '-p tcp -j RETURN',
  '-p esp -m conntrack --ctstate INVALID -j DROP',
];
for (const body of NOT_KUBEWALLS) {
  test(`not kubewall's form, kept as an "other" rule: ${body}`, () => {
    const family = body.includes('icmp') ? 'ipv6' : 'ipv4';
    assert.type(readSavedRule(body, family), 'string');
    const rule = normalizeSavedRule('input', family, body, 'rule 1');
    assert.equal([rule.family, rule.match.kind], [null, 'other']);
    assert.match((rule.match as { text: string }).text, body.slice(0, 10));
  });
}

test('canonicalSource: host prefixes dropped, IPv6 in RFC 5952 form, anything odd kept as written', () => {
  assert.equal(['10.0.0.1/32', '10.0.0.0/8', 'FD00:0::1/128', 'fd00::/64', 'not-an-address'].map(canonicalSource), ['10.0.0.1', '10.0.0.0/8', 'fd00::1', 'fd00::/64', 'not-an-address']);
});

test.run();
