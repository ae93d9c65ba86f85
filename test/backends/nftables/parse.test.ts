import { readdirSync, readFileSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { nftablesHostReader } from '../../../src/backends/nftables/host-read.js';
import { findMarkedItemsSparse, findNftItems, findNftItemsFast, scanNftItems, selectNftItemsFromDump } from '../../../src/backends/nftables/json-items.js';
import type { ReadDumpBytes } from '../../../src/host/saved-dump.js';
import { fullScanSelection, normalizeNftRule, parseNftItems, parseNftRuleset } from '../../../src/backends/nftables/parse.js';
import { nftablesBackend } from '../../../src/backends/nftables/index.js';
import { diffRulesets, type DiffResult } from '../../../src/diff/diff-rulesets.js';
import { isKubewallError } from '../../../src/errors.js';
import { planFromFiles } from '../../../src/load-plan.js';
import type { Role } from '../../../src/model.js';
import { FIXTURES_DIR, REPO_ROOT } from '../../helpers/paths.js';

// Fixtures are real `nft -j list ruleset` output, captured in namespaces by scripts/capture-fixtures.ts.
const fixture = (name: string) => readFileSync(`${FIXTURES_DIR}nftables/${name}.json`, 'utf8');

async function diffFixture(name: string, roles: Role[], cluster: string): Promise<{ diff: DiffResult; warnings: string[] }> {
  const plan = await planFromFiles({ roles, clusterFile: cluster, cwd: REPO_ROOT });
  const host = nftablesHostReader.parse(nftablesHostReader.fromSaved(fixture(name), name));
  const desired = nftablesHostReader.normalizePlan!(plan, nftablesBackend.capabilities);
  return { diff: diffRulesets(desired, host.ruleset), warnings: host.warnings.map((w) => w.code) };
}

test('empty ruleset: no kubewall table, nothing else', () => {
  const { ruleset, warnings } = parseNftRuleset(fixture('empty'), 'empty');
  assert.is(ruleset.present, false);
  assert.equal([ruleset.rules, ruleset.sets, ruleset.chains, warnings], [[], [], [], []]);
});

test('applied render reads back in sync (input chain only, and with before-dnat)', async () => {
  const worker = await diffFixture('example-worker-applied', ['worker'], 'examples/cluster.yaml');
  assert.ok(worker.diff.inSync, JSON.stringify(worker.diff, null, 1));
  assert.is(worker.diff.rules.unchanged, 24);
  assert.equal(worker.warnings, []);
  const nodeports = await diffFixture('nodeports-applied', ['control-plane', 'worker'], 'examples/nodeports-from-load-balancers.yaml');
  assert.ok(nodeports.diff.inSync, JSON.stringify(nodeports.diff, null, 1));
});

test('the parser reads what nft wrote: chain hooks, ICMPv6 names, prefixes, ranges', () => {
  const { ruleset } = parseNftRuleset(fixture('nodeports-applied'), 'f');
  assert.equal(ruleset.chains.map((c) => [c.name, c.policy, c.details]), [
    ['input', 'accept', { type: 'filter', hook: 'input', priority: '0' }],
    ['before-dnat', 'accept', { type: 'filter', hook: 'prerouting', priority: '-150' }],
  ]);
  const icmpv6 = ruleset.rules.find((r) => r.match.kind === 'icmp' && r.family === 'ipv6');
  assert.ok(icmpv6 && icmpv6.match.kind === 'icmp' && icmpv6.match.types.includes('neighbour-solicitation'));
  assert.equal(ruleset.sets.find((s) => s.name === 'admin-v6')?.elements, ['fd00:99::/64']);
  assert.ok(ruleset.rules.some((r) => r.match.kind === 'not-local' && r.chain === 'before-dnat'));
});

test('hand-made drift: exactly the deleted rule, the deleted and added elements and the appended rule', async () => {
  const { diff } = await diffFixture('example-worker-drift', ['worker'], 'examples/cluster.yaml');
  assert.equal(
    diff.rules.add.map((r) => `${r.chain} ${r.family} ${r.source} ${JSON.stringify(r.match)}`),
    ['input ipv4 control-plane-v4 {"kind":"ports","protocol":"tcp","ports":[{"from":10250,"to":10250}]}'],
  );
  assert.equal(
    diff.rules.remove.map((r) => `${r.family} ${r.source} ${JSON.stringify(r.match)}`),
    ['ipv4 null {"kind":"ports","protocol":"tcp","ports":[{"from":8080,"to":8080}]}', 'ipv6 null {"kind":"ports","protocol":"tcp","ports":[{"from":8080,"to":8080}]}'],
  );
  assert.equal(diff.sets.elements.map((e) => [e.set, e.add, e.remove]), [
    ['control-plane-v4', ['10.10.0.12'], []],
    ['load-balancers-v4', [], ['10.10.0.99']],
  ]);
  assert.equal([diff.chains.add, diff.chains.remove, diff.chains.change, diff.order], [[], [], [], []]);
});

test("kubewall's old ruleset (input policy drop, which dropped new connections on every reload) is a chain change, nothing else", async () => {
  const { diff } = await diffFixture('example-worker-policy-drop', ['worker'], 'examples/cluster.yaml');
  assert.not.ok(diff.inSync);
  assert.equal(diff.chains.change, [{ chain: 'input', property: 'policy', desired: 'accept', actual: 'drop' }]);
  assert.equal([diff.rules.add, diff.rules.remove, diff.order], [[], [], []]);
});

test('the explicit final drop deleted by hand (the input chain then accepts everything) is the rule to add, per family', async () => {
  const { diff } = await diffFixture('example-worker-no-final-drop', ['worker'], 'examples/cluster.yaml');
  assert.equal(diff.rules.add.map((r) => `${r.chain} ${r.family} ${r.match.kind} ${r.verdict}`), ['input ipv4 all drop', 'input ipv6 all drop']);
  assert.equal([diff.chains.change, diff.rules.remove], [[], []]);
});

test("kube-proxy's tables and chains (iptables-nft and nftables mode) and a CNI table are not kubewall's and raise no warning", async () => {
  const { diff, warnings } = await diffFixture('kube-proxy-coexist', ['worker'], 'examples/cluster.yaml');
  assert.ok(diff.inSync, JSON.stringify(diff, null, 1));
  assert.equal(warnings, []);
  const text = fixture('kube-proxy-coexist');
  assert.match(text, /KUBE-NODEPORTS/);
  assert.match(text, /"kube-proxy"/);
});

test('another table dropping on the input hook, firewalld and ufw are warned about, not diffed', async () => {
  const { diff, warnings } = await diffFixture('other-managers', ['worker'], 'examples/cluster.yaml');
  assert.ok(diff.inSync);
  assert.equal(warnings, ['shadowing-drop', 'firewalld-active', 'ufw-active']);
  const { warnings: full } = parseNftRuleset(fixture('other-managers'), 'f');
  assert.match(full[0]!.message, /table inet other-fw chain input \(hook input\) has policy drop and 1 drop\/reject rule/);
});

test('pretty-printed JSON (nft -j | jq) parses to the same rules', () => {
  const compact = parseNftRuleset(fixture('nodeports-applied'), 'f');
  const pretty = parseNftRuleset(JSON.stringify(JSON.parse(fixture('nodeports-applied')), null, 2), 'f');
  assert.equal(pretty, compact);
});

const BROKEN: [string, string, RegExp][] = [
  ['not JSON', 'Error: syntax error', /expected \{"nftables"/],
  ['truncated', fixture('example-worker-applied').slice(0, 3000), /truncated|unterminated|unbalanced/],
  ['trailing garbage', `${fixture('empty').trim()} x`, /unexpected text after/],
  ['an item that is not an object', '{"nftables": [{"metainfo": {}}, 42]}', /expected an object/],
  ['broken JSON inside one of ours', '{"nftables": [{"table": {"family": "inet", "name": "kubewall", "handle": 1,,}}]}', /cannot parse/],
  ['unexpected set element', '{"nftables": [{"set": {"family": "inet", "table": "kubewall", "name": "a-v4", "type": "ipv4_addr", "elem": [{"weird": 1}]}}]}', /unexpected element/],
];
for (const [name, text, pattern] of BROKEN) {
  test(`unparsable input is one HOST_READ error naming its origin: ${name}`, () => {
    try {
      parseNftRuleset(text, 'dump.json');
      assert.unreachable('should have thrown');
    } catch (error) {
      assert.ok(isKubewallError(error) && error.code === 'HOST_READ', String(error));
      assert.match((error as Error).message, /^dump\.json: cannot parse the nftables ruleset: /);
      assert.match((error as Error).message, pattern);
    }
  });
}

test('scanNftItems honours strings: braces, brackets and escaped quotes inside them', () => {
  const text = '{"nftables": [{"rule": {"comment": "a } ] \\" { [ \\\\"}}, {"table": {}}]}';
  assert.equal(scanNftItems(text).map((i) => i.kind), ['rule', 'table']);
});

test('large dumps take the fast item finder, which agrees with the careful scanner (nested dnat with a family included)', () => {
  const applied = JSON.parse(fixture('kube-proxy-coexist')).nftables as unknown[];
  const dnat = { rule: { family: 'inet', table: 'cni', chain: 'pre', handle: 1, expr: [{ dnat: { family: 'ip', addr: '10.0.0.1' } }] } };
  const filler = Array.from({ length: 6000 }, (_, i) => ({ rule: { family: 'ip', table: 'nat', chain: `KUBE-SEP-${i}`, handle: i, comment: '}, {"family": "ip"', expr: [{ counter: { packets: 0, bytes: 0 } }, { accept: null }] } }));
  const text = JSON.stringify({ nftables: [...applied, dnat, ...filler] }).replace(/":/g, '": ').replace(/,"/g, ', "').replace(/,\{/g, ', {');
  assert.ok(text.length > 1 << 20, 'big enough for the fast path');
  const fast = findNftItemsFast(text, text.indexOf('[') + 1);
  assert.ok(fast, 'the fast path applies to compact nft output');
  assert.equal(fast, scanNftItems(text));
  assert.equal(findNftItems(text), fast);
  assert.is(findNftItemsFast(JSON.stringify(JSON.parse(text), null, 1), 15), undefined, 'pretty-printed: the careful scanner instead');
  assert.is(fast.length, applied.length + 1 + filler.length);
  assert.ok(parseNftRuleset(text, 'big').ruleset.present);
});

test('the sparse finder for large dumps reads every fixture exactly as the full scan does', () => {
  const names = readdirSync(`${FIXTURES_DIR}nftables`).filter((name) => name.endsWith('.json') && name !== 'cases.json');
  assert.ok(names.length >= 5, 'fixtures found');
  for (const name of names) {
    const text = fixture(name.replace(/\.json$/, ''));
    const sparse = findMarkedItemsSparse(text);
    // A ruleset with no item at all gives the sparse finder nothing to anchor on: the full scan reads it.
    if (name === 'empty.json') {
      assert.is(sparse, undefined);
      continue;
    }
    assert.ok(sparse, name);
    assert.equal(parseNftItems(text, sparse), parseNftItems(text, fullScanSelection(text)), name);
  }
});

test('a large dump reads the same through the sparse finder as through the full scan; only the items that matter are located', () => {
  const applied = JSON.parse(fixture('other-managers')).nftables as unknown[];
  const filler = Array.from({ length: 6000 }, (_, i) => ({ rule: { family: 'ip', table: 'nat', chain: `KUBE-SEP-${i}`, handle: i, comment: 'hook" drop" reject"', expr: [{ dnat: { family: 'ip', addr: '10.0.0.1' } }, { drop: null }] } }));
  const items = [...applied.slice(0, 3), ...filler.slice(0, 3000), ...applied.slice(3), ...filler.slice(3000)];
  const text = JSON.stringify({ nftables: items }).replace(/":/g, '": ').replace(/,"/g, ', "').replace(/,\{/g, ', {');
  assert.ok(text.length > 1 << 20, 'big enough for the sparse path');
  const sparse = findMarkedItemsSparse(text);
  assert.ok(sparse, 'compact nft output takes the sparse path');
  assert.equal(parseNftItems(text, sparse), parseNftItems(text, fullScanSelection(text)));
  const pretty = JSON.stringify(JSON.parse(text), null, 1);
  assert.is(findMarkedItemsSparse(pretty), undefined, 'pretty-printed: the full scan instead');
  assert.equal(parseNftRuleset(text, 'big'), parseNftRuleset(pretty, 'big'));
  const warnings = parseNftRuleset(text, 'big').warnings.map((w) => w.code);
  assert.ok(warnings.includes('shadowing-drop') && warnings.includes('ufw-active') && warnings.includes('firewalld-active'), warnings.join());
  // The filler ends in drop and its comments hold the words, yet a drop outside a base chain is never located.
  assert.ok(sparse.items.length < applied.length + 3001, `${sparse.items.length} items located`);
});

/** A ReadDumpBytes over a dump held in memory, as a file would give it. */
function bytesReader(dump: Buffer): ReadDumpBytes {
  return (buffer, offset, length, position) => dump.copy(buffer, offset, position, Math.min(position + length, dump.length));
}

/** What parseNftRuleset makes of a dump read through a window of `window` bytes. */
function readThroughWindow(text: string, window: number) {
  const dump = Buffer.from(text);
  const selected = selectNftItemsFromDump(bytesReader(dump), dump.length, window);
  return selected === undefined ? undefined : parseNftRuleset(selected, 'd');
}

const compactNft = (value: unknown) => JSON.stringify(value).replace(/":/g, '": ').replace(/,"/g, ', "').replace(/,\{/g, ', {');

test('a dump read through a window parses as the whole dump does: every fixture, windows from 64 bytes to 1 MB', () => {
  const names = readdirSync(`${FIXTURES_DIR}nftables`).filter((name) => name.endsWith('.json') && name !== 'cases.json' && name !== 'empty.json');
  for (const name of names) {
    const text = fixture(name.replace(/\.json$/, ''));
    for (const window of [64, 300, 1024, 4096, 1 << 20]) assert.equal(readThroughWindow(text, window), parseNftRuleset(text, 'd'), `${name}, window ${window}`);
  }
  assert.is(readThroughWindow(fixture('empty'), 1024), undefined, 'no item to anchor on: read whole');
  assert.is(readThroughWindow(JSON.stringify(JSON.parse(fixture('other-managers')), null, 2), 1024), undefined, 'pretty-printed: read whole');
});

test('a large dump read through a window: the same warnings and rules, a shadowing chain\'s drops found before and after it, UTF-8 kept whole', () => {
  const applied = JSON.parse(fixture('other-managers')).nftables as unknown[];
  const filler = (from: number, count: number) =>
    Array.from({ length: count }, (_, i) => ({ rule: { family: 'ip', table: 'nat', chain: `KUBE-SEP-${from + i}`, handle: from + i, comment: `für Knoten ✓ hook" drop" ${'x'.repeat(i % 300)}`, expr: [{ dnat: { family: 'ip', addr: '10.0.0.1' } }, { drop: null }] } }));
  // A drop in another table's input base chain written before the chain itself.
  // Its names are not ASCII: the warning that names them shows they were decoded whole.
  const earlyDrop = { rule: { family: 'ip', table: 'frühe', chain: 'eingang✓', handle: 1, expr: [{ drop: null }] } };
  const earlyChain = [{ table: { family: 'ip', name: 'frühe', handle: 90 } }, { chain: { family: 'ip', table: 'frühe', name: 'eingang✓', handle: 2, type: 'filter', hook: 'input', prio: 0, policy: 'accept' } }];
  const items = [applied[0], earlyDrop, ...filler(0, 3000), ...applied.slice(1), ...filler(3000, 3000), ...earlyChain, ...filler(6000, 2000)];
  const text = compactNft({ nftables: items });
  assert.ok(text.length > 1 << 20);
  const whole = parseNftRuleset(text, 'd');
  assert.ok(whole.warnings.some((w) => /table ip frühe chain eingang✓ .* 1 drop\/reject rule/.test(w.message)), 'the early drop counts on the whole dump');
  for (const window of [4096, 65536, 1 << 20, 8 << 20]) assert.equal(readThroughWindow(text, window), whole, `window ${window}`);
  assert.is(readThroughWindow(text.slice(0, -4000), 65536), undefined, 'truncated: read whole instead, which refuses it');
});

test('a truncated large dump is refused, not half read', () => {
  const filler = Array.from({ length: 20000 }, (_, i) => ({ rule: { family: 'ip', table: 'nat', chain: `KUBE-SEP-${i}`, handle: i, expr: [{ accept: null }] } }));
  const text = JSON.stringify({ nftables: [{ table: { family: 'inet', name: 'kubewall', handle: 1 } }, ...filler] }).replace(/":/g, '": ').replace(/,"/g, ', "').replace(/,\{/g, ', {');
  assert.throws(() => parseNftRuleset(text.slice(0, -4000), 'cut.json'), /cut\.json: cannot parse the nftables ruleset/);
});

test('normalizeNftRule: counters are ignored, l4proto dependencies accepted, anything else becomes "other"', () => {
  const dport = { match: { op: '==', left: { payload: { protocol: 'tcp', field: 'dport' } }, right: { set: [22, { range: [80, 81] }] } } };
  const [v4, v6] = normalizeNftRule('input', [{ counter: { packets: 0, bytes: 0 } }, { match: { op: '==', left: { meta: { key: 'l4proto' } }, right: 'tcp' } }, dport, { accept: null }], 'h');
  assert.equal(v4?.match, { kind: 'ports', protocol: 'tcp', ports: [{ from: 22, to: 22 }, { from: 80, to: 81 }] });
  assert.equal([v4?.family, v6?.family], ['ipv4', 'ipv6']);
  const catchAll = normalizeNftRule('input', [{ counter: null }, { drop: null }], 'h');
  assert.equal(catchAll.map((r) => [r.family, r.match.kind, r.verdict]), [['ipv4', 'all', 'drop'], ['ipv6', 'all', 'drop']]);
  const logged = normalizeNftRule('input', [dport, { log: { prefix: 'x' } }, { accept: null }], 'h');
  assert.equal(logged.map((r) => r.match.kind), ['other']);
  const wrongDependency = normalizeNftRule('input', [{ match: { op: '==', left: { meta: { key: 'l4proto' } }, right: 'udp' } }, dport, { accept: null }], 'h');
  assert.equal(wrongDependency.map((r) => r.match.kind), ['other']);
  const literalSource = normalizeNftRule('input', [{ match: { op: '==', left: { payload: { protocol: 'ip', field: 'saddr' } }, right: '10.0.0.1' } }, dport, { accept: null }], 'h');
  assert.equal(literalSource.map((r) => r.match.kind), ['other']);
});

test('IP protocols read back by number, whatever name the host\'s /etc/protocols gives them', () => {
  const l4proto = (right: string | number) => ({ match: { op: '==', left: { meta: { key: 'l4proto' } }, right } });
  const saddr = { match: { op: '==', left: { payload: { protocol: 'ip', field: 'saddr' } }, right: '@nodes-v4' } };
  const rows = (expr: unknown[]) => normalizeNftRule('input', expr as never, 'h').map((r) => `${r.family} ${r.source} ${JSON.stringify(r.match)}`);
  assert.equal(rows([saddr, l4proto('ipencap'), { accept: null }]), ['ipv4 nodes-v4 {"kind":"ip-protocol","protocol":4}']);
  assert.equal(rows([saddr, l4proto('ipv4'), { accept: null }]), ['ipv4 nodes-v4 {"kind":"ip-protocol","protocol":4}'], 'iana-etc names 4 ipv4');
  assert.equal(rows([l4proto(112), { accept: null }]), ['ipv4 null {"kind":"ip-protocol","protocol":112}', 'ipv6 null {"kind":"ip-protocol","protocol":112}']);
  const ipv4Only = [{ match: { op: '==', left: { meta: { key: 'nfproto' } }, right: 'ipv4' } }, l4proto('esp'), { accept: null }];
  assert.equal(rows(ipv4Only), ['ipv4 null {"kind":"ip-protocol","protocol":50}']);
  // /etc/protocols' `ipip` is 94, not the IP-in-IP (4) kubewall writes: it stays unmapped.
  assert.equal(rows([l4proto('ipip'), { accept: null }]).map((r) => r.split(' ')[2]!.slice(0, 16)), ['{"kind":"other",']);
});

test('IP-protocol drift (real nft output): the deleted IPv6 VRRP rule is added back, the hand-made ESP accept removed', async () => {
  const { diff, warnings } = await diffFixture('ip-protocols-drift', ['control-plane'], 'test/golden/calico-ipip-keepalived-control-plane/inputs/cluster.yaml');
  // The fixture was captured before control-plane nodes got the NodePort entry (kube-proxy runs there too).
  const nodePorts = ['tcp', 'udp'].flatMap((p) => ['ipv4', 'ipv6'].map((f) => `input ${f} null {"kind":"ports","protocol":"${p}","ports":[{"from":30000,"to":32767}]}`));
  assert.equal(diff.rules.add.map((r) => `${r.chain} ${r.family} ${r.source} ${JSON.stringify(r.match)}`).filter((r) => !nodePorts.includes(r)), [
    'input ipv6 control-plane-v6 {"kind":"ip-protocol","protocol":112}',
  ]);
  assert.equal(diff.rules.remove.map((r) => `${r.chain} ${r.family} ${r.source} ${JSON.stringify(r.match)}`), [
    'input ipv4 null {"kind":"ip-protocol","protocol":50}',
    'input ipv6 null {"kind":"ip-protocol","protocol":50}',
  ]);
  assert.equal(diff.sets.elements, []);
  assert.equal(warnings, []);
  // IP-in-IP (ipencap 4 from nodes-v4) and IPv4 VRRP are in sync.
  const { ruleset } = parseNftRuleset(fixture('ip-protocols-drift'), 'f');
  assert.ok(ruleset.rules.some((r) => r.family === 'ipv4' && r.source === 'nodes-v4' && r.match.kind === 'ip-protocol' && r.match.protocol === 4));
});

test.run();
