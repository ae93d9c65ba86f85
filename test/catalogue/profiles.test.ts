import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
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
    addon: ['keepalived', 'metallb', 'metrics-server', 'node-local-dns'],
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
  ['cilium', ['8472/udp nodes', '4240/tcp nodes', '4244/tcp nodes+pods']],
  ['cilium:geneve+wireguard', ['6081/udp nodes', '4240/tcp nodes', '4244/tcp nodes+pods', '51871/udp nodes']],
  ['cilium:native', ['4240/tcp nodes', '4244/tcp nodes+pods']],
  ['cilium:vxlan+ipsec', ['8472/udp nodes', '4240/tcp nodes', '4244/tcp nodes+pods', 'esp nodes']],
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
  // rke2-charts rke2-canal: flannel.backendPort 4789; RKE2 requirements: UDP 4789 for Canal with VXLAN.
  assert.ok(rke2.includes('4789/udp nodes') && !rke2.includes('8472/udp nodes'), 'Canal VXLAN on 4789 in RKE2');
  assert.ok(rke2.includes('10250/tcp self+control-plane+nodes+pods'), 'kubelet from all nodes and the bundled metrics-server');
  const rke2Flannel = await ports({ distribution: flag('rke2', '--distribution'), cni: flag('flannel') });
  assert.ok(rke2Flannel.includes('4789/udp nodes') && !rke2Flannel.includes('8472/udp nodes'), 'RKE2 sets flannel VXLAN to 4789 too');
  const rke2Calico = await ports({ distribution: flag('rke2', '--distribution'), cni: flag('calico:vxlan') });
  assert.ok(rke2Calico.includes('4789/udp nodes'), "a CNI without the distribution's overridden entry loads unchanged");
  const k3s = await ports({ distribution: flag('k3s', '--distribution') });
  assert.ok(k3s.includes('8472/udp nodes'), 'k3s ships flannel VXLAN on the kernel port');
  assert.ok(k3s.includes('10250/tcp self+control-plane+nodes+pods'), "k3s's bundled metrics-server scrapes from a pod");
  const k3sCilium = await ports({ distribution: flag('k3s', '--distribution'), cni: flag('cilium:geneve') });
  assert.ok(k3sCilium.includes('6081/udp nodes') && !k3sCilium.includes('8472/udp nodes'), 'an explicit --cni replaces the default');
});

test('add-ons: metrics-server lets the pod network reach the kubelet; MetalLB memberlist over TCP and UDP', async () => {
  const plan = await planFromFiles({ roles: ['worker'], profiles: { addons: ['metrics-server', 'metallb'] } });
  const rows = plan.rules.map((r) => `${formatPortRanges(r.ports)}/${r.protocol} ${r.peer}`);
  // flannel --ip-masq / Calico natOutgoing: a scrape from a pod on another node arrives from that node's address.
  // nodes covers the control-plane peers the seed lists.
  for (const row of ['10250/tcp pods', '10250/tcp nodes', '7946/tcp nodes', '7946/udp nodes', '7472/tcp pods', '7472/tcp nodes']) assert.ok(rows.includes(row), row);
  assert.match(plan.rules.find((r) => r.id === 'kubelet/tcp/pods')!.usedBy, /metrics-server, Prometheus/);
});

test('no CNI chosen: a loud warning in the plan (stderr and header); a CNI, none or a distribution default silence it', async () => {
  const quiet = /no CNI chosen/;
  assert.match((await planFromFiles({ roles: ['worker'] })).warnings.join('\n'), quiet);
  assert.match((await planFromFiles({ roles: ['worker'], profiles: { addons: ['metallb'] } })).warnings.join('\n'), quiet);
  for (const profiles of [{ cni: 'none' }, { cni: 'calico' }, { distribution: 'k3s' }, { distribution: 'rke2' }]) {
    assert.not.match((await planFromFiles({ roles: ['worker'], profiles })).warnings.join('\n'), quiet, JSON.stringify(profiles));
  }
});

test('node-local-dns: 53/tcp+udp from pods to the NodeLocal DNSCache address only, in its family; the cluster file moves it', async () => {
  const plan = await planFromFiles({ roles: ['worker'], profiles: { cni: 'none', addons: ['node-local-dns'] } });
  const dns = plan.rules.filter((r) => r.entry === 'node-local-dns');
  assert.equal(dns.map((r) => `${r.id} ${r.destination?.address} ${r.destination?.family}`), ['node-local-dns/tcp/pods 169.254.20.10 ipv4', 'node-local-dns/udp/pods 169.254.20.10 ipv4']);
  assert.match(dns[0]!.destination!.from, /default: upstream NodeLocal DNSCache/);
  const controlPlane = await planFromFiles({ roles: ['control-plane'], profiles: { cni: 'none', addons: ['node-local-dns'] } });
  assert.ok(controlPlane.rules.some((r) => r.entry === 'node-local-dns'), 'pods run on control-plane nodes too');
  const dir = await mkdtemp(path.join(tmpdir(), 'kw-nodelocal-'));
  await writeFile(path.join(dir, 'c.yaml'), 'podCIDRs: [10.244.0.0/16]\nnodeLocalDNS: 169.254.25.10\nadminNetworks: [10.99.0.0/24]\n');
  const kubespray = await planFromFiles({ roles: ['worker'], clusterFile: 'c.yaml', cwd: dir, profiles: { cni: 'calico', addons: ['node-local-dns'] } });
  const moved = kubespray.rules.find((r) => r.id === 'node-local-dns/udp/pods')!;
  assert.is(moved.destination?.address, '169.254.25.10');
  assert.match(moved.destination!.from, /c\.yaml: nodeLocalDNS\)/);
});

test('the baseline accepts IPv6 link-local control traffic (RFC 4890, RFC 8415); VRRPv3 from link-local only with a VRRP rule (RFC 5798)', async () => {
  const plain = await planFromFiles({ roles: ['worker'] });
  assert.equal(plain.baseline.linkLocal.map((r) => `${r.id} ${r.source} ${JSON.stringify(r.match)}`), [
    'mld fe80::/10 {"kind":"icmpv6","types":["mld-listener-query","mld-listener-report","mld-listener-done","mld2-listener-report"]}',
    'dhcpv6-client fe80::/10 {"kind":"udp","sourcePort":547,"port":546}',
  ]);
  assert.match(plain.baseline.linkLocal[0]!.reason, /RFC 4890 §4\.4\.1/);
  const keepalived = await planFromFiles({ roles: ['control-plane'], profiles: { addons: ['keepalived'] } });
  const vrrp = keepalived.baseline.linkLocal.find((r) => r.id === 'vrrp')!;
  assert.equal(vrrp.match, { kind: 'ip-protocol', protocol: 112, destination: 'ff02::12' });
  assert.match(vrrp.reason, /RFC 5798 §5\.1\.2\.1/);
  const worker = await planFromFiles({ roles: ['worker'], profiles: { addons: ['keepalived'] } });
  assert.not.ok(worker.baseline.linkLocal.some((r) => r.id === 'vrrp'), 'no VRRP on nodes without the VRRP rule');
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
    [{ addons: [flag('istio', '--addon')] }, /^--addon: unknown addon "istio" \(expected keepalived, metallb, metrics-server, node-local-dns\)$/],
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

test('an add-on listed twice is blamed on the list that names it twice (the cluster file with line and column, or --addon), never on the shipped profile', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'kw-addon-twice-'));
  await writeFile(path.join(dir, 'c.yaml'), 'adminNetworks: [10.99.0.0/24]\nprofiles:\n  addons: [metallb, metrics-server, metallb]\n');
  const refused = async (options: Parameters<typeof planFromFiles>[0]) => {
    try {
      await planFromFiles(options);
    } catch (error) {
      assert.ok(error instanceof KubewallError, String(error));
      return (error as Error).message;
    }
    throw new Error('a duplicate add-on was accepted');
  };
  const fromFile = await refused({ roles: ['worker'], clusterFile: 'c.yaml', cwd: dir });
  assert.match(fromFile, /^c\.yaml:3:\d+: profiles\.addons\.2: add-on "metallb" is listed twice \(first at c\.yaml:3:\d+: profiles\.addons\.0\)/);
  const fromFlag = await refused({ roles: ['worker'], profiles: { addons: ['metallb', 'metallb'] } });
  assert.match(fromFlag, /^--addon: add-on "metallb" is listed twice \(first at --addon\)/);
  for (const message of [fromFile, fromFlag]) assert.not.match(message, /catalogue\/|profiles\/|\.yaml: add-on/, message);
});

test.run();
