import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { checkListeners } from '../../src/detect/check-listeners.js';
import { detectCni, detectKubeProxy } from '../../src/detect/detectors.js';
import { DETECT_CAPTURE_API_VERSION, gatherDetectCapture, parseDetectCapture, type DetectCapture } from '../../src/detect/gather.js';
import { buildSnapshot, parseIpAddr, parseSs } from '../../src/detect/parse-snapshot.js';
import type { NodeSnapshot } from '../../src/detect/types.js';
import { isKubewallError } from '../../src/errors.js';
import { guardReadOnly } from '../../src/host/read-only.js';
import type { CommandOutcome, CommandRunner } from '../../src/host/types.js';
import { planFromFiles } from '../../src/load-plan.js';

const ok = (stdout: string): CommandOutcome => ({ status: 'exited', exitCode: 0, stdout, stderr: '' });
const exited = (exitCode: number, stderr: string): CommandOutcome => ({ status: 'exited', exitCode, stdout: '', stderr });

test('parseSs: IPv6 brackets, zones, wildcards, several processes, raw sockets', () => {
  const text = [
    'tcp LISTEN 0 4096 [::]:22 [::]:* users:(("sshd",pid=1,fd=4))',
    'udp UNCONN 0 0 127.0.0.53%lo:53 0.0.0.0:* users:(("systemd-resolve",pid=2,fd=13))',
    'udp UNCONN 0 0 [fe80::1]%eth0:546 [::]:* users:(("dhclient",pid=3,fd=5))',
    'tcp LISTEN 0 4096 *:10250 *:* users:(("kubelet",pid=4,fd=20),("kubelet",pid=4,fd=21),("a-helper",pid=9,fd=3))',
    'raw UNCONN 0 0 *%eth0:112 *:* users:(("keepalived",pid=5,fd=14))',
    'udp UNCONN 0 0 0.0.0.0:8472 0.0.0.0:*',
    '',
  ].join('\n');
  assert.equal(parseSs(text, 'ss'), [
    { protocol: 'tcp', address: '::', port: 22, processes: ['sshd'] },
    { protocol: 'udp', address: '127.0.0.53', port: 53, processes: ['systemd-resolve'] },
    { protocol: 'udp', address: 'fe80::1', port: 546, processes: ['dhclient'] },
    { protocol: 'tcp', address: '*', port: 10250, processes: ['a-helper', 'kubelet'] },
    { protocol: 'raw', address: '*', port: 112, processes: ['keepalived'] },
    { protocol: 'udp', address: '0.0.0.0', port: 8472, processes: [] },
  ]);
});

test('parseSs: a line it cannot read is an error naming the line, not a silent skip', () => {
  try {
    parseSs('sctp LISTEN 0 0 *:38412 *:*\n', 'node-1.json: ss -H -lntuwp');
    assert.unreachable();
  } catch (error) {
    assert.ok(isKubewallError(error));
    assert.match((error as Error).message, /node-1\.json: ss -H -lntuwp: line 1: unexpected socket type "sctp" \(expected tcp, udp or raw\)/);
  }
});

test('parseIpAddr: a Geneve device\'s port (iproute2 shape: not creatable on this kernel, so written by hand)', () => {
  const text = JSON.stringify([
    { ifname: 'cilium_geneve', flags: ['UP'], linkinfo: { info_kind: 'geneve', info_data: { id: 0, port: 6081, external: true } }, addr_info: [] },
    { ifname: 'lo', flags: ['LOOPBACK', 'UP'], addr_info: [{ local: '127.0.0.1' }, { local: '::1' }] },
  ]);
  assert.equal(parseIpAddr(text, 'ip'), [
    { name: 'cilium_geneve', kind: 'geneve', up: true, udpPort: 6081, addresses: [] },
    { name: 'lo', kind: null, up: true, udpPort: null, addresses: ['127.0.0.1', '::1'] },
  ]);
});

/** A capture from a table of answers; commands not listed were not run. */
function capture(answers: Record<string, CommandOutcome>): DetectCapture {
  return { apiVersion: DETECT_CAPTURE_API_VERSION, outputs: Object.entries(answers).map(([command, outcome]) => ({ command, outcome })) };
}
const BASE = {
  'ip -d -j addr show': ok('[]'),
  'ss -H -lntuwp': ok(''),
  'nft -j list tables': ok('{"nftables":[{"metainfo":{}}]}'),
  'cat /proc/net/ip_tables_names': exited(1, 'cat: /proc/net/ip_tables_names: No such file or directory'),
  'cat /proc/net/ip6_tables_names': exited(1, 'cat: /proc/net/ip6_tables_names: No such file or directory'),
};

test('kube-proxy: "none" only when every probe ran; a refused probe makes it unknown, not none', () => {
  assert.is(detectKubeProxy(buildSnapshot(capture(BASE), 't')).mode, 'none');
  const denied = buildSnapshot(capture({ ...BASE, 'nft -j list tables': exited(1, 'Error: Operation not permitted') }), 't');
  const finding = detectKubeProxy(denied);
  assert.is(finding.mode, null);
  assert.match(finding.evidence[0]!, /cannot tell: nft -j list tables/);
});

test('kube-proxy: iptables-legacy\'s KUBE-SERVICES; nftables with iptables leftovers warns', () => {
  const legacy = buildSnapshot(capture({ ...BASE, 'cat /proc/net/ip_tables_names': ok('filter\nnat\n'), 'iptables-legacy -t nat -S KUBE-SERVICES 1': ok('-N KUBE-SERVICES\n') }), 't');
  assert.equal(legacy.legacyTables, ['ip filter', 'ip nat']);
  assert.is(detectKubeProxy(legacy).mode, 'iptables');
  assert.match(detectKubeProxy(legacy).evidence[0]!, /KUBE-SERVICES in table nat \(iptables-legacy\)/);
  const both = buildSnapshot(
    capture({ ...BASE, 'nft -j list tables': ok('{"nftables":[{"table":{"family":"ip","name":"kube-proxy"}},{"table":{"family":"ip","name":"nat"}}]}'), 'iptables-nft -t nat -S KUBE-SERVICES 1': ok('') }),
    't',
  );
  const finding = detectKubeProxy(both);
  assert.is(finding.mode, 'nftables');
  assert.match(finding.warnings[0]!, /leftovers of a mode change/);
});

test('gather: every command passes the read-only guard; chain probes only for nat tables that exist', async () => {
  const calls: string[] = [];
  const answers: Record<string, CommandOutcome> = {
    ...BASE,
    'nft -j list tables': ok('{"nftables":[{"table":{"family":"ip","name":"nat"}}]}'),
    'cat /proc/net/ip6_tables_names': ok('nat\n'),
    'iptables-nft -t nat -S KUBE-SERVICES 1': exited(1, "iptables v1.8.9 (nf_tables): chain `KUBE-SERVICES' in table `nat' is incompatible, use 'nft' tool."),
    'ip6tables-legacy -t nat -S KUBE-SERVICES 1': ok('-N KUBE-SERVICES\n'),
  };
  const runner: CommandRunner = {
    async run(command, args) {
      const line = [command, ...args].join(' ');
      calls.push(line);
      return answers[line] ?? { status: 'not-found' };
    },
  };
  const captured = await gatherDetectCapture(guardReadOnly(runner));
  assert.equal(calls, [
    'ip -d -j addr show',
    'ss -H -lntuwp',
    'nft -j list tables',
    'cat /proc/net/ip_tables_names',
    'cat /proc/net/ip6_tables_names',
    'iptables-nft -t nat -S KUBE-SERVICES 1',
    'ip6tables-legacy -t nat -S KUBE-SERVICES 1',
  ]);
  const snapshot = buildSnapshot(parseDetectCapture(JSON.stringify(captured), 'saved'), 'saved');
  assert.equal(snapshot.iptablesChains.map((c) => `${c.tool}:${c.present}`), ['iptables-nft:false', 'ip6tables-legacy:true']);
  assert.ok(snapshot.probes.every((p) => p.status === 'ok'), JSON.stringify(snapshot.probes));
});

test('parseDetectCapture: names the file and what it expected', () => {
  for (const [text, pattern] of [
    ['{', /node\.json: not JSON \(expected the output of kubewall detect --capture\)/],
    ['{"apiVersion":"kubewall.dev/diff/v1"}', /node\.json: apiVersion: "kubewall\.dev\/diff\/v1" is not a detect capture/],
    [`{"apiVersion":"${DETECT_CAPTURE_API_VERSION}","outputs":[{"command":"ss"}]}`, /node\.json: outputs\[0\]: expected \{command: string, outcome/],
  ] as const) {
    try {
      parseDetectCapture(text, 'node.json');
      assert.unreachable(text);
    } catch (error) {
      assert.ok(isKubewallError(error), String(error));
      assert.match((error as Error).message, pattern);
    }
  }
});

test('canal needs Calico\'s pod interfaces beside flannel; tunl0 without an address is not Calico', () => {
  const links = (names: string[]): NodeSnapshot => ({
    source: 't',
    links: names.map((name) => ({ name, kind: name === 'flannel.1' ? 'vxlan' : 'veth', up: true, udpPort: name === 'flannel.1' ? 8472 : null, addresses: [] })),
    listeners: [],
    nftTables: [],
    legacyTables: [],
    iptablesChains: [],
    probes: [],
  });
  assert.is(detectCni(links(['flannel.1'])).profile, 'flannel:vxlan');
  assert.is(detectCni(links(['flannel.1', 'cali1a2b3c4d5e6'])).profile, 'canal:vxlan');
  assert.is(detectCni(links(['flannel.1', 'tunl0'])).profile, 'flannel:vxlan');
  assert.is(detectCni(links(['tunl0'])).name, null);
});

// Devices this kernel cannot create (geneve, wireguard, ipip, Calico eBPF's): their names and kinds as iproute2 reports them.
test('modes from devices the lab cannot create: Geneve, WireGuard, IP-in-IP; Calico eBPF means no kube-proxy', () => {
  const node = (links: { name: string; kind?: string; port?: number; addresses?: string[] }[], listeners: NodeSnapshot['listeners'] = []): NodeSnapshot => ({
    source: 't',
    links: links.map((l) => ({ name: l.name, kind: l.kind ?? 'veth', up: true, udpPort: l.port ?? null, addresses: l.addresses ?? [] })),
    listeners,
    nftTables: [],
    legacyTables: [],
    iptablesChains: [],
    probes: [],
  });
  const geneve = detectCni(node([{ name: 'cilium_host' }, { name: 'cilium_geneve', kind: 'geneve', port: 6081 }, { name: 'cilium_wg0', kind: 'wireguard' }]));
  assert.equal([geneve.profile, geneve.portOverrides], ['cilium:geneve+wireguard', {}]);
  assert.equal(detectCni(node([{ name: 'cilium_host' }, { name: 'cilium_geneve', kind: 'geneve', port: 6082 }])).portOverrides, { 'cilium-geneve': 6082 });
  assert.is(detectCni(node([{ name: 'cilium_host' }])).profile, 'cilium:native');
  assert.is(detectCni(node([{ name: 'flannel-wg', kind: 'wireguard' }])).profile, 'flannel:wireguard');
  assert.is(detectCni(node([{ name: 'tunl0', kind: 'ipip', addresses: ['10.244.1.0'] }, { name: 'wireguard.cali', kind: 'wireguard' }], [{ protocol: 'tcp', address: '0.0.0.0', port: 179, processes: ['bird'] }])).profile, 'calico:ipip+wireguard');
  const ebpf = detectKubeProxy(node([{ name: 'bpfin.cali' }, { name: 'bpfout.cali' }]));
  assert.is(ebpf.mode, 'none');
  assert.match(ebpf.evidence.join('\n'), /Calico's eBPF dataplane runs \(bpfin\.cali\)/);
});

test('checkListeners: loopback listeners are not dropped; self-only rules and kernel sockets are named; peers merge', async () => {
  const plan = await planFromFiles({ roles: ['control-plane'], profiles: { cni: 'flannel' } });
  const snapshot: NodeSnapshot = {
    source: 't',
    links: [{ name: 'flannel.1', kind: 'vxlan', up: true, udpPort: 4789, addresses: [] }],
    listeners: [
      { protocol: 'tcp', address: '127.0.0.1', port: 9100, processes: ['node_exporter'] },
      { protocol: 'tcp', address: '0.0.0.0', port: 10259, processes: ['kube-scheduler'] },
      { protocol: 'udp', address: '0.0.0.0', port: 4789, processes: [] },
      { protocol: 'tcp', address: '::', port: 6443, processes: ['kube-apiserver'] },
    ],
    nftTables: [],
    legacyTables: [],
    iptablesChains: [],
    probes: [],
  };
  const check = checkListeners(snapshot, plan);
  assert.equal(check.unplanned, [
    { protocol: 'tcp', port: 10259, addresses: ['0.0.0.0'], processes: ['kube-scheduler'], selfOnly: ['kube-scheduler'] },
    { protocol: 'udp', port: 4789, addresses: ['0.0.0.0'], processes: ['kernel: VXLAN device flannel.1'], selfOnly: [] },
  ]);
  const etcd = check.idle.find((i) => i.entry === 'etcd');
  assert.is(etcd?.peer, 'control-plane, etcd');
  assert.ok(check.idle.some((i) => i.entry === 'flannel-vxlan' && i.ports === '8472'));
  assert.ok(!check.idle.some((i) => i.entry === 'kube-apiserver'));
});

test.run();
