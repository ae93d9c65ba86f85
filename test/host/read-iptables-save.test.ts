import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { generateKubeProxySave } from '../../bench/diff.js';
import { IptablesSaveReader, readIptablesSave, tokenizeSavedRule } from '../../src/host/read-iptables-save.js';

const OURS = `*filter
:INPUT DROP [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:KUBEWALL-INPUT - [0:0]
:KUBE-FIREWALL - [0:0]
-A INPUT -j KUBEWALL-INPUT
-A INPUT -j KUBE-FIREWALL
-A KUBEWALL-INPUT -m set --match-set KUBEWALL-ADMIN-V4 src -p tcp -m tcp --dport 22 -m comment --comment "ssh: \\"admin\\" networks" -j RETURN
-A KUBE-FIREWALL -j DROP
COMMIT
`;
const options = { chainPrefix: 'KUBEWALL-', origin: 'dump' };

test('keeps built-in chains (policy, rules) and kubewall chains; skips the rest unparsed', () => {
  const save = readIptablesSave(generateKubeProxySave(20, 3) + OURS, options);
  assert.equal(save.tables.map((t) => t.name), ['nat', 'filter', 'filter']);
  const filter = save.tables[2]!;
  assert.equal([...filter.chains.keys()], ['INPUT', 'FORWARD', 'OUTPUT', 'KUBEWALL-INPUT']);
  assert.is(filter.chains.get('INPUT')!.policy, 'DROP');
  assert.is(filter.chains.get('KUBEWALL-INPUT')!.policy, null);
  assert.equal(filter.chains.get('INPUT')!.rules, ['-j KUBEWALL-INPUT', '-j KUBE-FIREWALL']);
  assert.is(filter.chains.get('KUBEWALL-INPUT')!.rules.length, 1);
  // kube-proxy's nat rules: only the built-in PREROUTING/OUTPUT/POSTROUTING jumps are kept.
  assert.equal([...save.tables[0]!.chains.keys()], ['PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING']);
  assert.is(save.skippedRules, 20 * (2 + 3 * 3) + 5 + 1 + 1);
});

test('chunks split anywhere give the same result as one text', () => {
  const text = generateKubeProxySave(5, 2) + OURS;
  const whole = readIptablesSave(text, options);
  for (const size of [1, 7, 64, 1000]) {
    const reader = new IptablesSaveReader(options);
    for (let i = 0; i < text.length; i += size) reader.push(text.slice(i, i + size));
    assert.equal(reader.end(), whole, `chunks of ${size}`);
  }
});

test('what is not iptables-save output fails with the origin and line', () => {
  assert.throws(() => readIptablesSave('{"nftables": []}\n', options), /^dump: line 1: not iptables-save output/);
  assert.throws(() => readIptablesSave('*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -j ACCEPT\n', options), /no COMMIT/);
  assert.throws(() => readIptablesSave('*filter\n-A KUBEWALL-X -j ACCEPT\nCOMMIT\n', options), /undeclared chain KUBEWALL-X/);
});

test('tokenizeSavedRule keeps quoted comments whole', () => {
  const rule = readIptablesSave(OURS, options).tables[0]!.chains.get('KUBEWALL-INPUT')!.rules[0]!;
  assert.equal(tokenizeSavedRule(rule).slice(-4), ['--comment', 'ssh: "admin" networks', '-j', 'RETURN']);
});

test('a 215,000-line kube-proxy dump keeps a handful of rules', () => {
  const text = generateKubeProxySave(5000, 10);
  assert.ok(text.split('\n').length > 215_000);
  const save = readIptablesSave(text + OURS, options);
  assert.is(save.tables[2]!.chains.get('KUBEWALL-INPUT')!.rules.length, 1);
  assert.ok(save.skippedRules > 150_000);
});

test.run();
