import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { diffRulesets, type DiffResult } from '../../src/diff/diff-rulesets.js';
import { normalizePlan } from '../../src/diff/normalize-plan.js';
import type { NormalizedChain, NormalizedRule, NormalizedRuleset, NormalizedSet } from '../../src/diff/types.js';
import { planFromFiles } from '../../src/load-plan.js';
import { REPO_ROOT } from '../helpers/paths.js';

const ports = (protocol: 'tcp' | 'udp', ...ranges: [number, number][]): NormalizedRule['match'] => ({
  kind: 'ports',
  protocol,
  ports: ranges.map(([from, to]) => ({ from, to })),
});

function rule(partial: Partial<NormalizedRule> & Pick<NormalizedRule, 'match'>): NormalizedRule {
  return { chain: 'input', family: 'ipv4', source: null, verdict: 'accept', ...partial };
}

const BASE: NormalizedRuleset = {
  scope: 'test',
  present: true,
  chains: [{ name: 'input', policy: 'drop', details: { hook: 'input' } }],
  rules: [
    rule({ match: { kind: 'established' } }),
    rule({ match: { kind: 'invalid' }, verdict: 'drop' }),
    rule({ match: ports('tcp', [22, 22]), source: 'admin-v4', origin: 'ssh' }),
    rule({ match: ports('tcp', [2379, 2380]), source: 'cp-v4', origin: 'etcd' }),
    rule({ match: ports('tcp', [10250, 10250]), source: 'cp-v4', origin: 'kubelet' }),
    rule({ match: { kind: 'icmp', types: ['destination-unreachable', 'echo-request'] } }),
  ],
  sets: [
    { name: 'admin-v4', family: 'ipv4', elements: ['10.99.0.0/24'] },
    { name: 'cp-v4', family: 'ipv4', elements: ['10.10.0.11', '10.10.0.12', '10.10.0.13'] },
  ],
};

interface Editable {
  rules: NormalizedRule[];
  sets: NormalizedSet[];
  chains: NormalizedChain[];
}

function change(edit: (r: Editable) => void): NormalizedRuleset {
  const copy = { ...BASE, rules: [...BASE.rules], sets: [...BASE.sets], chains: [...BASE.chains] };
  edit(copy);
  return copy;
}

interface Case {
  readonly name: string;
  readonly actual: NormalizedRuleset;
  readonly check: (d: DiffResult) => void;
}

const texts = (rules: readonly NormalizedRule[]) => rules.map((r) => `${r.chain} ${r.family} ${JSON.stringify(r.match)} ${r.source ?? '*'} ${r.verdict}`);

const CASES: Case[] = [
  { name: 'identical', actual: BASE, check: (d) => (assert.ok(d.inSync), assert.is(d.rules.unchanged, 6), assert.is(d.sets.unchangedElements, 4)) },
  {
    name: 'order within one verdict run does not matter',
    actual: change((r) => (r.rules = [r.rules[0]!, r.rules[1]!, r.rules[5]!, r.rules[4]!, r.rules[3]!, r.rules[2]!])),
    check: (d) => assert.ok(d.inSync),
  },
  {
    name: 'the same ports split or merged differently are the same rule',
    actual: change((r) => {
      r.rules.splice(3, 2, rule({ match: ports('tcp', [10250, 10250], [2379, 2379]), source: 'cp-v4' }), rule({ match: ports('tcp', [2380, 2380]), source: 'cp-v4' }));
    }),
    check: (d) => assert.ok(d.inSync, JSON.stringify(d.rules)),
  },
  {
    name: 'a missing rule is named with its ports and origin',
    actual: change((r) => r.rules.splice(4, 1)),
    check: (d) => {
      assert.not.ok(d.inSync);
      assert.equal(texts(d.rules.add), [`input ipv4 ${JSON.stringify(ports('tcp', [10250, 10250]))} cp-v4 accept`]);
      assert.is(d.rules.add[0]!.origin, 'kubelet');
      assert.equal(d.rules.remove, []);
      assert.is(d.rules.unchanged, 5);
    },
  },
  {
    name: 'one port of a range missing: only that port',
    actual: change((r) => (r.rules[3] = rule({ match: ports('tcp', [2379, 2379]), source: 'cp-v4' }))),
    check: (d) => assert.equal(texts(d.rules.add), [`input ipv4 ${JSON.stringify(ports('tcp', [2380, 2380]))} cp-v4 accept`]),
  },
  {
    name: 'a wider range on the host: the extra ports are to remove',
    actual: change((r) => (r.rules[2] = rule({ match: ports('tcp', [22, 23]), source: 'admin-v4', origin: 'handle 9' }))),
    check: (d) => {
      assert.equal(d.rules.add, []);
      assert.equal(texts(d.rules.remove), [`input ipv4 ${JSON.stringify(ports('tcp', [23, 23]))} admin-v4 accept`]);
      assert.is(d.rules.remove[0]!.origin, 'handle 9');
    },
  },
  {
    name: 'protocol, family, source and verdict each make a different rule',
    actual: change((r) => {
      r.rules[2] = rule({ match: ports('udp', [22, 22]), source: 'admin-v4' });
      r.rules[3] = rule({ match: ports('tcp', [2379, 2380]), source: 'cp-v4', family: 'ipv6' });
      r.rules[4] = rule({ match: ports('tcp', [10250, 10250]), source: null });
    }),
    check: (d) => {
      assert.is(d.rules.add.length, 3);
      assert.is(d.rules.remove.length, 3);
    },
  },
  {
    name: 'an ICMP type missing and one extra',
    actual: change((r) => (r.rules[5] = rule({ match: { kind: 'icmp', types: ['echo-request', 'time-exceeded'] } }))),
    check: (d) => {
      assert.equal(d.rules.add.map((r) => r.match), [{ kind: 'icmp', types: ['destination-unreachable'] }]);
      assert.equal(d.rules.remove.map((r) => r.match), [{ kind: 'icmp', types: ['time-exceeded'] }]);
    },
  },
  {
    name: 'an unknown rule on the host is to remove',
    actual: change((r) => r.rules.push({ chain: 'input', family: null, source: null, match: { kind: 'other', text: 'tcp dport 8080 log' }, verdict: 'accept' })),
    check: (d) => (assert.is(d.rules.remove.length, 1), assert.is(d.rules.remove[0]!.match.kind, 'other')),
  },
  {
    name: 'an accept moved before the invalid drop is an order change',
    actual: change((r) => (r.rules = [r.rules[0]!, r.rules[2]!, r.rules[1]!, ...r.rules.slice(3)])),
    check: (d) => {
      assert.is(d.order.length, 1);
      assert.is(d.order[0]!.rule.match.kind, 'invalid');
      assert.equal(d.rules.add, []);
      assert.not.ok(d.inSync);
    },
  },
  {
    name: 'set elements: one missing, one extra, equivalent writing is equal',
    actual: change((r) => {
      r.sets[0] = { name: 'admin-v4', family: 'ipv4', elements: ['10.99.0.0-10.99.0.255'] };
      r.sets[1] = { name: 'cp-v4', family: 'ipv4', elements: ['10.10.0.11', '10.10.0.13', '10.10.0.99'] };
    }),
    check: (d) => {
      assert.equal(d.sets.elements, [{ set: 'cp-v4', family: 'ipv4', add: ['10.10.0.12'], remove: ['10.10.0.99'], unchanged: 2 }]);
      assert.is(d.sets.unchangedElements, 3);
    },
  },
  {
    name: 'a CIDR narrowed on the host: only the missing part',
    actual: change((r) => (r.sets[0] = { name: 'admin-v4', family: 'ipv4', elements: ['10.99.0.0/25'] })),
    check: (d) => assert.equal(d.sets.elements[0]?.add, ['10.99.0.128/25']),
  },
  {
    name: 'a missing set, an extra set',
    actual: change((r) => (r.sets = [r.sets[1]!, { name: 'stray', family: 'ipv6', elements: [] }])),
    check: (d) => (assert.equal(d.sets.add.map((s) => s.name), ['admin-v4']), assert.equal(d.sets.remove.map((s) => s.name), ['stray'])),
  },
  {
    name: 'chain policy and details',
    actual: change((r) => (r.chains = [{ name: 'input', policy: 'accept', details: { hook: 'prerouting' } }, { name: 'extra', policy: 'accept', details: {} }])),
    check: (d) => {
      assert.equal(d.chains.change.map((c) => `${c.property}:${c.actual}->${c.desired}`), ['policy:accept->drop', 'hook:prerouting->input']);
      assert.equal(d.chains.remove.map((c) => c.name), ['extra']);
    },
  },
  {
    name: 'nothing on the host: everything to add',
    actual: { scope: 'test', present: false, chains: [], rules: [], sets: [] },
    check: (d) => {
      assert.not.ok(d.present);
      assert.is(d.rules.add.length, 6);
      assert.is(d.sets.add.length, 2);
      assert.is(d.chains.add.length, 1);
    },
  },
];

for (const c of CASES) test(`diffRulesets: ${c.name}`, () => c.check(diffRulesets(BASE, c.actual)));

test('diffRulesets is symmetric in what it reports: adds one way are removes the other', () => {
  for (const c of CASES) {
    const there = diffRulesets(BASE, c.actual);
    const back = diffRulesets(c.actual, BASE);
    assert.is(there.rules.add.length === 0, back.rules.remove.length === 0, c.name);
    assert.is(there.rules.remove.length === 0, back.rules.add.length === 0, c.name);
  }
});

test('normalizePlan: every plan rule appears per family, address peers by their set, before-dnat only where the backend can', async () => {
  const plan = await planFromFiles({ roles: ['control-plane', 'worker'], clusterFile: 'examples/nodeports-from-load-balancers.yaml', cwd: REPO_ROOT });
  const withDnat = normalizePlan(plan, { filterBeforeDnat: true });
  const without = normalizePlan(plan, { filterBeforeDnat: false });
  assert.equal(withDnat.chains.map((c) => c.name), ['input', 'before-dnat']);
  assert.equal(without.chains.map((c) => c.name), ['input']);
  assert.ok(without.rules.every((r) => r.chain === 'input'));
  const kubelet = withDnat.rules.filter((r) => r.origin === 'kubelet/tcp/control-plane');
  assert.equal(kubelet.map((r) => `${r.family}:${r.source}`), ['ipv4:control-plane-v4', 'ipv6:control-plane-v6']);
  const drops = withDnat.rules.filter((r) => r.chain === 'before-dnat' && r.verdict === 'drop');
  assert.equal(drops.map((r) => `${r.family}:${JSON.stringify(r.match)}`).sort(), [
    // The restricted part (30000-30999) and the rest of the range the API server allocates from (closed: nodePortRange).
    'ipv4:{"kind":"ports","protocol":"tcp","ports":[{"from":30000,"to":30999}]}',
    'ipv4:{"kind":"ports","protocol":"tcp","ports":[{"from":31000,"to":32767}]}',
    'ipv4:{"kind":"ports","protocol":"udp","ports":[{"from":30000,"to":30999}]}',
    'ipv4:{"kind":"ports","protocol":"udp","ports":[{"from":31000,"to":32767}]}',
    'ipv6:{"kind":"ports","protocol":"tcp","ports":[{"from":30000,"to":30999}]}',
    'ipv6:{"kind":"ports","protocol":"tcp","ports":[{"from":31000,"to":32767}]}',
    'ipv6:{"kind":"ports","protocol":"udp","ports":[{"from":30000,"to":30999}]}',
    'ipv6:{"kind":"ports","protocol":"udp","ports":[{"from":31000,"to":32767}]}',
  ]);
  assert.ok(diffRulesets(withDnat, withDnat).inSync);
});

test.run();
