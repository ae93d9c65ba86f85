import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { availableProfiles, loadCatalogue, type ProfileSelection } from '../../src/catalogue/load-catalogue.js';
import { KubewallError } from '../../src/errors.js';
import { planFromFiles } from '../../src/load-plan.js';
import { formatPortRanges } from '../../src/ports.js';
import { REPO_ROOT } from '../helpers/paths.js';

const flag = (value: string, where = '--cni') => ({ value, where, code: 'USAGE' as const });
const ports = async (selection: ProfileSelection, role: 'worker' | 'control-plane' = 'worker') => {
  const catalogue = await loadCatalogue({ profiles: selection });
  return catalogue.entries
    .filter((e) => e.roles.includes(role))
    .flatMap((e) => [
      ...e.protocols.map((p) => `${formatPortRanges(e.ports)}/${p} ${e.peers.join('+')}`),
      ...e.ipProtocols.map((p) => `${p} ${e.peers.join('+')}`),
    ]);
};

test('the shipped profiles', async () => {
  assert.equal(await availableProfiles(), {
    distribution: ['k3s', 'kubeadm', 'rke2'],
    cni: ['calico', 'canal', 'cilium', 'flannel', 'none'],
    addon: ['keepalived', 'metallb', 'metrics-server'],
  });
});

test('no profile, kubeadm and none: exactly the seed catalogue', async () => {
  const seed = await loadCatalogue();
  const explicit = await loadCatalogue({ profiles: { distribution: flag('kubeadm', '--distribution'), cni: flag('none') } });
  assert.equal(explicit.entries, seed.entries);
  assert.equal(explicit.files, ['catalogue/kubernetes.yaml']);
});

// From DOMAIN.md §2 and each profile's source, by hand: CNI ports per mode between nodes.
const CNI_PORTS: Array<[string, string[]]> = [
  ['calico', ['179/tcp nodes', '5473/tcp nodes', 'ipip nodes']],
  ['calico:vxlan', ['4789/udp nodes', '5473/tcp nodes']],
  ['calico:bgp+wireguard', ['179/tcp nodes', '5473/tcp nodes', '51820-51821/udp nodes']],
  ['cilium', ['8472/udp nodes', '4240/tcp nodes', '4244/tcp nodes']],
  ['cilium:geneve+wireguard', ['6081/udp nodes', '4240/tcp nodes', '4244/tcp nodes', '51871/udp nodes']],
  ['cilium:native', ['4240/tcp nodes', '4244/tcp nodes']],
  ['cilium:vxlan+ipsec', ['8472/udp nodes', '4240/tcp nodes', '4244/tcp nodes', 'esp nodes']],
  ['flannel', ['8472/udp nodes']],
  ['flannel:wireguard', ['51820-51821/udp nodes']],
  ['flannel:host-gw', []],
  ['canal', ['8472/udp nodes', '9099/tcp self']],
];
for (const [cni, expected] of CNI_PORTS) {
  test(`--cni ${cni} adds exactly its ports, on workers and control-plane nodes`, async () => {
    for (const role of ['worker', 'control-plane'] as const) {
      const seed = await ports({}, role);
      const added = (await ports({ cni: flag(cni) }, role)).filter((row) => !seed.includes(row));
      assert.equal(added.sort(), [...expected].sort(), `${cni} on ${role}`);
    }
  });
}

test('calico IP-in-IP is a rule for IP protocol 4 from the nodes, IPv4 only, with its source; vxlan has none', async () => {
  const plan = await planFromFiles({ roles: ['worker'], profiles: { cni: 'calico' } });
  assert.equal(plan.profiles, ['cni calico (modes: ipip)']);
  assert.equal(
    plan.ipProtocolRules.map((r) => ({ id: r.id, ipProtocol: r.ipProtocol, families: r.families, peer: r.peer })),
    [{ id: 'calico-ipip/ipip/nodes', ipProtocol: 4, families: ['ipv4'], peer: 'nodes' }],
  );
  assert.is(plan.ipProtocolRules[0]!.source.document, 'projectcalico docs, Network requirements');
  assert.not.match(plan.warnings.join('\n'), /IP protocol 4/);
  assert.ok(plan.sets.some((s) => s.name === 'nodes-v4'));
  const vxlan = await planFromFiles({ roles: ['worker'], profiles: { cni: 'calico:vxlan' } });
  assert.equal(vxlan.ipProtocolRules, []);
});

test('keepalived: VRRP (112) from the control-plane nodes, both families, on control-plane nodes only', async () => {
  const controlPlane = await planFromFiles({ roles: ['control-plane'], profiles: { addons: ['keepalived'] } });
  assert.equal(
    controlPlane.ipProtocolRules.map((r) => `${r.id} ${r.ipProtocol} ${r.families.join('+')}`),
    ['keepalived-vrrp/vrrp/control-plane 112 ipv4+ipv6'],
  );
  assert.match(controlPlane.warnings.join('\n'), /addon keepalived: VRRP \(IP protocol 112\)/);
  const worker = await planFromFiles({ roles: ['worker'], profiles: { addons: ['keepalived'] } });
  assert.equal(worker.ipProtocolRules, []);
});

test('distributions bring their own ports and their default CNI', async () => {
  const rke2 = await ports({ distribution: flag('rke2', '--distribution') }, 'control-plane');
  assert.ok(rke2.includes('9345/tcp nodes'), 'RKE2 supervisor');
  assert.ok(rke2.includes('2381/tcp self'), 'etcd metrics, local');
  assert.ok(rke2.includes('8472/udp nodes'), 'Canal VXLAN by default');
  assert.ok(rke2.includes('10250/tcp self+control-plane+nodes'), 'kubelet from all nodes');
  const k3s = await ports({ distribution: flag('k3s', '--distribution') });
  assert.ok(k3s.includes('8472/udp nodes'), 'k3s ships flannel VXLAN');
  const k3sCilium = await ports({ distribution: flag('k3s', '--distribution'), cni: flag('cilium:geneve') });
  assert.ok(k3sCilium.includes('6081/udp nodes') && !k3sCilium.includes('8472/udp nodes'), 'an explicit --cni replaces the default');
});

test('add-ons: metrics-server lets the pod network reach the kubelet; MetalLB memberlist over TCP and UDP', async () => {
  const plan = await planFromFiles({ roles: ['worker'], profiles: { addons: ['metrics-server', 'metallb'] } });
  const rows = plan.rules.map((r) => `${formatPortRanges(r.ports)}/${r.protocol} ${r.peer}`);
  for (const row of ['10250/tcp pods', '10250/tcp control-plane', '7946/tcp nodes', '7946/udp nodes', '7472/tcp pods']) assert.ok(rows.includes(row), row);
  assert.match(plan.rules.find((r) => r.id === 'kubelet/tcp/pods')!.usedBy, /metrics-server, Prometheus/);
});

test('every shipped CNI, distribution and add-on combine without conflicts', async () => {
  const profiles = await availableProfiles();
  for (const distribution of profiles.distribution) {
    for (const cni of profiles.cni) {
      await loadCatalogue({ profiles: { distribution: flag(distribution), cni: flag(cni), addons: profiles.addon.map((a) => flag(a)) } });
    }
  }
});

test('unknown profiles and modes name the flag and the valid choices', async () => {
  const cases: Array<[ProfileSelection, RegExp]> = [
    [{ cni: flag('calcio') }, /^--cni: unknown cni "calcio" \(expected calico, canal, cilium, flannel, none\)$/],
    [{ cni: flag('calico:vxlna') }, /^--cni: unknown mode "vxlna" for cni calico \(expected calico:ipip, calico:vxlan, calico:bgp, calico:wireguard; join modes with \+/],
    [{ cni: flag('none:vxlan') }, /cni none has no modes/],
    [{ distribution: flag('openshift', '--distribution') }, /^--distribution: unknown distribution "openshift" \(expected k3s, kubeadm, rke2\)$/],
    [{ addons: [flag('istio', '--addon')] }, /^--addon: unknown addon "istio" \(expected keepalived, metallb, metrics-server\)$/],
  ];
  for (const [selection, message] of cases) {
    try {
      await loadCatalogue({ profiles: selection });
      assert.unreachable(JSON.stringify(selection));
    } catch (error) {
      assert.instance(error, KubewallError);
      assert.is((error as KubewallError).code, 'USAGE');
      assert.match((error as Error).message, message);
    }
  }
});

test('a cluster file can choose profiles; command-line flags take precedence', async () => {
  const { writeFile, mkdtemp } = await import('node:fs/promises');
  const { tmpdir } = await import('node:os');
  const path = await import('node:path');
  const dir = await mkdtemp(path.join(tmpdir(), 'kubewall-prof-'));
  await writeFile(path.join(dir, 'c.yaml'), 'profiles:\n  cni: cilium\n  addons: [metallb]\n');
  const fromFile = await planFromFiles({ roles: ['worker'], clusterFile: 'c.yaml', cwd: dir });
  assert.equal(fromFile.profiles, ['cni cilium (modes: vxlan)', 'addon metallb']);
  const flags = await planFromFiles({ roles: ['worker'], clusterFile: 'c.yaml', cwd: dir, profiles: { cni: 'flannel' } });
  assert.equal(flags.profiles, ['cni flannel (modes: vxlan)', 'addon metallb']);
  await writeFile(path.join(dir, 'bad.yaml'), 'profiles:\n  cni: calcio\n');
  try {
    await planFromFiles({ roles: ['worker'], clusterFile: 'bad.yaml', cwd: dir });
    assert.unreachable();
  } catch (error) {
    assert.is((error as KubewallError).code, 'CLUSTER');
    assert.match((error as Error).message, /^bad\.yaml:2:8: profiles\.cni: unknown cni "calcio"/);
  }
});

test('every profile entry carries its source document and section', async () => {
  const profiles = await availableProfiles();
  for (const cni of profiles.cni) {
    for (const entry of (await loadCatalogue({ profiles: { cni: flag(cni) } })).entries.filter((e) => e.profile)) {
      assert.ok(entry.source.document.length > 5 && entry.source.section.length > 2, entry.id);
      assert.match(entry.origin, /^catalogue\/profiles\/cni\//);
    }
  }
  void REPO_ROOT;
});

test.run();
