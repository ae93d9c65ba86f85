import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { runCli, runCliInProcess } from '../../helpers/run-cli.js';
import { FIXTURES_DIR } from '../../helpers/paths.js';

const fixture = (name: string) => `${FIXTURES_DIR}detect/${name}.json`;

test('detect --from FILE: the table, exit 0, and the cluster-file block', async () => {
  const result = await runCli(['detect', '--from', fixture('flannel-ipvs-nodelocaldns')]);
  assert.is(result.exitCode, 0, result.stderr);
  assert.match(result.stdout, /^kubewall detect: .*flannel-ipvs-nodelocaldns\.json \(read-only: nothing on the host was changed\)/);
  assert.match(result.stdout, /\nkube-proxy +ipvs +device kube-ipvs0 \(veth\), addresses 10\.96\.0\.1, 10\.96\.0\.10: IPVS binds Service addresses to it\n/);
  assert.match(result.stdout, /\ncni +flannel:vxlan +device flannel\.1 \(vxlan port 8472\)/);
  assert.match(result.stdout, /\n {2}9100 +tcp +0\.0\.0\.0 +node_exporter\n/);
  assert.match(result.stdout, /For the cluster file:\n {2}kubeProxy: ipvs\n {2}nodeLocalDNS: 169\.254\.25\.10\n {2}profiles:\n {4}cni: flannel:vxlan\n {4}addons: \[node-local-dns\]$/);
});

test('detect --format json: versioned, and the same twice (deterministic)', async () => {
  const a = await runCliInProcess(['detect', '--from', fixture('canal-nftables-rke2'), '--format', 'json']);
  const b = await runCliInProcess(['detect', '--from', fixture('canal-nftables-rke2'), '--format', 'json']);
  assert.is(a.exitCode, 0, a.stderr);
  assert.is(a.stdout, b.stdout);
  const report = JSON.parse(a.stdout);
  assert.is(report.apiVersion, 'kubewall.dev/detect/v1');
  assert.equal(report.clusterFile, { kubeProxy: 'nftables', profiles: { distribution: 'rke2', cni: 'canal:vxlan', addons: ['metallb'] }, overrides: { 'canal-vxlan': { ports: 4789 } } });
});

// runCli's execa drops the final newline.
test('detect --format cluster: only the block', async () => {
  const result = await runCliInProcess(['detect', '--from', fixture('calico-iptables-keepalived'), '--format', 'cluster']);
  assert.is(result.exitCode, 0, result.stderr);
  assert.is(result.stdout, 'kubeProxy: iptables\nprofiles:\n  cni: calico:bgp+vxlan\n  addons: [keepalived]');
});

test('detect reads a capture from stdin; --role and --cni change the plan compared', async () => {
  const { readFileSync } = await import('node:fs');
  const result = await runCliInProcess(['detect', '--from', '-', '--role', 'control-plane', '--cni', 'calico', '--format', 'json'], { input: readFileSync(fixture('flannel-ipvs-nodelocaldns'), 'utf8') });
  assert.is(result.exitCode, 0, result.stderr);
  const report = JSON.parse(result.stdout);
  assert.equal(report.roles.roles, ['control-plane']);
  assert.is(report.source, 'stdin');
  assert.ok(report.listeners.unplanned.some((u: { port: number }) => u.port === 8472));
});

test('detect: usage errors and unreadable captures exit non-zero with one line', async () => {
  const cases: [string[], number, RegExp][] = [
    [['detect', '--format', 'yaml', '--from', fixture('bare')], 2, /--format: unknown value "yaml" \(expected table, json, cluster\)/],
    [['detect', '--capture', '--from', fixture('bare')], 2, /--capture reads this host; --from reads a saved capture/],
    [['detect', '--from', 'missing.json'], 1, /--from missing\.json: cannot read the capture: no such file/],
    [['detect', '--from', `${FIXTURES_DIR}nftables/empty.json`], 1, /empty\.json: apiVersion: undefined is not a detect capture/],
    [['detect', '--role', 'wroker', '--from', fixture('bare')], 2, /--role: unknown role "wroker"/],
  ];
  for (const [args, code, pattern] of cases) {
    const result = await runCliInProcess(args);
    assert.is(result.exitCode, code, `${args.join(' ')}: ${result.stderr}`);
    assert.match(result.stderr, pattern);
  }
});

test('cluster from-nodes: stdin to a cluster file render accepts; errors exit 1', async () => {
  const { readFileSync } = await import('node:fs');
  const result = await runCli(['cluster', 'from-nodes', '-'], { input: readFileSync(`${FIXTURES_DIR}from-nodes/nodes.json`, 'utf8') });
  assert.is(result.exitCode, 0, result.stderr);
  assert.match(result.stdout, /\nnodes:\n {2}- name: cp-1\n {4}addresses: \[10\.10\.0\.11, fd00:10::11\]\n {4}roles: \[control-plane\]\n/);
  assert.match(result.stderr, /kubewall: warning: node "edge-1": label node-role\.kubernetes\.io\/ingress/);
  const bad = await runCliInProcess(['cluster', 'from-nodes', '-'], { input: '{"kind":"List","items":[]}' });
  assert.is(bad.exitCode, 1);
  assert.is(bad.stderr, 'kubewall: stdin: items: no nodes (expected at least one Node)');
  const missing = await runCliInProcess(['cluster', 'from-nodes']);
  assert.is(missing.exitCode, 2);
});

test('help lists detect and cluster from-nodes with examples', async () => {
  const top = await runCliInProcess(['--help']);
  assert.match(top.stdout, /\$ sudo kubewall detect/);
  assert.match(top.stdout, /kubectl get nodes -o json \| kubewall cluster from-nodes -/);
  const detect = await runCliInProcess(['detect', '--help']);
  assert.match(detect.stdout, /Reads only: ip -d -j addr show, ss -H -lntuwp, nft -j list tables/);
  const fromNodes = await runCliInProcess(['cluster', 'from-nodes', '--help']);
  assert.match(fromNodes.stdout, /node-role\.kubernetes\.io\/control-plane or \/master -> control-plane/);
});

test.run();
