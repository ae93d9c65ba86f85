import { execa, type ResultPromise } from 'execa';
import { copyFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { readFileSync } from 'node:fs';
import * as assert from 'uvu/assert';
import { parseDetectCapture } from '../../src/detect/gather.js';
import { buildSnapshot } from '../../src/detect/parse-snapshot.js';
import type { DetectReport } from '../../src/detect/run-detect.js';
import type { NodeSnapshot } from '../../src/detect/types.js';
import { inNetns } from '../helpers/netns.js';
import { FIXTURES_DIR } from '../helpers/paths.js';

/**
 * Node states for `kubewall detect`, built from real kernel devices and real
 * sockets inside a network namespace: the live tests detect them in place,
 * and scripts/capture-detect-fixtures.ts saves what detect --capture read
 * from them as test/fixtures/detect/<name>.json for the fixture tests.
 *
 * What this kernel can make: veth and VXLAN devices (no dummy, ipip, geneve
 * or wireguard types), so kube-ipvs0, nodelocaldns, cilium_host and tunl0 are
 * veth ends of those names, and flannel.1, vxlan.calico and cilium_vxlan are
 * real VXLAN devices whose kernel UDP socket ss shows. Listeners are socat
 * copied under a daemon's name (ss shows the executable's name), keepalived
 * is the real daemon with its VRRP raw socket.
 */

/** A listener: `tcp 6443 kube-apiserver`, bound to `address` (default any). */
export interface ListenerSpec {
  readonly protocol: 'tcp' | 'udp';
  readonly port: number;
  readonly process: string;
  readonly address?: string;
}

export interface Scenario {
  readonly name: string;
  readonly description: string;
  /** ip commands run in the namespace (without `ip -n NS`), in order. */
  readonly ip: readonly (readonly string[])[];
  /** nft commands (stdin text for nft -f -) and iptables-nft chains to create. */
  readonly nft?: string;
  readonly iptablesNatChains?: readonly string[];
  readonly listeners: readonly ListenerSpec[];
  readonly keepalived?: boolean;
  /** What detect must find (the fixture and live tests check the same). */
  readonly expect: {
    readonly kubeProxy: string | null;
    readonly cni: string | null;
    readonly nodeLocalDNS: string | null;
    readonly suggestedAddons: readonly string[];
    readonly otherAddons?: readonly string[];
    readonly roles: readonly string[];
    readonly distribution: string | null;
    readonly overrides?: Readonly<Record<string, number>>;
    /** `tcp/9100`: ports the plan drops from every peer that something listens on. */
    readonly unplanned: readonly string[];
  };
}

const ETH0 = [
  ['link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth0-peer'],
  ['addr', 'add', '10.0.0.2/24', 'dev', 'eth0'],
  ['link', 'set', 'eth0', 'up'],
  ['link', 'set', 'eth0-peer', 'up'],
];
/** A device this kernel cannot create, stood in for by a veth end of its name. */
const vethNamed = (name: string, ...addresses: string[]): string[][] => [
  ['link', 'add', name, 'type', 'veth', 'peer', 'name', `${name.slice(0, 10)}-p`],
  ...addresses.map((a) => ['addr', 'add', a, 'dev', name]),
  ['link', 'set', name, 'up'],
];
const vxlan = (name: string, port: number, extra: string[] = ['id', '1']): string[][] => [
  ['link', 'add', name, 'type', 'vxlan', ...extra, 'dstport', String(port), 'dev', 'eth0'],
  ['link', 'set', name, 'up'],
];

export const SCENARIOS: readonly Scenario[] = [
  {
    name: 'bare',
    description: 'no Kubernetes: an SSH daemon, a tunl0 without an address (the ipip module makes one), dockerd on 7946, a nat table without kube-proxy\'s chain, kubewall\'s own table',
    ip: [...ETH0, ...vethNamed('tunl0')],
    nft: 'table inet kubewall { }\n',
    iptablesNatChains: ['DOCKER'],
    listeners: [
      { protocol: 'tcp', port: 22, process: 'sshd' },
      { protocol: 'tcp', port: 7946, process: 'dockerd' },
      { protocol: 'tcp', port: 631, process: 'cupsd', address: '127.0.0.1' },
    ],
    expect: { kubeProxy: 'none', cni: null, nodeLocalDNS: null, suggestedAddons: [], otherAddons: ['metallb'], roles: ['worker'], distribution: null, unplanned: ['tcp/7946'] },
  },
  {
    name: 'flannel-ipvs-nodelocaldns',
    description: 'a kubespray-style worker: kube-proxy IPVS (kube-ipvs0 holds Service IPs; KUBE-SERVICES exists in ipvs mode too), flannel VXLAN on 8472, NodeLocal DNSCache on 169.254.25.10, a node exporter',
    ip: [...ETH0, ...vxlan('flannel.1', 8472), ...vethNamed('kube-ipvs0', '10.96.0.1/32', '10.96.0.10/32'), ...vethNamed('nodelocaldns', '169.254.25.10/32')],
    iptablesNatChains: ['KUBE-SERVICES'],
    listeners: [
      { protocol: 'tcp', port: 10250, process: 'kubelet' },
      { protocol: 'tcp', port: 10256, process: 'kube-proxy' },
      { protocol: 'tcp', port: 9100, process: 'node_exporter' },
      { protocol: 'udp', port: 53, process: 'node-cache', address: '169.254.25.10' },
      { protocol: 'tcp', port: 53, process: 'node-cache', address: '169.254.25.10' },
    ],
    expect: {
      kubeProxy: 'ipvs',
      cni: 'flannel:vxlan',
      nodeLocalDNS: '169.254.25.10',
      suggestedAddons: ['node-local-dns'],
      roles: ['worker'],
      distribution: null,
      // The suggested node-local-dns add-on plans its DNS; node_exporter's 9100 is in no profile.
      unplanned: ['tcp/9100'],
    },
  },
  {
    name: 'calico-iptables-keepalived',
    description: 'a kubeadm control-plane node: kube-proxy iptables (KUBE-SERVICES), Calico VXLAN with BIRD on 179 and Typha, a Calico pod interface, keepalived VRRP for the API VIP',
    ip: [...ETH0, ...vxlan('vxlan.calico', 4789), ...vethNamed('cali0123456789a')],
    iptablesNatChains: ['KUBE-SERVICES'],
    keepalived: true,
    listeners: [
      { protocol: 'tcp', port: 6443, process: 'kube-apiserver' },
      { protocol: 'tcp', port: 2379, process: 'etcd' },
      { protocol: 'tcp', port: 2380, process: 'etcd' },
      { protocol: 'tcp', port: 10250, process: 'kubelet' },
      { protocol: 'tcp', port: 10259, process: 'kube-scheduler', address: '127.0.0.1' },
      { protocol: 'tcp', port: 179, process: 'bird' },
      { protocol: 'tcp', port: 5473, process: 'calico-typha' },
    ],
    expect: { kubeProxy: 'iptables', cni: 'calico:bgp+vxlan', nodeLocalDNS: null, suggestedAddons: ['keepalived'], roles: ['control-plane'], distribution: null, unplanned: [] },
  },
  {
    name: 'canal-nftables-rke2',
    description: 'an RKE2 server: kube-proxy nftables (table ip kube-proxy), canal (flannel VXLAN on 4789 with Calico pod interfaces), the supervisor on 9345, a MetalLB speaker',
    ip: [...ETH0, ...vxlan('flannel.1', 4789), ...vethNamed('cali0fedcba9876')],
    nft: 'table ip kube-proxy { }\ntable ip6 kube-proxy { }\n',
    listeners: [
      { protocol: 'tcp', port: 6443, process: 'kube-apiserver' },
      { protocol: 'tcp', port: 9345, process: 'rke2' },
      { protocol: 'tcp', port: 2379, process: 'etcd' },
      { protocol: 'tcp', port: 10250, process: 'kubelet' },
      { protocol: 'tcp', port: 9099, process: 'calico-node', address: '127.0.0.1' },
      { protocol: 'tcp', port: 7946, process: 'speaker' },
      { protocol: 'udp', port: 7946, process: 'speaker' },
    ],
    expect: {
      kubeProxy: 'nftables',
      cni: 'canal:vxlan',
      nodeLocalDNS: null,
      suggestedAddons: ['metallb'],
      roles: ['control-plane'],
      distribution: 'rke2',
      overrides: { 'canal-vxlan': 4789 },
      unplanned: [],
    },
  },
  {
    name: 'cilium-kube-proxy-replacement',
    description: 'a Cilium worker with kube-proxy replacement: cilium_host/cilium_net, the cilium_vxlan tunnel, health and Hubble, kube-vip; no kube-proxy state',
    ip: [
      ...ETH0,
      ['link', 'add', 'cilium_host', 'type', 'veth', 'peer', 'name', 'cilium_net'],
      ['addr', 'add', '10.0.1.7/32', 'dev', 'cilium_host'],
      ['link', 'set', 'cilium_host', 'up'],
      ['link', 'set', 'cilium_net', 'up'],
      ['link', 'add', 'cilium_vxlan', 'type', 'vxlan', 'external', 'dstport', '8472'],
      ['link', 'set', 'cilium_vxlan', 'up'],
    ],
    listeners: [
      { protocol: 'tcp', port: 10250, process: 'kubelet' },
      { protocol: 'tcp', port: 4240, process: 'cilium-agent' },
      { protocol: 'tcp', port: 4244, process: 'cilium-agent' },
      { protocol: 'tcp', port: 2112, process: 'kube-vip' },
    ],
    expect: { kubeProxy: 'none', cni: 'cilium:vxlan', nodeLocalDNS: null, suggestedAddons: [], otherAddons: ['kube-vip'], roles: ['worker'], distribution: null, unplanned: ['tcp/2112'] },
  },
];

/** The running daemons of a built scenario; `stop` ends them (the namespace is deleted by its owner). */
export interface BuiltScenario {
  stop(): Promise<void>;
}

async function waitFor(check: () => Promise<boolean>, what: string, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`scenario: ${what} did not come up within ${timeoutMs} ms`);
}

/** Builds `scenario` inside namespace `netns` (created by the caller with the netns helpers). */
export async function buildScenario(netns: string, scenario: Scenario): Promise<BuiltScenario> {
  const dir = await mkdtemp(path.join(tmpdir(), 'kw-detect-'));
  const children: ResultPromise[] = [];
  const stop = async () => {
    for (const child of children) child.kill('SIGTERM');
    await Promise.allSettled(children);
    await rm(dir, { recursive: true, force: true });
  };
  try {
    for (const args of scenario.ip) await inNetns(netns, 'ip', args);
    if (scenario.nft) await inNetns(netns, 'nft', ['-f', '-'], { input: scenario.nft });
    for (const chain of scenario.iptablesNatChains ?? []) await inNetns(netns, 'iptables-nft', ['-t', 'nat', '-N', chain]);
    const socat = (await execa('sh', ['-c', 'command -v socat'])).stdout.trim();
    // ss names a socket's process by its executable: socat copied under the daemon's name,
    // each name once and before any starts (copying over a running executable fails).
    for (const name of new Set(scenario.listeners.map((l) => l.process))) {
      await copyFile(socat, path.join(dir, name));
      await execa('chmod', ['755', path.join(dir, name)]);
    }
    for (const l of scenario.listeners) {
      const exe = path.join(dir, l.process);
      const bind = l.address ? `,bind=${l.address}` : '';
      const address = l.protocol === 'tcp' ? `TCP-LISTEN:${l.port},fork,reuseaddr${bind}` : `UDP-RECV:${l.port}${bind}`;
      // -u: only socket to /dev/null; both ways, EOF on /dev/null would end a UDP receiver at once.
      const child = execa('ip', ['netns', 'exec', netns, exe, '-u', address, '/dev/null'], { reject: false, stdin: 'ignore' });
      children.push(child);
    }
    if (scenario.keepalived) {
      const conf = path.join(dir, 'keepalived.conf');
      await writeFile(conf, 'vrrp_instance VI_1 {\n  state BACKUP\n  interface eth0\n  virtual_router_id 51\n  priority 100\n  advert_int 1\n  virtual_ipaddress { 10.0.0.100/24 }\n}\n');
      children.push(execa('ip', ['netns', 'exec', netns, 'keepalived', '-f', conf, '-n', '-l', '-p', path.join(dir, 'ka.pid'), '-r', path.join(dir, 'vrrp.pid')], { reject: false, stdin: 'ignore' }));
    }
    const expected = scenario.listeners.length + (scenario.keepalived ? 1 : 0);
    await waitFor(async () => {
      const ss = await inNetns(netns, 'ss', ['-H', '-lntuwp'], { reject: false });
      const lines = ss.stdout.split('\n');
      const named = scenario.listeners.filter((l) => lines.some((line) => line.startsWith(`${l.protocol} `) && line.includes(`:${l.port} `) && line.includes(`"${l.process}"`))).length;
      const vrrp = scenario.keepalived && /:112 .*keepalived/.test(ss.stdout) ? 1 : 0;
      return named + vrrp >= expected;
    }, `the listeners of ${scenario.name}`);
    return { stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** Fixtures: what `kubewall detect --capture` read from each scenario, built with real devices (scripts/capture-detect-fixtures.ts). */
export function fixtureSnapshot(name: string): NodeSnapshot {
  const file = `${FIXTURES_DIR}detect/${name}.json`;
  return buildSnapshot(parseDetectCapture(readFileSync(file, 'utf8'), file), `${name}.json`);
}

/** The expectations every scenario states, checked the same way against a fixture and a live namespace. */
export function assertScenario(report: DetectReport, scenario: Scenario): void {
  const e = scenario.expect;
  const where = `${scenario.name}: `;
  assert.is(report.kubeProxy.mode, e.kubeProxy, `${where}kube-proxy mode`);
  assert.is(report.cni.profile, e.cni, `${where}cni`);
  assert.is(report.nodeLocalDNS.address, e.nodeLocalDNS, `${where}nodelocaldns`);
  assert.equal(report.addons.filter((a) => a.suggest).map((a) => a.name).sort(), [...e.suggestedAddons].sort(), `${where}suggested add-ons`);
  assert.equal(report.addons.filter((a) => !a.suggest).map((a) => a.name).sort(), [...(e.otherAddons ?? [])].sort(), `${where}add-ons not suggested`);
  assert.equal(report.roles.roles, e.roles, `${where}roles`);
  assert.is(report.distribution.name, e.distribution, `${where}distribution`);
  assert.equal(report.clusterFile.overrides ?? {}, Object.fromEntries(Object.entries(e.overrides ?? {}).map(([id, ports]) => [id, { ports }])), `${where}overrides`);
  assert.equal(report.listeners.unplanned.map((u) => `${u.protocol}/${u.port}`).sort(), [...e.unplanned].sort(), `${where}unplanned listeners`);
}

