import { execa } from 'execa';
import type { Family } from '../../src/index.js';
import { createNetns, deleteNetns } from '../helpers/netns.js';
import type { PeerName } from './adapter.js';
import { AgentClient } from './agent-client.js';
import type { LabAddresses } from './lab.js';

export type LanPeer = Exclude<PeerName, 'self' | 'pod'>;

/** Short tags for interface and namespace names (15-character interface limit). */
const TAG: Record<LanPeer | 'node', string> = {
  node: 'node',
  'control-plane': 'cp',
  worker: 'wk',
  etcd: 'etcd',
  'load-balancer': 'lb',
  admin: 'adm',
  outsider: 'out',
};

export const NODE_INTERFACES = { lan: 'eth0', pod: 'kwpod' } as const;

/**
 * The namespaces of one lab: a `lan` namespace holding a bridge, the node
 * and every peer on it through veths, and a pod behind a veth on the node.
 * Every interface is created inside a namespace (`ip -n`), never on the
 * host. `destroy` deletes everything and never throws.
 */
export class Topology {
  readonly namespaces: string[] = [];
  readonly agents = new Map<PeerName, AgentClient>();
  lan = '';
  node = '';
  pod = '';
  readonly peerNetns = new Map<LanPeer, string>();

  constructor(readonly lab: LabAddresses) {}

  private async netns(what: string): Promise<string> {
    const name = await createNetns(what);
    this.namespaces.push(name);
    return name;
  }

  /** Runs `ip -batch` inside a namespace: one process for many changes. */
  private static async ipBatch(netns: string, lines: readonly string[]): Promise<void> {
    const result = await execa('ip', ['-n', netns, '-batch', '-'], { input: `${lines.join('\n')}\n`, reject: false });
    if (result.exitCode !== 0) throw new Error(`ip -n ${netns} -batch failed: ${result.stderr}\n${lines.join('\n')}`);
  }

  /** `key=value` sysctls, written under /proc/sys (per namespace) so procps need not be installed. */
  private static sysctl(netns: string, settings: readonly string[]): Promise<unknown> {
    const script = settings
      .map((s) => {
        const [key, value] = s.split('=');
        return `echo ${value} > /proc/sys/${key!.replaceAll('.', '/')}`;
      })
      .join(' && ');
    return execa('ip', ['netns', 'exec', netns, 'sh', '-c', script]);
  }

  async create(): Promise<void> {
    const { lab } = this;
    const members: (LanPeer | 'node')[] = ['node', ...lab.peers.keys()];
    this.lan = await this.netns('lan');
    const created = await Promise.all(members.map((m) => this.netns(TAG[m])));
    members.forEach((member, i) => {
      if (member === 'node') this.node = created[i]!;
      else this.peerNetns.set(member, created[i]!);
    });
    this.pod = await this.netns('pod');

    // Addresses take effect at once (nodad, no DAD delay); ARP/NDP answers for addresses outside the "subnet".
    const settings = ['net.ipv6.conf.all.accept_dad=0', 'net.ipv6.conf.default.accept_dad=0', 'net.ipv4.conf.all.rp_filter=0', 'net.ipv4.conf.default.rp_filter=0'];
    await Promise.all([
      ...[...this.peerNetns.values(), this.pod, this.lan].map((ns) => Topology.sysctl(ns, settings)),
      Topology.sysctl(this.node, [...settings, 'net.ipv4.ip_forward=1', 'net.ipv6.conf.all.forwarding=1']),
    ]);

    const lanLines = ['link add br0 type bridge', 'link set br0 up'];
    for (const member of members) {
      const netns = member === 'node' ? this.node : this.peerNetns.get(member)!;
      lanLines.push(`link add v-${TAG[member]} type veth peer name eth0 netns ${netns}`, `link set v-${TAG[member]} master br0 up`);
    }
    await Topology.ipBatch(this.lan, lanLines);

    const onLan = (addresses: Readonly<Record<Family, string>>) => [
      `addr add ${addresses.ipv4}/32 dev eth0`,
      `addr add ${addresses.ipv6}/128 dev eth0 nodad`,
      'link set eth0 up',
      // On-link default routes: addresses from different subnets talk on one L2 segment.
      'route add default dev eth0',
      'route add ::/0 dev eth0',
    ];
    const toPod = [
      `route add ${lab.pod.ipv4}/32 via ${lab.node.ipv4} dev eth0 onlink`,
      `route add ${lab.pod.ipv6}/128 via ${lab.node.ipv6} dev eth0 onlink`,
    ];
    await Promise.all([
      ...[...lab.peers].map(([peer, { addresses }]) => Topology.ipBatch(this.peerNetns.get(peer)!, [...onLan(addresses), ...toPod])),
      Topology.ipBatch(this.node, [
        ...onLan(lab.node),
        `link add ${NODE_INTERFACES.pod} type veth peer name eth0 netns ${this.pod}`,
        `addr add ${lab.podGateway.ipv4}/${lab.podPrefix.ipv4} dev ${NODE_INTERFACES.pod}`,
        `addr add ${lab.podGateway.ipv6}/${lab.podPrefix.ipv6} dev ${NODE_INTERFACES.pod} nodad`,
        `link set ${NODE_INTERFACES.pod} up`,
      ]),
    ]);
    await Topology.ipBatch(this.pod, [
      `addr add ${lab.pod.ipv4}/${lab.podPrefix.ipv4} dev eth0`,
      `addr add ${lab.pod.ipv6}/${lab.podPrefix.ipv6} dev eth0 nodad`,
      'link set eth0 up',
      `route add default via ${lab.podGateway.ipv4}`,
      `route add ::/0 via ${lab.podGateway.ipv6}`,
    ]);

    const starts: [PeerName, string][] = [
      ['self', this.node],
      ['pod', this.pod],
      ...[...this.peerNetns].map(([peer, ns]): [PeerName, string] => [peer, ns]),
    ];
    const agents = await Promise.all(starts.map(([peer, ns]) => AgentClient.start(ns, peer === 'self' ? 'node' : peer)));
    starts.forEach(([peer], i) => this.agents.set(peer, agents[i]!));
  }

  agent(peer: PeerName): AgentClient {
    const agent = this.agents.get(peer);
    if (!agent) throw new Error(`no agent for ${peer}`);
    return agent;
  }

  /** Address of a peer (the node itself for `self`). */
  address(peer: PeerName, family: Family): string {
    if (peer === 'self') return this.lab.node[family];
    if (peer === 'pod') return this.lab.pod[family];
    const lanPeer = this.lab.peers.get(peer);
    if (!lanPeer) throw new Error(`no ${peer} peer in this lab`);
    return lanPeer.addresses[family];
  }

  async destroy(): Promise<void> {
    await Promise.all([...this.agents.values()].map((a) => a.stop().catch(() => undefined)));
    await Promise.all(this.namespaces.map((ns) => deleteNetns(ns)));
  }
}
