import { readFileSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { normalizeUfwPlan, ufwHostReader } from '../../../src/backends/ufw/host-read.js';
import { decodeTupleComment } from '../../../src/backends/ufw/parse.js';
import { omitUnread } from '../../../src/diff/diff-host.js';
import { diffRulesets, type DiffResult } from '../../../src/diff/diff-rulesets.js';
import { formatRule } from '../../../src/diff/format-diff.js';
import { isKubewallError } from '../../../src/errors.js';
import { planFromFiles } from '../../../src/load-plan.js';
import { IPTABLES_DUMP_COMMAND, UFW_DUMP_COMMAND } from '../../../scripts/capture-fixtures.js';
import { FIXTURES_DIR, REPO_ROOT } from '../../helpers/paths.js';

// Fixtures are real `ufw status verbose; cat /etc/default/ufw /etc/ufw/user.rules /etc/ufw/user6.rules`
// output, captured in namespaces (with a private /etc/ufw) by scripts/capture-fixtures.ts.
const fixture = (name: string) => readFileSync(`${FIXTURES_DIR}ufw/${name}.dump`, 'utf8');

async function diffText(text: string): Promise<{ diff: DiffResult; warnings: string[] }> {
  const plan = await planFromFiles({ roles: ['worker'], clusterFile: 'examples/cluster.yaml', cwd: REPO_ROOT });
  const host = await ufwHostReader.parse(ufwHostReader.fromSaved(text, 'f'));
  return { diff: diffRulesets(omitUnread(normalizeUfwPlan(plan), host.unread), host.ruleset), warnings: host.warnings.map((w) => w.code) };
}

test('the applied render reads back in sync: one rule per peer address, any-address rules per family', async () => {
  const { diff, warnings } = await diffText(fixture('example-worker-applied'));
  assert.ok(diff.inSync, JSON.stringify(diff, null, 1));
  assert.is(diff.rules.unchanged, 24);
  assert.equal(warnings, []);
});

test('fresh ufw: inactive, no rules: every rule to add, and ufw to enable', async () => {
  const { diff } = await diffText(fixture('fresh'));
  assert.is(diff.present, false);
  assert.equal(diff.chains.change, [{ chain: 'input', property: 'ufw', desired: 'active', actual: 'inactive' }]);
  assert.is(diff.rules.add.length, 24);
});

test('ufw disabled after apply: only that', async () => {
  const { diff } = await diffText(fixture('disabled'));
  assert.equal(diff.chains.change, [{ chain: 'input', property: 'ufw', desired: 'active', actual: 'inactive' }]);
  assert.equal([diff.rules.add, diff.rules.remove], [[], []]);
});

test('drift by hand: exactly the deleted and the changed address rules; the untagged rule only warns', async () => {
  const { diff, warnings } = await diffText(fixture('example-worker-drift'));
  assert.equal(diff.rules.add.map((r) => `${r.family} ${formatRule(r)}`), ['ipv4 tcp dport 10250 saddr 10.10.0.12 accept', 'ipv4 tcp dport 10250 saddr 10.10.0.13 accept']);
  assert.equal(diff.rules.remove.map((r) => `${r.family} ${formatRule(r)}`), ['ipv4 tcp dport 10250 saddr 10.10.0.99 accept']);
  assert.equal(warnings, ['untagged-ufw-rules']);
});

test('only the user rules files: rules compared, status and policy left out and said so', async () => {
  const text = fixture('example-worker-applied');
  const rulesOnly = text.slice(text.indexOf('*filter'));
  const { diff, warnings } = await diffText(rulesOnly);
  assert.ok(diff.inSync, JSON.stringify(diff, null, 1));
  assert.equal(warnings, ['not-compared', 'not-compared']);
  const v4Only = rulesOnly.slice(0, rulesOnly.indexOf('*filter', 1));
  const v4 = await diffText(v4Only);
  assert.ok(v4.diff.inSync);
  assert.is(v4.diff.rules.unchanged, 12);
});

test('a peer class holding 0.0.0.0/0 is a rule without a source, as ufw writes it', () => {
  const text = [
    '*filter',
    ':ufw-user-input - [0:0]',
    '### RULES ###',
    `### tuple ### allow tcp 6443 0.0.0.0/0 any 0.0.0.0/0 in comment=${Buffer.from('kubewall api/tcp/everyone port 6443 from 0.0.0.0/0').toString('hex')}`,
    '-A ufw-user-input -p tcp --dport 6443 -j ACCEPT',
    '### END RULES ###',
    'COMMIT',
  ].join('\n');
  const plan = { sets: [{ name: 'everyone-v4', peer: 'everyone', family: 'ipv4', elements: ['0.0.0.0/0'] }] };
  const rule = { id: 'api/tcp/everyone', entry: 'api', protocol: 'tcp', ports: [{ from: 6443, to: 6443 }], peer: 'everyone', filterBeforeDnat: false, comment: 'x' };
  const desired = normalizeUfwPlan({ ...(plan as object), rules: [rule], ipProtocolRules: [], baseline: { linkLocal: [] } } as unknown as Parameters<typeof normalizeUfwPlan>[0]);
  assert.equal(desired.rules.map((r) => [r.family, r.source]), [['ipv4', null]]);
  const host = ufwHostReader.parse(ufwHostReader.fromSaved(text, 'f')) as Awaited<ReturnType<typeof ufwHostReader.parse>>;
  assert.ok(diffRulesets(omitUnread(desired, host.unread), host.ruleset).rules.add.length === 0);
});

test('the tag is read from the hex comment of the tuple line', () => {
  assert.is(decodeTupleComment('### tuple ### allow tcp 22 0.0.0.0/0 any 10.0.0.0/8 in comment=6b75626577616c6c2078'), 'kubewall x');
  assert.is(decodeTupleComment('### tuple ### allow tcp 22 0.0.0.0/0 any 10.0.0.0/8 in'), null);
});

const UNPARSABLE: [string, string, RegExp][] = [
  ['no user rules', 'Status: active\n', /no ufw user rules found/],
  ['a line that is not a rule', '*filter\n:ufw-user-input - [0:0]\n### RULES ###\nnonsense\nCOMMIT\n', /line 4: not a ufw user rules line/],
  ['truncated', '*filter\n:ufw-user-input - [0:0]\n', /has no COMMIT/],
];
for (const [name, text, pattern] of UNPARSABLE) {
  test(`unparsable dump (${name}): one HOST_READ error`, async () => {
    try {
      await ufwHostReader.parse(ufwHostReader.fromSaved(text, 'f'));
      assert.unreachable('should have thrown');
    } catch (error) {
      assert.ok(isKubewallError(error) && error.code === 'HOST_READ', String(error));
      assert.match((error as Error).message, pattern);
    }
  });
}

test('the one-liners the docs, README and --help show are the ones the fixtures were captured with (iptables: the variant named)', () => {
  const iptables = `sudo sh -c '${IPTABLES_DUMP_COMMAND.replace(/-nft-save/g, '-save')}' > node-1.iptables`;
  const ufw = `sudo sh -c '${UFW_DUMP_COMMAND}' > node-1.ufw`;
  for (const file of ['docs/diff.md', 'docs/commands.md', 'src/cli/commands/diff.ts']) {
    const text = readFileSync(`${REPO_ROOT}${file}`, 'utf8');
    assert.ok(text.includes(iptables), `${file}: ${iptables}`);
    assert.ok(text.includes(ufw), `${file}: ${ufw}`);
  }
});

test.run();
