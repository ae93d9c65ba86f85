import { readFile } from 'node:fs/promises';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { runCli, runCliInProcess } from '../../helpers/run-cli.js';
import { FIXTURES_DIR } from '../../helpers/paths.js';

const CP = ['--role', 'control-plane', '--cluster', 'test/conformance/cluster-traffic.yaml', '--addon', 'metrics-server,keepalived'];
const fixture = (name: string) => `${FIXTURES_DIR}audit/${name}`;

test('--from an nft dump: exit 2, a table of records, each with why and fix, most packets first', async () => {
  const result = await runCli(['audit', '--backend', 'nftables', ...CP, '--from', fixture('nft-audit.json')]);
  assert.is(result.exitCode, 2, result.stderr);
  const lines = result.stdout.split('\n');
  assert.match(lines[0]!, /^5 would-be drops recorded \(nftables, role control-plane, source: .*nft-audit\.json\):$/);
  assert.match(lines[2]!, /^SOURCE\s+PROTOCOL\s+PORT\s+PACKETS$/);
  assert.match(lines[3]!, /^10\.244\.1\.5\s+udp\s+53\s+7$/);
  assert.match(result.stdout, /fix: --addon node-local-dns/);
  assert.match(result.stdout, /10\.1\.2\.3\s+tcp\s+30080\s+3\n\s+why: 30080\/tcp is catalogue entry nodeport-services .*\n\s+fix: add 10\.1\.2\.3 to loadBalancers/);
  assert.match(result.stdout, /10\.40\.0\.21\s+esp\s+-\s+2/);
  assert.match(result.stdout, /fix: a catalogue fragment with an entry for 9100\/tcp/);
});

test('--format json: versioned, every record with kind, entry and fix; stdin works as --from -', async () => {
  const input = await readFile(fixture('ipset-audit.txt'), 'utf8');
  const result = await runCliInProcess(['audit', '-b', 'iptables', ...CP, '--from', '-', '--format', 'json'], { input });
  assert.is(result.exitCode, 2, result.stderr);
  const report = JSON.parse(result.stdout) as { apiVersion: string; source: string; wouldBeDropped: number; records: { source: string; port: number | null; kind: string; fix: string }[] };
  assert.is(report.apiVersion, 'kubewall.dev/audit/v1');
  assert.is(report.source, 'stdin');
  assert.is(report.wouldBeDropped, 6);
  const lb = report.records.find((r) => r.source === '10.1.2.3')!;
  assert.equal([lb.port, lb.kind, lb.fix], [30080, 'peer-missing', 'add 10.1.2.3 to loadBalancers']);
});

test('nothing recorded: exit 0 and says so; no audit sets: exit 0 with a note', async () => {
  const empty = await runCliInProcess(['audit', '-b', 'nftables', ...CP, '--from', fixture('nft-audit-empty.json')]);
  assert.is(empty.exitCode, 0, empty.stderr);
  assert.match(empty.stdout, /^nothing recorded: the enforcing render \(nftables, role control-plane\) would have dropped nothing/);
  const none = await runCliInProcess(['audit', '-b', 'nftables', ...CP, '--from', '-'], { input: '{"nftables": [{"metainfo": {}}]}' });
  assert.is(none.exitCode, 0, none.stderr);
  assert.match(none.stdout, /note: stdin: no set inet kubewall audit-v4 \(is the audit render, kubewall render --audit, applied\?\)/);
});

test('errors exit 1: no backend, a backend without audit mode, an unreadable dump, a bad option', async () => {
  const noBackend = await runCliInProcess(['audit', ...CP, '--from', fixture('nft-audit.json')]);
  assert.is(noBackend.exitCode, 1);
  assert.match(noBackend.stderr, /--backend is required \(expected nftables, iptables\)/);
  const ufw = await runCliInProcess(['audit', '-b', 'ufw', ...CP, '--from', fixture('nft-audit.json')]);
  assert.is(ufw.exitCode, 1);
  assert.match(ufw.stderr, /audit mode is not available for the ufw backend: /);
  const missing = await runCliInProcess(['audit', '-b', 'nftables', ...CP, '--from', 'no/such/file']);
  assert.is(missing.exitCode, 1);
  assert.match(missing.stderr, /--from no\/such\/file: cannot read the saved dump: no such file/);
  const garbage = await runCliInProcess(['audit', '-b', 'nftables', ...CP, '--from', '-'], { input: 'hello\n' });
  assert.is(garbage.exitCode, 1);
  assert.match(garbage.stderr, /stdin: line 1 is not JSON/);
  const badFormat = await runCliInProcess(['audit', '-b', 'nftables', ...CP, '--from', fixture('nft-audit.json'), '--format', 'yaml']);
  assert.is(badFormat.exitCode, 1);
  const unknown = await runCliInProcess(['audit', '-b', 'nftables', ...CP, '--frmo', 'x']);
  assert.is(unknown.exitCode, 1);
  assert.match(unknown.stderr, /run kubewall audit --help for usage/);
});

test('terminal output is escaped: a hostile source address in a dump cannot drive the terminal', async () => {
  const input = JSON.stringify({ nftables: [{ set: { family: 'inet', table: 'kubewall', name: 'audit-v4', elem: [{ elem: { val: { concat: ['10.1.2.3\u001b[2J', 'tcp', 9100] } } }] } }] });
  const result = await runCliInProcess(['audit', '-b', 'nftables', ...CP, '--from', '-'], { input });
  assert.is(result.exitCode, 2, result.stderr);
  assert.not.match(result.stdout, /\u001b/);
  const json = await runCliInProcess(['audit', '-b', 'nftables', ...CP, '--from', '-', '-f', 'json'], { input });
  assert.not.match(json.stdout, /\u001b/);
});

test('--help teaches the rollout and names the commands it runs', async () => {
  const result = await runCliInProcess(['audit', '--help']);
  assert.is(result.exitCode, 0);
  assert.match(result.stdout, /render -b nftables -r worker -c cluster\.yaml --audit/);
  assert.match(result.stdout, /nft -j list set inet kubewall audit-v4/);
  assert.match(result.stdout, /ipset save KUBEWALL-AUDIT-V4/);
  assert.match(result.stdout, /Exit codes: 0 nothing recorded, 2 something would have been dropped, 1 error/);
});

test('render --audit: the first comment line says it does not enforce; ufw and firewalld refuse, saying why', async () => {
  const nft = await runCli(['render', '-b', 'nftables', ...CP, '--audit']);
  assert.is(nft.exitCode, 0, nft.stderr);
  assert.match(nft.stdout.split('\n')[1]!, /^# AUDIT MODE: this ruleset does NOT enforce\./);
  const ipt = await runCliInProcess(['render', '-b', 'iptables', '--iptables-variant', 'nft', ...CP, '--audit']);
  assert.is(ipt.exitCode, 0, ipt.stderr);
  assert.match(ipt.stdout.split('\n')[1]!, /^# AUDIT MODE: this ruleset does NOT enforce\./);
  for (const backend of ['firewalld', 'ufw']) {
    const refused = await runCliInProcess(['render', '-b', backend, ...CP, '--audit']);
    assert.is(refused.exitCode, 1, backend);
    assert.match(refused.stderr, new RegExp(`audit mode is not available for the ${backend} backend: .+`));
    const payload = await runCliInProcess(['render', '-b', backend, ...CP, '--audit', '--format', 'script']);
    assert.is(payload.exitCode, 1, `${backend} --format script`);
  }
  const plain = await runCliInProcess(['render', '-b', 'nftables', ...CP]);
  assert.not.match(plain.stdout, /AUDIT|audit-v4/);
});

test.run();
