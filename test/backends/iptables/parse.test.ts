import { readFileSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { iptablesHostReader, normalizeIptablesPlan } from '../../../src/backends/iptables/host-read.js';
import { iptablesBackend } from '../../../src/backends/iptables/index.js';
import { parseIpsetSave, splitIptablesDump, tableSections } from '../../../src/backends/iptables/parse.js';
import { readIptablesSave } from '../../../src/host/read-iptables-save.js';
import { omitUnread } from '../../../src/diff/diff-host.js';
import { diffRulesets, type DiffResult } from '../../../src/diff/diff-rulesets.js';
import { formatRule } from '../../../src/diff/format-diff.js';
import { isKubewallError } from '../../../src/errors.js';
import { planFromFiles } from '../../../src/load-plan.js';
import type { Role } from '../../../src/model.js';
import { generateKubeProxySave } from '../../../bench/diff.js';
import { FIXTURES_DIR, REPO_ROOT } from '../../helpers/paths.js';

// Fixtures are real `iptables-nft-save; ip6tables-nft-save; ipset save` output, captured in namespaces by scripts/capture-fixtures.ts.
const fixture = (name: string) => readFileSync(`${FIXTURES_DIR}iptables/${name}.dump`, 'utf8');

const WORKER = { roles: ['worker'] as Role[], cluster: 'examples/cluster.yaml' };
const NODEPORTS = { roles: ['control-plane', 'worker'] as Role[], cluster: 'examples/nodeports-from-load-balancers.yaml' };

async function diffText(text: string, origin: string, { roles, cluster }: { roles: Role[]; cluster: string }): Promise<{ diff: DiffResult; warnings: string[] }> {
  const plan = await planFromFiles({ roles, clusterFile: cluster, cwd: REPO_ROOT });
  const host = await iptablesHostReader.parse(iptablesHostReader.fromSaved(text, origin));
  const desired = omitUnread(normalizeIptablesPlan(plan, iptablesBackend.capabilities), host.unread);
  return { diff: diffRulesets(desired, host.ruleset), warnings: host.warnings.map((w) => w.code) };
}

const diffFixture = (name: string, setup = WORKER) => diffText(fixture(name), name, setup);

test('applied renders read back in sync, with and without a before-dnat chain', async () => {
  const worker = await diffFixture('example-worker-applied');
  assert.ok(worker.diff.inSync, JSON.stringify(worker.diff, null, 1));
  assert.is(worker.diff.rules.unchanged, 24);
  assert.is(worker.diff.sets.unchangedElements, 20);
  assert.equal(worker.warnings, []);
  const nodeports = await diffFixture('nodeports-applied', NODEPORTS);
  assert.ok(nodeports.diff.inSync, JSON.stringify(nodeports.diff, null, 1));
  assert.equal(nodeports.warnings, []);
});

test('an empty host (the one-liner printed nothing): every chain, rule and set to add', async () => {
  const { diff, warnings } = await diffFixture('empty');
  assert.is(diff.present, false);
  assert.equal(diff.chains.add.map((c) => c.name), ['input', 'before-dnat']);
  assert.is(diff.rules.add.length, 24);
  assert.is(diff.sets.add.length, 8);
  assert.equal(warnings, []);
});

test('drift made by hand: exactly the deleted rule, the appended rule and the two set elements', async () => {
  const { diff } = await diffFixture('example-worker-drift');
  assert.not.ok(diff.inSync);
  assert.equal(diff.rules.add.map((r) => `${r.family} ${formatRule(r)}`), ['ipv4 tcp dport 10250 saddr @KUBEWALL-CONTROL-PLANE-V4 accept']);
  assert.equal(diff.rules.remove.map((r) => `${r.family} ${formatRule(r)} (${r.origin})`), ['ipv4 tcp dport 8080 accept (ipv4 KUBEWALL-INPUT rule 14)']);
  assert.equal(diff.sets.elements.map((e) => [e.set, e.add, e.remove]), [
    ['KUBEWALL-CONTROL-PLANE-V4', ['10.10.0.12'], []],
    ['KUBEWALL-LOAD-BALANCERS-V4', [], ['10.10.0.99']],
  ]);
  assert.equal(diff.order, []);
  assert.equal(diff.chains.change, []);
});

test('a missing jump into kubewall is a chain change of that family only', async () => {
  const { diff } = await diffFixture('missing-jump');
  assert.equal(diff.chains.change, [{ chain: 'input', property: 'jump from INPUT (ipv6)', desired: 'present', actual: 'missing' }]);
  assert.equal([diff.rules.add, diff.rules.remove], [[], []]);
});

test("kube-proxy's iptables chains are not kubewall's: in sync, no warning", async () => {
  const text = fixture('kube-proxy-coexist');
  assert.match(text, /KUBE-NODEPORTS/);
  const { diff, warnings } = await diffFixture('kube-proxy-coexist');
  assert.ok(diff.inSync, JSON.stringify(diff, null, 1));
  assert.equal(warnings, []);
});

test('what defeats kubewall outside its chains: a DROP and an ACCEPT ahead of the jump, ufw, INPUT policy DROP', async () => {
  const plan = await planFromFiles({ roles: ['worker'], clusterFile: 'examples/cluster.yaml', cwd: REPO_ROOT });
  const host = await iptablesHostReader.parse(iptablesHostReader.fromSaved(fixture('other-managers'), 'other-managers'));
  assert.ok(diffRulesets(normalizeIptablesPlan(plan, iptablesBackend.capabilities), host.ruleset).inSync);
  assert.equal(host.warnings.map((w) => w.code), ['shadowing-drop', 'accept-before-kubewall', 'ufw-active', 'shadowing-drop']);
  assert.match(host.warnings[0]!.message, /^ipv4 filter INPUT has 1 DROP\/REJECT rule before the jump to KUBEWALL-INPUT/);
  assert.match(host.warnings[3]!.message, /policy DROP/);
});

test('a plain iptables-save (no ip6tables-save, no ipset save): IPv4 rules compared, the rest left out and said so', async () => {
  const v4 = fixture('example-worker-drift').split('# Generated by ip6tables')[0]!;
  const { diff, warnings } = await diffText(v4, 'v4.save', WORKER);
  assert.equal(warnings, ['not-compared', 'not-compared']);
  assert.equal(diff.rules.add.map((r) => r.family), ['ipv4']);
  assert.equal(diff.sets, { add: [], remove: [], elements: [], unchangedElements: 0 });
  assert.equal(diff.chains.change, []);
});

test('splitIptablesDump: parts in any order, told apart by their headers or by a repeated table', () => {
  const text = fixture('example-worker-applied');
  const ipset = text.slice(text.indexOf('create '));
  const reordered = ipset + text.slice(0, text.indexOf('create '));
  for (const dump of [text, reordered]) {
    assert.equal(splitIptablesDump(dump, 'f').map((d) => d.kind).sort(), ['ip6tables-save', 'ipset-save', 'iptables-save']);
  }
  const headless = text.replace(/^# .*\n/gm, '');
  const parts = splitIptablesDump(headless, 'f');
  assert.equal(parts.map((d) => d.kind), ['ipset-save', 'iptables-save', 'ip6tables-save']);
  assert.match(parts[2]!.text, /ipv6-icmp/);
  assert.not.match(parts[1]!.text, /ipv6-icmp/);
});

test('splitIptablesDump: in each of the six orders of the three dumps, with headers or without, each part comes back exactly', () => {
  const text = fixture('example-worker-applied');
  const v6At = text.indexOf('# Generated by ip6tables');
  const ipsetAt = text.indexOf('create ');
  assert.ok(v6At > 0 && ipsetAt > v6At, 'the fixture is iptables-save; ip6tables-save; ipset save');
  const dumps = { 'iptables-save': text.slice(0, v6At), 'ip6tables-save': text.slice(v6At, ipsetAt), 'ipset-save': text.slice(ipsetAt) };
  const orders = [[0, 1, 2], [0, 2, 1], [1, 0, 2], [1, 2, 0], [2, 0, 1], [2, 1, 0]];
  const kinds = Object.keys(dumps) as (keyof typeof dumps)[];
  for (const headers of [true, false]) {
    const part = (kind: keyof typeof dumps) => (headers || kind === 'ipset-save' ? dumps[kind] : dumps[kind].replace(/^# .*\n/gm, ''));
    for (const order of orders) {
      // Without headers, IPv6 is told apart only by coming second: keep IPv4 before it.
      if (!headers && order.indexOf(0) > order.indexOf(1)) continue;
      const split = splitIptablesDump(order.map((k) => part(kinds[k]!)).join(''), 'f');
      const got = Object.fromEntries(split.map((d) => [d.kind, d.text]));
      for (const kind of kinds) assert.is(got[kind], part(kind), `${kind}, order ${order.join('')}, headers ${headers}`);
    }
  }
});

test('ipset save: only KUBEWALL-* sets, family from the create line; nomatch and other types are warned about', () => {
  const { sets, warnings } = parseIpsetSave(
    ['create KUBE-X hash:ip family inet', 'add KUBE-X 10.0.0.1', 'create KUBEWALL-A-V6 hash:net family inet6 hashsize 1024', 'add KUBEWALL-A-V6 fd00::/64', 'add KUBEWALL-A-V6 fd00:1::/64 nomatch', 'create KUBEWALL-B-V4 hash:ip family inet', ''].join('\n'),
    'f',
  );
  assert.equal(sets, [
    { name: 'KUBEWALL-A-V6', family: 'ipv6', elements: ['fd00::/64'] },
    { name: 'KUBEWALL-B-V4', family: 'ipv4', elements: [] },
  ]);
  assert.equal(warnings.map((w) => w.code), ['foreign-object', 'foreign-object']);
});

const UNPARSABLE: [string, string, RegExp][] = [
  ['not iptables-save', 'hello world\n', /cannot parse the iptables ruleset: f \(iptables-save\): line 1: not iptables-save output/],
  ['truncated', '*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -j ACCEPT\n', /has no COMMIT \(truncated output\?\)/],
  ['bad ipset element', '*filter\n:INPUT ACCEPT [0:0]\nCOMMIT\ncreate KUBEWALL-A-V4 hash:net family inet\nadd KUBEWALL-A-V4 fd00::1\n', /line 2: not an ipv4 address/],
];
for (const [name, text, pattern] of UNPARSABLE) {
  test(`unparsable dump (${name}): one HOST_READ error naming where`, async () => {
    try {
      await iptablesHostReader.parse(iptablesHostReader.fromSaved(text, 'f'));
      assert.unreachable('should have thrown');
    } catch (error) {
      assert.ok(isKubewallError(error) && error.code === 'HOST_READ', String(error));
      assert.match((error as Error).message, pattern);
    }
  });
}

test("a kube-proxy-sized dump: kube-proxy's nat table is skipped, kubewall's chains are read", async () => {
  // kube-proxy's nat table (2,000 endpoints) ahead of the captured tables, as one iptables-save would print it.
  const text = `${generateKubeProxySave(200, 10).split('*filter')[0]!.replace(/^#.*\n/, '')}${fixture('example-worker-applied')}`;
  assert.ok(text.split('\n').length > 8000);
  const { diff } = await diffText(text, 'big', WORKER);
  assert.ok(diff.inSync, JSON.stringify(diff, null, 1));
});

test('--from reads only the filter and mangle tables: the nat table is neither parsed nor checked, and line numbers still count its lines', async () => {
  const nat = ['*nat', ':PREROUTING ACCEPT [0:0]', 'this line would not parse', '-A NOWHERE -j ACCEPT', 'COMMIT'];
  // Unreadable lines in a skipped table: the diff still reads kubewall's chains.
  const { diff } = await diffText(`${nat.join('\n')}\n${fixture('example-worker-applied')}`, 'nat-first', WORKER);
  assert.ok(diff.inSync, JSON.stringify(diff, null, 1));
  // A bad line in filter after the skipped nat table is reported at its line in the whole text.
  const text = [...nat, '*filter', ':INPUT ACCEPT [0:0]', 'hello world', 'COMMIT', ''].join('\n');
  try {
    await iptablesHostReader.parse(iptablesHostReader.fromSaved(text, 'f'));
    assert.unreachable('should have thrown');
  } catch (error) {
    assert.ok(isKubewallError(error) && error.code === 'HOST_READ', String(error));
    assert.match((error as Error).message, /f \(iptables-save\): line 8: not iptables-save output: "hello world"/);
  }
  // And in a table that is read, the same line still fails.
  assert.throws(() => readIptablesSave(['*filter', ':INPUT ACCEPT [0:0]', 'this line would not parse', 'COMMIT', ''].join('\n'), { chainPrefix: 'KUBEWALL-', origin: 'o' }), /line 3: not iptables-save output/);
});

test('tableSections marks the tables parseIptablesDumps reads and keeps every byte, in order', () => {
  const text = ['# Generated by iptables-nft-save', '*raw', 'COMMIT', '*mangle', 'COMMIT', '*nat', ':A - [0:0]', 'COMMIT', '*filter', 'COMMIT', '# Completed', ''].join('\n');
  const sections = tableSections(text);
  assert.is(sections.map((s) => s.text).join(''), text);
  assert.equal(
    sections.map((s) => [s.text.split('\n')[0], s.read]),
    [['# Generated by iptables-nft-save', true], ['*raw', false], ['*mangle', true], ['*nat', false], ['*filter', true]],
  );
  assert.equal(tableSections('no tables here\n'), [{ text: 'no tables here\n', read: true }]);
});

test.run();
