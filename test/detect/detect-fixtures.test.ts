import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { detectAddons, detectCni, detectKubeProxy, detectNodeLocalDns } from '../../src/detect/detectors.js';
import { buildDetectReport } from '../../src/detect/run-detect.js';
import type { NodeSnapshot } from '../../src/detect/types.js';
import { assertScenario, fixtureSnapshot, SCENARIOS } from './scenarios.js';

for (const scenario of SCENARIOS) {
  test(`fixture ${scenario.name}: ${scenario.description.slice(0, 60)}...`, async () => {
    assertScenario(await buildDetectReport(fixtureSnapshot(scenario.name)), scenario);
  });
}

// Each detector must not fire without its evidence: on the bare node, which holds decoys
// (a tunl0 without address, dockerd on 7946, a nat table without KUBE-SERVICES, inet kubewall).
test('each detector finds nothing on the bare fixture', () => {
  const bare = fixtureSnapshot('bare');
  assert.ok(bare.links.some((l) => l.name === 'tunl0'), 'the decoy tunl0 is in the fixture');
  assert.ok(bare.nftTables.includes('ip nat'), 'the decoy nat table is in the fixture');
  assert.equal(bare.iptablesChains, [{ tool: 'iptables-nft', table: 'nat', chain: 'KUBE-SERVICES', present: false }]);
  assert.is(detectKubeProxy(bare).mode, 'none');
  assert.is(detectCni(bare).name, null);
  assert.is(detectNodeLocalDns(bare).address, null);
  const addons = detectAddons(bare);
  assert.equal(addons.map((a) => [a.name, a.suggest]), [['metallb', false]], 'dockerd on 7946 is no MetalLB speaker');
});

test('each detector fires only on the fixtures holding its evidence', () => {
  const fires = (detect: (s: NodeSnapshot) => boolean) => SCENARIOS.filter((s) => detect(fixtureSnapshot(s.name))).map((s) => s.name);
  assert.equal(fires((s) => detectKubeProxy(s).mode === 'ipvs'), ['flannel-ipvs-nodelocaldns']);
  assert.equal(fires((s) => detectKubeProxy(s).mode === 'iptables'), ['calico-iptables-keepalived']);
  assert.equal(fires((s) => detectKubeProxy(s).mode === 'nftables'), ['canal-nftables-rke2']);
  assert.equal(fires((s) => detectCni(s).name === 'flannel'), ['flannel-ipvs-nodelocaldns']);
  assert.equal(fires((s) => detectCni(s).name === 'calico'), ['calico-iptables-keepalived']);
  assert.equal(fires((s) => detectCni(s).name === 'canal'), ['canal-nftables-rke2']);
  assert.equal(fires((s) => detectCni(s).name === 'cilium'), ['cilium-kube-proxy-replacement']);
  assert.equal(fires((s) => detectNodeLocalDns(s).address !== null), ['flannel-ipvs-nodelocaldns']);
  assert.equal(fires((s) => detectAddons(s).some((a) => a.name === 'keepalived')), ['calico-iptables-keepalived']);
  assert.equal(fires((s) => detectAddons(s).some((a) => a.name === 'metallb' && a.suggest)), ['canal-nftables-rke2']);
  assert.equal(fires((s) => detectAddons(s).some((a) => a.name === 'kube-vip')), ['cilium-kube-proxy-replacement']);
});

test('the fixtures hold what the real tools printed: the VXLAN port from ip -d -j, the kernel socket in ss', () => {
  const flannel = fixtureSnapshot('flannel-ipvs-nodelocaldns');
  const device = flannel.links.find((l) => l.name === 'flannel.1');
  assert.equal({ kind: device?.kind, udpPort: device?.udpPort, up: device?.up }, { kind: 'vxlan', udpPort: 8472, up: true });
  assert.ok(flannel.listeners.some((l) => l.protocol === 'udp' && l.port === 8472 && l.processes.length === 0), 'the VXLAN socket is the kernel\'s');
  assert.equal(flannel.links.find((l) => l.name === 'kube-ipvs0')?.addresses.slice(0, 2), ['10.96.0.1', '10.96.0.10']);
  const calico = fixtureSnapshot('calico-iptables-keepalived');
  assert.ok(calico.listeners.some((l) => l.protocol === 'raw' && l.port === 112 && l.processes.includes('keepalived')));
});

test('a detected port that differs from the catalogue is checked with the suggested override, not reported', async () => {
  const report = await buildDetectReport(fixtureSnapshot('canal-nftables-rke2'));
  assert.ok(!report.listeners.unplanned.some((u) => u.port === 4789));
  assert.ok(!report.listeners.idle.some((i) => i.entry === 'canal-vxlan'));
});

test('--role replaces the detected role; --cni replaces the detected CNI in the plan compared', async () => {
  const report = await buildDetectReport(fixtureSnapshot('flannel-ipvs-nodelocaldns'), { roles: ['control-plane'], profiles: { cni: 'calico' } });
  assert.equal(report.roles, { roles: ['control-plane'], from: '--role', assumed: false, evidence: ['--role control-plane'] });
  assert.ok(report.plan.profiles.some((p) => p.startsWith('cni calico')), report.plan.profiles.join('; '));
  // kubelet and kube-proxy's health port are planned; flannel's 8472 is not under calico.
  assert.ok(report.listeners.unplanned.some((u) => u.protocol === 'udp' && u.port === 8472 && u.processes.includes('kernel: VXLAN device flannel.1')));
  assert.is(report.clusterFile.profiles.cni, 'flannel:vxlan', 'the suggestion stays what the node runs');
});

test('a cluster file naming another CNI than the node runs gets a warning; its addresses make the plan', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'kw-detect-'));
  try {
    await writeFile(path.join(dir, 'cluster.yaml'), 'nodes:\n  - name: cp-1\n    addresses: [10.0.0.2]\n    roles: [control-plane]\nprofiles:\n  cni: flannel\n');
    const report = await buildDetectReport(fixtureSnapshot('calico-iptables-keepalived'), { clusterFile: 'cluster.yaml', cwd: dir });
    assert.ok(report.warnings.includes('cluster.yaml: profiles.cni is "flannel" but this node runs calico:bgp+vxlan'), report.warnings.join('\n'));
    assert.is(report.plan.cluster, 'cluster.yaml');
    assert.ok(report.plan.profiles.some((p) => p.startsWith('cni calico')), 'the plan compared uses what the node runs');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test.run();
