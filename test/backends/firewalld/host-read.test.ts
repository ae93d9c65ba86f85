import { readFileSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { firewalldHostReader, FIREWALLD_SAVE_RUNTIME, FIREWALLD_SAVE_XML, formatFirewalldDump } from '../../../src/backends/firewalld/host-read.js';
import { parseFirewallCmdInfo, splitSections, tokenizeRichRule } from '../../../src/backends/firewalld/host-state.js';
import { firewalldBackend } from '../../../src/backends/firewalld/index.js';
import { normalizeRichRule } from '../../../src/backends/firewalld/normalize-host.js';
import { parseIpsetXml, parseZoneXml } from '../../../src/backends/firewalld/parse-xml.js';
import { diffRulesets, type DiffResult } from '../../../src/diff/diff-rulesets.js';
import { formatRule } from '../../../src/diff/format-diff.js';
import { isKubewallError } from '../../../src/errors.js';
import { guardReadOnly } from '../../../src/host/read-only.js';
import type { CommandOutcome, CommandRunner, HostState } from '../../../src/host/types.js';
import { planFromFiles } from '../../../src/load-plan.js';
import { FIXTURES_DIR, GOLDEN_DIR, REPO_ROOT } from '../../helpers/paths.js';
import { runCli } from '../../helpers/run-cli.js';

// Fixtures are real firewalld 1.3.3 output, captured in namespaces by
// scripts/capture-firewalld-fixtures.ts: NAME.txt is what diff gathers live
// (runtime and --permanent), NAME.xml.txt the permanent XML files.
const fixture = (name: string) => readFileSync(`${FIXTURES_DIR}firewalld/${name}`, 'utf8');
const plan = await planFromFiles({ roles: ['worker'], clusterFile: 'examples/cluster.yaml', cwd: REPO_ROOT });
const desired = firewalldHostReader.normalizePlan!(plan, firewalldBackend.capabilities);

async function readFixture(name: string): Promise<HostState> {
  return firewalldHostReader.parse(firewalldHostReader.fromSaved(fixture(name), name));
}

async function diffFixture(name: string): Promise<{ diff: DiffResult; warnings: string[]; host: HostState }> {
  const host = await readFixture(name);
  return { diff: diffRulesets(desired, host.ruleset), warnings: host.warnings.map((w) => w.code), host };
}

const lines = (diff: DiffResult) => ({
  add: diff.rules.add.map((r) => `${r.family ?? '-'} ${formatRule(r)}`),
  remove: diff.rules.remove.map((r) => `${r.family ?? '-'} ${formatRule(r)}`),
  elements: diff.sets.elements.map((e) => `${e.set} +${e.add.join(',')} -${e.remove.join(',')}`),
});

test('rich rules: firewall-cmd text splits into elements; NOT, nested limit and unsplittable text', () => {
  const rule = tokenizeRichRule('rule family="ipv4" source ipset="kubewall-admin-v4" port port="22" protocol="tcp" accept');
  assert.equal(rule.attributes, { family: 'ipv4' });
  assert.equal(
    rule.elements.map((e) => [e.name, e.attributes, e.inverted]),
    [
      ['source', { ipset: 'kubewall-admin-v4' }, false],
      ['port', { port: '22', protocol: 'tcp' }, false],
      ['accept', {}, false],
    ],
  );
  const inverted = tokenizeRichRule('rule priority="-5" family="ipv6" source NOT ipset="x" protocol value="esp" log prefix="p" level="info" limit value="1/m" drop');
  assert.equal(inverted.elements.map((e) => `${e.name}${e.inverted ? '!' : ''}`), ['source!', 'protocol', 'log', 'limit', 'drop']);
  // firewall-cmd prints a quote inside a log prefix unescaped: the rule cannot be split, and is reported as it is.
  const quoted = tokenizeRichRule('rule family="ipv4" source address="10.0.0.0/8" log prefix="a b"c" level="info" accept');
  assert.equal(quoted.elements, []);
  assert.equal(normalizeRichRule(quoted).map((r) => r.match), [{ kind: 'other', text: quoted.text }]);
});

test('rich rules: only kubewall\'s shapes map; addresses, NOT, services, log, priority and reject stay "other"', () => {
  const kinds = (text: string) => normalizeRichRule(tokenizeRichRule(text)).map((r) => `${r.family ?? '-'}:${r.match.kind}:${r.source ?? '*'}:${r.verdict}`);
  assert.equal(kinds('rule family="ipv4" source ipset="kubewall-admin-v4" port port="22" protocol="tcp" accept'), ['ipv4:ports:kubewall-admin-v4:accept']);
  assert.equal(kinds('rule icmp-type name="echo-request" accept'), ['ipv4:icmp:*:accept', 'ipv6:icmp:*:accept']);
  assert.equal(kinds('rule family="ipv6" port port="8080-8081" protocol="udp" drop'), ['ipv6:ports:*:drop']);
  // IP protocols: kubewall writes the number; a name typed by hand maps through /etc/protocols' names.
  const protocols = (text: string) => normalizeRichRule(tokenizeRichRule(text)).map((r) => [r.family, r.match, r.source]);
  assert.equal(protocols('rule family="ipv4" source ipset="kubewall-nodes-v4" protocol value="4" accept'), [['ipv4', { kind: 'ip-protocol', protocol: 4 }, 'kubewall-nodes-v4']]);
  assert.equal(protocols('rule protocol value="112" accept'), [
    ['ipv4', { kind: 'ip-protocol', protocol: 112 }, null],
    ['ipv6', { kind: 'ip-protocol', protocol: 112 }, null],
  ]);
  assert.equal(protocols('rule family="ipv6" protocol value="esp" accept'), [['ipv6', { kind: 'ip-protocol', protocol: 50 }, null]]);
  for (const text of [
    'rule family="ipv4" source address="10.0.0.0/8" port port="22" protocol="tcp" accept',
    'rule family="ipv4" source NOT ipset="kubewall-admin-v4" port port="22" protocol="tcp" accept',
    'rule family="ipv4" service name="ssh" accept',
    'rule family="ipv4" port port="22" protocol="tcp" log prefix="x" accept',
    'rule priority="-1" family="ipv4" port port="22" protocol="tcp" accept',
    'rule family="ipv4" port port="22" protocol="sctp" accept',
    'rule family="ipv4" protocol value="ipip" accept',
    'rule family="ipv4" protocol value="300" accept',
    'rule family="ipv4" protocol value="esp" log accept',
  ]) {
    assert.equal(kinds(text), ['-:other:*:accept'], text);
  }
  assert.equal(kinds('rule family="ipv4" port port="23" protocol="tcp" reject'), ['-:other:*:drop']);
});

test('firewall-cmd info blocks: zones (tab-indented rich rules, forward-ports), ipsets; garbage is refused', () => {
  const text = fixture('example-worker-applied.txt');
  const runtime = splitSections(text).find((s) => s.name === 'firewall-cmd --list-all-zones')!;
  const { zones, ipsets } = parseFirewallCmdInfo(runtime.text);
  assert.equal(zones.map((z) => z.name), ['block', 'dmz', 'drop', 'external', 'home', 'internal', 'kubewall', 'public', 'trusted', 'work']);
  const kubewall = zones.find((z) => z.name === 'kubewall')!;
  assert.equal([kubewall.target, kubewall.sources, kubewall.forward, kubewall.richRules.length], ['DROP', ['0.0.0.0/0', '::/0'], true, 19]);
  assert.equal(ipsets, []);
  const forwarded = parseFirewallCmdInfo('public\n  target: default\n  forward-ports: \n\tport=80:proto=tcp:toport=8080:toaddr=\n  rich rules: \n');
  assert.equal(forwarded.zones[0]!.forwardPorts, ['port=80:proto=tcp:toport=8080:toaddr=']);
  const ipset = parseFirewallCmdInfo('kubewall-admin-v6\n  type: hash:net\n  options: family=inet6 maxelem=65536\n  entries: fd00:99::/64 fd00:98::1\n');
  assert.equal(ipset.ipsets, [{ name: 'kubewall-admin-v6', type: 'hash:net', options: { family: 'inet6', maxelem: '65536' }, entries: ['fd00:99::/64', 'fd00:98::1'] }]);
  assert.throws(() => parseFirewallCmdInfo('Error: INVALID_ZONE: x\n'), /line 1/);
});

test('XML files read like firewall-cmd output: the golden render and what firewalld wrote back', () => {
  const golden = readFileSync(`${GOLDEN_DIR}example-worker/firewalld/zones/kubewall.xml`, 'utf8');
  const zone = parseZoneXml(golden, 'kubewall');
  const xmlSection = splitSections(fixture('example-worker-applied.xml.txt')).find((s) => s.name.endsWith('zones/kubewall.xml'))!;
  const written = parseZoneXml(xmlSection.text, 'kubewall');
  const texts = (z: typeof zone) => z.richRules.map((r) => r.text).sort();
  assert.equal(texts(zone), texts(written));
  assert.ok(texts(zone).includes('rule family="ipv4" source ipset="kubewall-admin-v4" port port="22" protocol="tcp" accept'));
  assert.equal([zone.target, zone.sources, zone.forward, zone.ports], ['DROP', ['0.0.0.0/0', '::/0'], true, [{ port: '30000-32767', protocol: 'tcp' }, { port: '30000-32767', protocol: 'udp' }]]);
  const ipset = parseIpsetXml(readFileSync(`${GOLDEN_DIR}example-worker/firewalld/ipsets/kubewall-control-plane-v6.xml`, 'utf8'), 'kubewall-control-plane-v6');
  assert.equal([ipset.type, ipset.options, ipset.entries.length], ['hash:net', { family: 'inet6' }, 3]);
  assert.throws(() => parseZoneXml('<zone><port port="1"</zone>', 'x'), /line 1/);
  assert.throws(() => parseZoneXml('<ipset type="hash:net"/>', 'x'), /expected one <zone>/);
});

test('desired side: firewalld does loopback, established and invalid itself; sets carry the ipset names', () => {
  assert.not.ok(desired.rules.some((r) => ['loopback', 'established', 'invalid'].includes(r.match.kind)));
  assert.equal(desired.sets.map((s) => s.name).sort(), ['kubewall-admin-v4', 'kubewall-admin-v6', 'kubewall-control-plane-v4', 'kubewall-control-plane-v6', 'kubewall-load-balancers-v4', 'kubewall-load-balancers-v6', 'kubewall-nodes-v4', 'kubewall-nodes-v6']);
  assert.ok(desired.rules.every((r) => r.source === null || r.source.startsWith('kubewall-') || r.source === 'fe80::/10'));
  assert.equal(desired.chains.map((c) => [c.name, c.policy, c.details['target'], c.details['sources']]), [['input', 'drop', 'DROP', '0.0.0.0/0 ::/0']]);
});

test('applied, live dump and XML files alike: in sync, nothing else reported', async () => {
  for (const name of ['example-worker-applied.txt', 'example-worker-applied.xml.txt']) {
    const { diff, warnings } = await diffFixture(name);
    assert.ok(diff.inSync, `${name}: ${JSON.stringify(lines(diff))}`);
    assert.is(diff.rules.unchanged, 16);
    assert.is(diff.sets.unchangedElements, 20);
    assert.equal(warnings, name.endsWith('.xml.txt') ? ['firewalld-permanent-only'] : [], name);
  }
});

test('firewalld without kubewall: everything to add; its default zones are not kubewall\'s', async () => {
  const { diff, warnings, host } = await diffFixture('empty.txt');
  assert.is(host.ruleset.present, false);
  assert.equal([host.ruleset.rules, host.ruleset.sets, warnings], [[], [], []]);
  assert.is(diff.chains.add.length, 1);
  assert.is(diff.sets.add.length, 8);
  // No XML file at all (default zones live in /usr/lib/firewalld): one clear error.
  try {
    await readFixture('empty.xml.txt');
    assert.unreachable('should have thrown');
  } catch (error) {
    assert.ok(isKubewallError(error) && error.code === 'HOST_READ', String(error));
    assert.match((error as Error).message, /no firewalld configuration in it/);
  }
});

test('drift made by hand names exactly those changes, from the live dump and from the XML files', async () => {
  for (const name of ['example-worker-drift.txt', 'example-worker-drift.xml.txt']) {
    const { diff } = await diffFixture(name);
    assert.equal(lines(diff), {
      add: ['ipv4 tcp dport 10250 saddr @kubewall-control-plane-v4 accept'],
      remove: [
        '- rule family="ipv4" source address="192.0.2.0/24" service name="ssh" log prefix="kw" level="info" reject drop',
        'ipv4 tcp dport 8080 accept',
        'ipv6 tcp dport 8080 accept',
      ],
      elements: ['kubewall-control-plane-v4 +10.10.0.12 -', 'kubewall-load-balancers-v4 + -10.10.0.99'],
    }, name);
    assert.equal(diff.chains.change, []);
  }
});

test('runtime-only changes are compared, and the permanent configuration\'s difference is warned about', async () => {
  const { diff, host } = await diffFixture('runtime-only-changes.txt');
  assert.equal(lines(diff), { add: [], remove: ['- service http accept'], elements: ['kubewall-admin-v4 + -192.0.2.1'] });
  assert.equal(host.warnings.map((w) => w.code), ['firewalld-permanent-differs']);
  assert.match(host.warnings[0]!.message, /only in runtime: service http; kubewall-admin-v4 entry 192\.0\.2\.1$/);
  // The XML files are the permanent configuration: they do not show runtime-only changes.
  assert.ok((await diffFixture('runtime-only-changes.xml.txt')).diff.inSync);
});

test('another zone binding sources before kubewall\'s is warned about; one after it is not', async () => {
  for (const name of ['other-zones.txt', 'other-zones.xml.txt']) {
    const { diff, host } = await diffFixture(name);
    assert.ok(diff.inSync, name);
    const zoneWarnings = host.warnings.filter((w) => w.code === 'zone-takes-traffic-first');
    assert.is(zoneWarnings.length, 1, name);
    assert.match(zoneWarnings[0]!.message, /^zone home \(target default\) binds sources 192\.168\.0\.0\/16 and is checked before zone kubewall/);
  }
});

test("kube-proxy's iptables rules and a CNI table are not kubewall's; the reload's iptables flush is warned about", async () => {
  const { diff, host } = await diffFixture('kube-proxy-coexist.txt');
  assert.ok(diff.inSync, JSON.stringify(lines(diff)));
  assert.equal(host.warnings.map((w) => w.code), ['firewalld-flushes-iptables']);
  assert.match(host.warnings[0]!.message, /^firewalld 1\.3\.3 flushes every iptables table on reload \(before 2\.0\), and iptables-save shows 3 rules/);
});

test('--from: sections it does not know are refused by name; a bare --list-all-zones output is read as runtime', async () => {
  try {
    firewalldHostReader.fromSaved('==> /etc/passwd <==\nroot:x:0:0\n', 'node-1.txt');
    assert.unreachable('should have thrown');
  } catch (error) {
    assert.ok(isKubewallError(error) && error.code === 'HOST_READ');
    assert.match((error as Error).message, /^node-1\.txt: \/etc\/passwd: not a section kubewall diff reads/);
  }
  const runtime = splitSections(fixture('example-worker-applied.txt')).find((s) => s.name === 'firewall-cmd --list-all-zones')!.text;
  const host = await firewalldHostReader.parse(firewalldHostReader.fromSaved(runtime, 'zones.txt'));
  assert.ok(host.ruleset.present);
  assert.is(host.ruleset.sets.length, 0);
  try {
    await firewalldHostReader.parse(firewalldHostReader.fromSaved('==> /etc/firewalld/zones/kubewall.xml <==\n<zone><rule>\n', 'bad.txt'));
    assert.unreachable('should have thrown');
  } catch (error) {
    assert.ok(isKubewallError(error) && error.code === 'HOST_READ');
    assert.match((error as Error).message, /^bad\.txt: \/etc\/firewalld\/zones\/kubewall\.xml: cannot parse firewalld's configuration: /);
  }
});

/** A fake host answering from a captured dump: firewall-cmd's sections by their command. */
function fixtureRunner(name: string, override: (command: string, args: readonly string[]) => CommandOutcome | undefined = () => undefined): CommandRunner & { calls: string[] } {
  const sections = new Map(splitSections(fixture(name)).map((s) => [s.name, s.text]));
  const calls: string[] = [];
  return {
    calls,
    async run(command, args) {
      const line = [command, ...args].join(' ');
      calls.push(line);
      const answer = override(command, args);
      if (answer) return answer;
      if (line === 'firewall-cmd --get-ipsets' || line === 'firewall-cmd --permanent --get-ipsets') {
        const prefix = line.includes('--permanent') ? 'firewall-cmd --permanent --info-ipset=' : 'firewall-cmd --info-ipset=';
        const names = [...sections.keys()].filter((k) => k.startsWith(prefix)).map((k) => k.slice(prefix.length));
        return { status: 'exited', exitCode: 0, stdout: `${names.join(' ')}\n`, stderr: '' };
      }
      const text = sections.get(line) ?? sections.get(args[0] ?? '');
      return text === undefined ? { status: 'not-found' } : { status: 'exited', exitCode: 0, stdout: text, stderr: '' };
    },
  };
}

test('gather reads what the fixture was captured from; its dump reads back the same', async () => {
  const runner = fixtureRunner('runtime-only-changes.txt');
  const raw = await firewalldHostReader.gather(guardReadOnly(runner));
  assert.ok(runner.calls.includes('firewall-cmd --permanent --info-ipset=kubewall-admin-v4'));
  const live = await firewalldHostReader.parse(raw);
  const saved = await firewalldHostReader.parse(firewalldHostReader.fromSaved(formatFirewalldDump(raw), 'saved'));
  assert.equal(saved.ruleset, live.ruleset);
  assert.equal(saved.warnings, live.warnings);
  assert.equal(live.warnings.map((w) => w.code), ['firewalld-permanent-differs']);
});

const exited = (exitCode: number, stdout: string, stderr = ''): CommandOutcome => ({ status: 'exited', exitCode, stdout, stderr });
const FAILURES: [string, CommandOutcome, RegExp][] = [
  ['firewall-cmd not installed', { status: 'not-found' }, /^firewall-cmd --list-all-zones: firewall-cmd is not installed \(install firewalld, or diff against a saved dump with --from FILE\)$/],
  ['daemon not running', exited(252, 'FirewallD is not running\n'), /^firewall-cmd --list-all-zones: firewalld is not running \(FirewallD is not running\), so nothing in zone kubewall is enforced; start firewalld, or diff its permanent configuration: tail -v -n \+1 /],
  ['no system bus', exited(36, '', 'Error: DBUS_ERROR: Failed to connect to socket /run/dbus/system_bus_socket: No such file or directory\n'), /firewalld is not running \(Error: DBUS_ERROR/],
  ['not root', exited(11, '', 'Authorization failed.\n    Make sure polkit agent is running or run the application as superuser.\nError: NOT_AUTHORIZED\n'), /^firewall-cmd --list-all-zones: permission denied, reading the ruleset needs root/],
  ['timeout', { status: 'timed-out', timeoutMs: 10_000 }, /^firewall-cmd --list-all-zones: no answer within 10 s/],
  ['unparsable output', exited(0, 'Traceback (most recent call last):\n  File "x", line 1\n'), /^firewall-cmd --list-all-zones: cannot parse firewalld's configuration: line 1/],
];
for (const [name, outcome, pattern] of FAILURES) {
  test(`gather: ${name} is one clear HOST_READ error`, async () => {
    const runner = fixtureRunner('example-worker-applied.txt', (command, args) => (command === 'firewall-cmd' && args[0] === '--list-all-zones' ? outcome : undefined));
    try {
      await firewalldHostReader.parse(await firewalldHostReader.gather(guardReadOnly(runner)));
      assert.unreachable('should have thrown');
    } catch (error) {
      assert.ok(isKubewallError(error) && error.code === 'HOST_READ', String(error));
      assert.match((error as Error).message, pattern);
      assert.not.match((error as Error).message, /\n/);
    }
  });
}

test('gather: a later firewall-cmd that times out is an error too; missing optional probes are skipped', async () => {
  const slow = fixtureRunner('example-worker-applied.txt', (_command, args) => (args.join(' ') === '--permanent --info-ipset=kubewall-admin-v6' ? { status: 'timed-out', timeoutMs: 10_000 } : undefined));
  try {
    await firewalldHostReader.gather(guardReadOnly(slow));
    assert.unreachable('should have thrown');
  } catch (error) {
    assert.match((error as Error).message, /^firewall-cmd --permanent --info-ipset=kubewall-admin-v6: no answer within 10 s/);
  }
  const bare = fixtureRunner('example-worker-applied.txt', (command, args) => (command !== 'firewall-cmd' || args[0] === '--version' ? { status: 'not-found' } : undefined));
  const host = await firewalldHostReader.parse(await firewalldHostReader.gather(guardReadOnly(bare)));
  assert.equal(host.warnings, []);
});

test('the CLI: --from FILE and stdin give exit 0 in sync, 2 with changes, 1 for a dump it cannot read', async () => {
  const args = ['diff', '--backend', 'firewalld', '--role', 'worker', '--cluster', 'examples/cluster.yaml'];
  const synced = await runCli([...args, '--from', `${FIXTURES_DIR}firewalld/example-worker-applied.txt`]);
  assert.is(synced.exitCode, 0, synced.stderr);
  assert.match(synced.stdout, /^kubewall diff: backend firewalld, roles worker, firewalld zone kubewall and ipsets kubewall-\* on /);
  const drift = await runCli([...args, '--from', '-', '--format', 'json'], { input: fixture('example-worker-drift.xml.txt') });
  assert.is(drift.exitCode, 2, drift.stderr);
  const json = JSON.parse(drift.stdout) as { source: string; scope: string; summary: Record<string, number> };
  assert.equal([json.source, json.summary['rulesToAdd'], json.summary['rulesToRemove'], json.summary['setElementsToAdd'], json.summary['setElementsToRemove']], ['stdin', 1, 3, 1, 1]);
  const bad = await runCli([...args, '--from', '-'], { input: '==> /etc/shadow <==\nroot:*:1::::::\n' });
  assert.is(bad.exitCode, 1);
  assert.is(bad.stdout, '');
  assert.match(bad.stderr, /stdin: \/etc\/shadow: not a section kubewall diff reads/);
});

test('the one-liners the docs and --help show are the ones the live test runs', () => {
  const docs = readFileSync(`${REPO_ROOT}docs/diff.md`, 'utf8');
  assert.ok(docs.includes(`sudo ${FIREWALLD_SAVE_XML} > node-1.firewalld`));
  assert.ok(docs.includes(`sudo sh -c '${FIREWALLD_SAVE_RUNTIME}' > node-1.firewalld`));
  assert.ok(readFileSync(`${REPO_ROOT}src/cli/commands/diff.ts`, 'utf8').includes(`sudo ${FIREWALLD_SAVE_XML} > node-1.firewalld`));
});

test.run();
