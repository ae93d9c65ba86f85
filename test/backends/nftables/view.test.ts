import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { applyOverrides } from '../../../src/catalogue/catalogue.js';
import { loadCatalogue } from '../../../src/catalogue/load-catalogue.js';
import { EMBEDDED_DEFAULT_CLUSTER } from '../../../src/cluster/cluster.js';
import { parseCluster } from '../../../src/cluster/load-cluster.js';
import { assertNftIdentifier, quoteNftString } from '../../../src/backends/nftables/escape.js';
import { buildNftablesView } from '../../../src/backends/nftables/view.js';
import { planRole } from '../../../src/plan/plan-role.js';
import type { Role } from '../../../src/model.js';

const catalogue = await loadCatalogue();

test('quoteNftString keeps comments inert and within 128 characters', () => {
  assert.is(quoteNftString('kubelet: Kubelet API'), '"kubelet: Kubelet API"');
  assert.is(quoteNftString('a"; flush ruleset; "b'), '"a_; flush ruleset; _b"');
  assert.is(quoteNftString('line\nbreak\\ $var'), '"line_break_ _var"');
  assert.is(quoteNftString('x'.repeat(300)).length, 130);
  assert.is(quoteNftString('NodePort Services†'), '"NodePort Services_"');
});

test('assertNftIdentifier refuses anything but fixed lowercase names', () => {
  assert.is(assertNftIdentifier('control-plane-v4'), 'control-plane-v4');
  for (const bad of ['x; flush ruleset', 'A', '', '-x', 'a'.repeat(40)]) assert.throws(() => assertNftIdentifier(bad));
});

test('input chain: baseline first, then one statement per rule and family, an explicit final drop; policy accept (a reload never drops)', () => {
  const plan = planRole({ catalogue, cluster: EMBEDDED_DEFAULT_CLUSTER, roles: ['worker'] });
  const view = buildNftablesView(plan, ['header']);
  const input = view.chains.find((c) => c.name === 'input')!;
  // policy drop on a base chain dropped a new SYN per `nft -f` reload (test/conformance/reload.test.ts).
  assert.is(input.policy, 'accept');
  assert.match(input.rules.at(-1)!, /^drop comment "baseline: explicit final drop/);
  assert.is(input.hook, 'input');
  assert.match(input.rules[0]!, /^iif "lo" accept/);
  assert.match(input.rules[1]!, /^ct state established,related accept/);
  assert.match(input.rules[2]!, /^ct state invalid drop/);
  assert.ok(input.rules.includes('ip saddr @load-balancers-v4 tcp dport 10256 accept comment "kube-proxy: kube-proxy health check (used by: Self, Load balancers)"'));
  assert.ok(input.rules.includes('ip6 saddr @load-balancers-v6 tcp dport 10256 accept comment "kube-proxy: kube-proxy health check (used by: Self, Load balancers)"'));
  assert.ok(input.rules.some((r) => r.startsWith('udp dport 30000-32767 accept')));
  assert.not.ok(input.rules.some((r) => r.includes('10259')), 'self-only ports need no rule of their own');
  assert.is(view.chains.length, 1, 'NodePorts open to all need no before-DNAT chain');
});

test('the file empties and refills: every set and chain kubewall could have is declared; this plan\'s are flushed, the others deleted', () => {
  const plan = planRole({ catalogue, cluster: EMBEDDED_DEFAULT_CLUSTER, roles: ['worker'] });
  const view = buildNftablesView(plan, []);
  const planned = view.sets.map((s) => s.name);
  assert.equal(view.declaredSets.map((s) => s.name).slice(0, planned.length), planned);
  assert.equal([...view.declaredSets.map((s) => s.name)].sort(), ['admin', 'control-plane', 'etcd', 'load-balancers', 'nodes', 'pods'].flatMap((c) => [`${c}-v4`, `${c}-v6`]).sort());
  assert.equal([...view.obsoleteSets, ...planned].sort(), view.declaredSets.map((s) => s.name).sort());
  assert.ok(view.declaredSets.every((s) => /^\{ type ipv[46]_addr; flags interval; \}$/.test(s.spec)));
  // A chain only named to be deleted gets no hook: declaring it hooks nothing, even for the instant of the commit.
  assert.equal(view.declaredChains, [
    { name: 'input', spec: '{ type filter hook input priority filter; policy accept; }' },
    { name: 'before-dnat', spec: '{ }' },
  ]);
  assert.equal(view.obsoleteChains, ['before-dnat']);
});

test('restricted NodePorts get a prerouting chain at -150 that drops other sources before DNAT', async () => {
  const cluster = await parseCluster('loadBalancers: [10.0.0.5]\noverrides:\n  nodeport-services: {peers: [load-balancers]}\n', 'c.yaml');
  const plan = planRole({ catalogue: applyOverrides(catalogue, cluster.overrides, cluster.locate), cluster, roles: ['worker'] });
  const chain = buildNftablesView(plan, []).chains.find((c) => c.name === 'before-dnat')!;
  assert.is(chain.hook, 'prerouting');
  assert.is(chain.priority, '-150');
  assert.is(chain.policy, 'accept');
  const rules = chain.rules.map((r) => r.replace(/ comment .*$/, ''));
  assert.equal(rules, [
    'iif "lo" accept',
    'ct state established,related accept',
    'fib daddr type != local accept',
    'ip saddr @load-balancers-v4 tcp dport 30000-32767 accept',
    'ip6 saddr @load-balancers-v6 tcp dport 30000-32767 accept',
    'ip saddr @load-balancers-v4 udp dport 30000-32767 accept',
    'ip6 saddr @load-balancers-v6 udp dport 30000-32767 accept',
    'tcp dport 30000-32767 drop',
    'udp dport 30000-32767 drop',
  ]);
});

test('set elements: one a line, commas between, none after the last; empty sets have no elements line', async () => {
  const cluster = await parseCluster('nodes:\n  - {name: a, addresses: [10.0.0.1], roles: [control-plane]}\n  - {name: b, addresses: [10.0.0.2], roles: [control-plane]}\nadminNetworks: [10.9.0.0/24]\n', 'c.yaml');
  const plan = planRole({ catalogue, cluster, roles: ['worker'] });
  const view = buildNftablesView(plan, []);
  assert.equal(view.sets.find((s) => s.name === 'control-plane-v4')!.elementLines, ['10.0.0.1,', '10.0.0.2']);
  assert.equal(view.sets.find((s) => s.name === 'control-plane-v6')!.elementLines, []);
  assert.is(view.sets.find((s) => s.name === 'control-plane-v6')!.type, 'ipv6_addr');
});

test('several port ranges in one rule become an anonymous set', async () => {
  const cluster = await parseCluster('overrides:\n  kube-apiserver: {ports: [443, 6443]}\n', 'c.yaml');
  const plan = planRole({ catalogue: applyOverrides(catalogue, cluster.overrides, cluster.locate), cluster, roles: ['control-plane'] });
  const input = buildNftablesView(plan, []).chains[0]!;
  assert.ok(input.rules.some((r) => r.startsWith('tcp dport { 443, 6443 } accept')));
});

test('IP protocols by number after the port rules: a set per family, or meta nfproto for an IPv4-only rule from anyone', async () => {
  const withProfiles = await loadCatalogue({ profiles: { cni: { value: 'calico:ipip', where: '--cni', code: 'USAGE' }, addons: [{ value: 'keepalived', where: '--addon', code: 'USAGE' }] } });
  const rulesOf = (overrides: Parameters<typeof applyOverrides>[1]) => {
    const plan = planRole({ catalogue: applyOverrides(withProfiles, overrides, () => 'x'), cluster: EMBEDDED_DEFAULT_CLUSTER, roles: ['control-plane'] });
    return buildNftablesView(plan, []).chains[0]!.rules.filter((r) => r.includes('l4proto') && !r.includes('icmp') && !r.includes('fe80::')).map((r) => r.replace(/ comment .*/, ''));
  };
  assert.equal(rulesOf({}), [
    'ip saddr @nodes-v4 meta l4proto 4 accept',
    'ip saddr @control-plane-v4 meta l4proto 112 accept',
    'ip6 saddr @control-plane-v6 meta l4proto 112 accept',
  ]);
  assert.equal(rulesOf({ 'calico-ipip': { peers: ['any'] }, 'keepalived-vrrp': { peers: ['any'] } }), [
    'meta nfproto ipv4 meta l4proto 4 accept',
    'meta l4proto 112 accept',
  ]);
});

test('the link-local baseline follows the ICMPv6 rule: MLD and DHCPv6 replies always, VRRPv3 to ff02::12 with a VRRP rule', async () => {
  const withKeepalived = await loadCatalogue({ profiles: { addons: [{ value: 'keepalived', where: '--addon', code: 'USAGE' }] } });
  const lines = (roles: Role[]) => {
    const rules = buildNftablesView(planRole({ catalogue: withKeepalived, cluster: EMBEDDED_DEFAULT_CLUSTER, roles }), []).chains[0]!.rules;
    const icmpv6 = rules.findIndex((r) => r.includes('icmpv6 type { echo-request'));
    return rules.slice(icmpv6 + 1).filter((r) => r.includes('fe80::/10')).map((r) => r.replace(/ comment .*/, ''));
  };
  assert.equal(lines(['control-plane']), [
    'ip6 saddr fe80::/10 icmpv6 type { mld-listener-query, mld-listener-report, mld-listener-done, mld2-listener-report } accept',
    'ip6 saddr fe80::/10 udp sport 547 udp dport 546 accept',
    'ip6 saddr fe80::/10 ip6 daddr ff02::12 meta l4proto 112 accept',
  ]);
  assert.equal(lines(['worker']).length, 2);
});

test.run();
