import { execa } from 'execa';
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import type { Family, Role } from '../../src/index.js';
import type { AdapterContext, ConformanceAdapter, PeerName, RenderedOutput } from './adapter.js';
import type { ProbeStatus } from './agent.js';
import { loadClusterContext, makeAdapterContext, planJson, renderOutput, type ClusterContext } from './harness.js';
import { NODE_INTERFACES, Topology } from './topology.js';

/**
 * The cluster-traffic suite: traffic a real node receives that the seed's
 * "Used by" column never lists (issue 12), sent through each backend's
 * rendered rules in a namespace lab:
 *
 * - pod → a Service IP on a local `kube-ipvs0` (kube-proxy ipvs: IPVS serves
 *   Service IPs at LOCAL_IN, after INPUT's filtering; this kernel has no
 *   IPVS and no dummy device, so the address sits on a veth end of that name
 *   and a socket answers where IPVS would);
 * - pod → NodeLocal DNSCache's address on a `nodelocaldns` device;
 * - a scrape of the kubelet from another node's address (a pod's traffic
 *   masqueraded by the CNI);
 * - a NodePort in the closed part of the NodePort range, and a restricted
 *   NodePort on a control-plane node, both DNATed to a pod as kube-proxy does;
 * - IPv6 link-local control traffic: an MLD query (answered with a report),
 *   a DHCPv6 reply to the client port, a VRRPv3 advert to ff02::12.
 *
 * Each case is shown to fail on the rules as they were before (see
 * cluster-traffic-self-test.test.ts): without the rule that case needs.
 */

export const TRAFFIC_CLUSTER = 'test/conformance/cluster-traffic.yaml';
/** The node under test is a control-plane node: keepalived runs there, and NodePorts must be enforced there too. */
export const TRAFFIC_ROLES: readonly Role[] = ['control-plane'];

/** Addresses the lab makes local on the node, as kube-proxy ipvs and NodeLocal DNSCache do. */
export const SERVICE_IP: Readonly<Record<Family, string>> = { ipv4: '10.96.0.10', ipv6: 'fd00:96::a' };
export const NODE_LOCAL_DNS = '169.254.20.10';
/** NodePorts the lab DNATs to the pod: one the override allows (load balancers only), one in the closed part of the range. */
export const ALLOWED_NODEPORT = 30080;
export const CLOSED_NODEPORT = 31500;
const POD_PORT = 8080;
const KUBELET_PORT = 10250;

export interface TrafficLab {
  readonly adapter: ConformanceAdapter;
  readonly topo: Topology;
  readonly ctx: ClusterContext;
  readonly adapterContext: AdapterContext;
  /** Link-local addresses on eth0: the node's and the control-plane peer's. */
  readonly linkLocal: { readonly node: string; readonly peer: string };
  readonly workDir: string;
  /** Probe timeouts, tried in turn until a cell answers (the self-test, expecting failures, tries once). */
  probeTimeoutsMs: readonly number[];
  /** Renders with extra CLI arguments into a fresh folder (the kube-proxy mode). */
  render(extraArgs: readonly string[], name: string): Promise<RenderedOutput>;
  apply(output: RenderedOutput): Promise<void>;
}

export interface TrafficCase {
  readonly id: string;
  readonly title: string;
  /** Why a backend does not run this case (it refuses or documents the gap), or null when it does. */
  skip(backend: string): string | null;
  /** Sends the case's traffic; returns what went wrong, one line each (empty: the case holds). */
  run(lab: TrafficLab): Promise<string[]>;
}

/** A loaded machine can delay a responder past the first timeout: a cell is retried once, longer. */
export const PROBE_TIMEOUTS_MS: readonly number[] = [800, 2500];

/** Probes from one peer; a cell that does not answer is tried again with the next timeout. */
async function probe(lab: TrafficLab, from: PeerName, protocol: 'tcp' | 'udp', host: string, port: number, sourcePort?: number): Promise<ProbeStatus> {
  let status: ProbeStatus = 'error';
  for (const timeoutMs of lab.probeTimeoutsMs) {
    const [result] = await lab.topo.agent(from).probe([{ key: 'k', protocol, host, port, ...(sourcePort === undefined ? {} : { sourcePort }) }], timeoutMs);
    status = result!.status;
    if (status === 'open') return status;
  }
  return status;
}

/** `from → host:port`: expected open (true) or not open (false); a line when it is not so. */
async function expect(lab: TrafficLab, from: PeerName, protocol: 'tcp' | 'udp', host: string, port: number, open: boolean, label: string, sourcePort?: number): Promise<string[]> {
  const status = await probe(lab, from, protocol, host, port, sourcePort);
  if ((status === 'open') === open) return [];
  return [`${label}: ${from} → ${host} ${protocol.toUpperCase()} ${port}: expected ${open ? 'through' : 'refused'}, observed ${status}`];
}

const FAST_ONLY = (backend: string, why: string) => (backend === 'nftables' || backend === 'iptables' ? null : `${backend}: ${why}`);

export const TRAFFIC_CASES: readonly TrafficCase[] = [
  {
    id: 'ipvs-service',
    title: 'kube-proxy ipvs: pod → Service IP on the local kube-ipvs0, UDP and TCP 53, both families',
    skip: (b) => FAST_ONLY(b, 'refuses kubeProxy ipvs (it cannot accept by destination address)'),
    async run(lab) {
      const out: string[] = [];
      for (const family of ['ipv4', 'ipv6'] as const) {
        for (const protocol of ['udp', 'tcp'] as const) out.push(...(await expect(lab, 'pod', protocol, SERVICE_IP[family], 53, true, 'ipvs-service')));
      }
      return out;
    },
  },
  {
    id: 'node-local-dns',
    title: 'NodeLocal DNSCache: pod → 169.254.20.10:53 UDP and TCP; the same pod → the node address :53 stays closed',
    skip: () => null,
    async run(lab) {
      return [
        ...(await expect(lab, 'pod', 'udp', NODE_LOCAL_DNS, 53, true, 'node-local-dns')),
        ...(await expect(lab, 'pod', 'tcp', NODE_LOCAL_DNS, 53, true, 'node-local-dns')),
        ...(await expect(lab, 'pod', 'tcp', lab.topo.lab.node.ipv4, 53, false, 'node-local-dns (other destination)')),
      ];
    },
  },
  {
    id: 'masqueraded-scrape',
    title: 'metrics-server behind a masquerading CNI: another node (worker) → kubelet 10250, both families; an outsider stays out',
    skip: () => null,
    async run(lab) {
      const out: string[] = [];
      for (const family of ['ipv4', 'ipv6'] as const) {
        out.push(...(await expect(lab, 'worker', 'tcp', lab.topo.lab.node[family], KUBELET_PORT, true, 'masqueraded-scrape')));
        out.push(...(await expect(lab, 'outsider', 'tcp', lab.topo.lab.node[family], KUBELET_PORT, false, 'masqueraded-scrape (outsider)')));
      }
      return out;
    },
  },
  {
    id: 'nodeport-closed-range',
    title: `NodePort ${CLOSED_NODEPORT} (inside the default range, outside the override's 30000-30999), DNATed to a pod: refused to an outsider and a load balancer`,
    skip: (b) => FAST_ONLY(b, 'cannot filter before kube-proxy DNAT (documented: it warns, choose nftables/iptables)'),
    async run(lab) {
      const out: string[] = [];
      for (const family of ['ipv4', 'ipv6'] as const) {
        out.push(...(await expect(lab, 'outsider', 'tcp', lab.topo.lab.node[family], CLOSED_NODEPORT, false, 'nodeport-closed-range')));
        out.push(...(await expect(lab, 'load-balancer', 'tcp', lab.topo.lab.node[family], CLOSED_NODEPORT, false, 'nodeport-closed-range')));
      }
      return out;
    },
  },
  {
    id: 'nodeport-control-plane',
    title: `restricted NodePort ${ALLOWED_NODEPORT} on a control-plane node, DNATed to a pod: the load balancer gets through, an outsider does not`,
    skip: (b) => FAST_ONLY(b, 'cannot filter before kube-proxy DNAT (documented: it warns, choose nftables/iptables)'),
    async run(lab) {
      const out: string[] = [];
      for (const family of ['ipv4', 'ipv6'] as const) {
        out.push(...(await expect(lab, 'load-balancer', 'tcp', lab.topo.lab.node[family], ALLOWED_NODEPORT, true, 'nodeport-control-plane')));
        out.push(...(await expect(lab, 'outsider', 'tcp', lab.topo.lab.node[family], ALLOWED_NODEPORT, false, 'nodeport-control-plane')));
      }
      return out;
    },
  },
  {
    id: 'mld',
    title: 'MLD: a query from a link-local querier reaches the node, which answers with a report',
    skip: () => null,
    async run(lab) {
      const result = await linkLocalExchange(lab, 'mld');
      const out: string[] = [];
      if (!result.received) out.push(`mld: query from ${lab.linkLocal.peer} to ff02::1: expected through, observed dropped`);
      else if (!result.answered) out.push(`mld: the node received the query but no report from ${lab.linkLocal.node} reached the querier`);
      return out;
    },
  },
  {
    id: 'dhcpv6-reply',
    title: 'DHCPv6: a server reply from fe80::…:547 reaches the client port 546 (no conntrack entry matches the multicast Solicit)',
    skip: () => null,
    async run(lab) {
      return expect(lab, 'control-plane', 'udp', `${lab.linkLocal.node}%eth0`, 546, true, 'dhcpv6-reply', 547);
    },
  },
  {
    id: 'vrrpv3',
    title: 'VRRPv3 over IPv6: an advert from the peer link-local address to ff02::12 reaches keepalived on the node',
    skip: () => null,
    async run(lab) {
      const result = await linkLocalExchange(lab, 'vrrp');
      return result.received ? [] : [`vrrpv3: advert from ${lab.linkLocal.peer} to ff02::12: expected through, observed dropped`];
    },
  },
];

/**
 * The node's side of a link-local exchange: a raw socket (delivered after
 * INPUT, like the kernel's own MLD and keepalived's VRRP socket) waiting for
 * one packet of the protocol from the peer. Prints `ready`, then one JSON line.
 */
const NODE_RECEIVER = String.raw`
import json, select, socket, struct, sys, time
proto, group, ifname, want, timeout = int(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4]), float(sys.argv[5])
s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, proto)
if group != '-':
    s.setsockopt(socket.IPPROTO_IPV6, getattr(socket, 'IPV6_JOIN_GROUP', 20), socket.inet_pton(socket.AF_INET6, group) + struct.pack('@I', socket.if_nametoindex(ifname)))
print('ready', flush=True)
end = time.time() + timeout
while True:
    left = end - time.time()
    if left <= 0 or not select.select([s], [], [], left)[0]:
        print(json.dumps({'received': False}), flush=True)
        break
    data, addr = s.recvfrom(4096)
    if want >= 0 and (not data or data[0] != want):
        continue
    print(json.dumps({'received': True, 'from': addr[0].split('%')[0]}), flush=True)
    break
`;

/**
 * The peer's side: sends an MLDv1 general query (hop limit 1, Router Alert) to ff02::1 or a
 * VRRPv3 advert (hop limit 255) to ff02::12 from its link-local address; for
 * MLD it then captures eth0 for a report (131 or 143) from the node.
 */
const PEER_SENDER = String.raw`
import json, select, socket, struct, sys, time
kind, ifname, node = sys.argv[1], sys.argv[2], sys.argv[3]
idx = socket.if_nametoindex(ifname)
HOPS, IF = getattr(socket, 'IPV6_MULTICAST_HOPS', 18), getattr(socket, 'IPV6_MULTICAST_IF', 17)
capture = None
if kind == 'mld':
    capture = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x86dd))
    capture.bind((ifname, 0x86dd))
    s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, 58)
    s.setsockopt(socket.IPPROTO_IPV6, HOPS, 1)
    s.setsockopt(socket.IPPROTO_IPV6, IF, idx)
    # A Hop-by-Hop header with Router Alert (MLD): Linux ignores a query without it (RFC 3810 6.2).
    s.setsockopt(socket.IPPROTO_IPV6, getattr(socket, 'IPV6_HOPOPTS', 54), bytes([0, 0, 5, 2, 0, 0, 1, 0]))
    s.sendto(struct.pack('!BBHHH16s', 130, 0, 0, 200, 0, bytes(16)), ('ff02::1', 0, 0, idx))
else:
    s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, 112)
    s.setsockopt(socket.IPPROTO_IPV6, HOPS, 255)
    s.setsockopt(socket.IPPROTO_IPV6, IF, idx)
    s.sendto(bytes([0x31, 51, 100, 1, 0, 100, 0, 0]) + socket.inet_pton(socket.AF_INET6, 'fd00:40::100'), ('ff02::12', 0, 0, idx))
answered = False
if capture is not None:
    want = socket.inet_pton(socket.AF_INET6, node)
    end = time.time() + 2.5
    while not answered:
        left = end - time.time()
        if left <= 0 or not select.select([capture], [], [], left)[0]:
            break
        frame = capture.recv(4096)
        ip = frame[14:]
        if len(ip) < 48 or ip[8:24] != want:
            continue
        nh, off = ip[6], 40
        if nh == 0:
            nh, off = ip[40], 40 + (ip[41] + 1) * 8
        answered = nh == 58 and len(ip) > off and ip[off] in (131, 143)
print(json.dumps({'answered': answered}), flush=True)
`;

async function linkLocalExchange(lab: TrafficLab, kind: 'mld' | 'vrrp'): Promise<{ received: boolean; answered: boolean }> {
  const [proto, group, want] = kind === 'mld' ? [58, '-', 130] : [112, 'ff02::12', -1];
  const receiver = execa('ip', ['netns', 'exec', lab.topo.node, 'python3', '-c', NODE_RECEIVER, String(proto), group, NODE_INTERFACES.lan, String(want), '3'], { reject: false });
  const ready = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${kind}: the node's receiver did not start`)), 10_000);
    readline.createInterface({ input: receiver.stdout! }).on('line', (line) => {
      if (line === 'ready') {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  await ready;
  const peerNetns = lab.topo.peerNetns.get('control-plane')!;
  const sent = await execa('ip', ['netns', 'exec', peerNetns, 'python3', '-c', PEER_SENDER, kind, 'eth0', lab.linkLocal.node], { reject: false });
  const done = await receiver;
  const last = (text: string) => text.trim().split('\n').filter((l) => l.startsWith('{')).at(-1);
  const nodeLine = last(done.stdout);
  const peerLine = last(sent.stdout);
  if (!nodeLine || !peerLine) throw new Error(`${kind}: no answer from the lab's python helpers: ${done.stderr} ${sent.stderr}`);
  const node = JSON.parse(nodeLine) as { received: boolean; from?: string };
  const peer = JSON.parse(peerLine) as { answered: boolean };
  return { received: node.received && node.from === lab.linkLocal.peer, answered: peer.answered };
}

async function linkLocalOf(netns: string): Promise<string> {
  // Link-local addresses come up with the link (DAD is off in the lab); wait a little for them.
  for (let i = 0; i < 50; i += 1) {
    const { stdout } = await execa('ip', ['-n', netns, '-j', '-6', 'addr', 'show', 'dev', 'eth0', 'scope', 'link']);
    const parsed = JSON.parse(stdout || '[]') as { addr_info?: { local?: string; scope?: string }[] }[];
    // `ip -j` lists filtered-out addresses as empty objects.
    const address = parsed[0]?.addr_info?.find((a) => a.scope === 'link')?.local;
    if (address) return address;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no link-local address on eth0 in ${netns}`);
}

/** kube-proxy-like DNAT of both NodePorts to the pod, in a table of the lab's own. */
function nodePortDnat(pod: Readonly<Record<Family, string>>): string {
  return [
    'table inet kwlab-nat {',
    '  chain prerouting {',
    '    type nat hook prerouting priority dstnat; policy accept;',
    `    meta nfproto ipv4 tcp dport { ${ALLOWED_NODEPORT}, ${CLOSED_NODEPORT} } dnat ip to ${pod.ipv4}:${POD_PORT}`,
    `    meta nfproto ipv6 tcp dport { ${ALLOWED_NODEPORT}, ${CLOSED_NODEPORT} } dnat ip6 to [${pod.ipv6}]:${POD_PORT}`,
    '  }',
    '}',
    '',
  ].join('\n');
}

/**
 * One lab for one backend: topology, the devices kube-proxy ipvs and
 * NodeLocal DNSCache create, NodePort DNAT, listeners, and the adapter's
 * set-up. `fn` applies and probes; everything is removed afterwards.
 */
export async function withTrafficLab<T>(adapter: ConformanceAdapter, log: (line: string) => void, fn: (lab: TrafficLab) => Promise<T>): Promise<T> {
  const ctx = await loadClusterContext(TRAFFIC_CLUSTER);
  const workDir = await mkdtemp(path.join(tmpdir(), 'kw-traffic-'));
  const topo = new Topology(ctx.lab);
  const spawned: ChildProcess[] = [];
  let adapterContext: AdapterContext | undefined;
  try {
    await topo.create();
    const ip = (netns: string, lines: readonly string[]) => execa('ip', ['-n', netns, '-batch', '-'], { input: `${lines.join('\n')}\n` });
    await ip(topo.node, [
      // kube-ipvs0 and nodelocaldns are dummy devices on a real node; this kernel has none, so veth ends of those names.
      'link add kube-ipvs0 type veth peer name kwipvs-peer',
      `addr add ${SERVICE_IP.ipv4}/32 dev kube-ipvs0`,
      `addr add ${SERVICE_IP.ipv6}/128 dev kube-ipvs0 nodad`,
      'link set kube-ipvs0 up',
      'link set kwipvs-peer up',
      'link add nodelocaldns type veth peer name kwdns-peer',
      `addr add ${NODE_LOCAL_DNS}/32 dev nodelocaldns`,
      'link set nodelocaldns up',
      'link set kwdns-peer up',
    ]);
    // The lab's bridge floods multicast: with snooping on it would forward the node's MLD report only to
    // ports it learned a querier on, and it learns none from a query without a Router Alert option.
    await ip(topo.lan, ['link set br0 type bridge mcast_snooping 0']);
    await writeFile(path.join(workDir, 'nat.nft'), nodePortDnat(ctx.lab.pod));
    await execa('ip', ['netns', 'exec', topo.node, 'nft', '-f', path.join(workDir, 'nat.nft')]);
    const node = ctx.lab.node;
    await topo.agent('self').listen(
      [
        { host: SERVICE_IP.ipv4, port: 53 },
        { host: SERVICE_IP.ipv6, port: 53 },
        { host: NODE_LOCAL_DNS, port: 53 },
        { host: node.ipv4, port: 53 },
        { host: node.ipv4, port: KUBELET_PORT },
        { host: node.ipv6, port: KUBELET_PORT },
      ],
      [
        { host: SERVICE_IP.ipv4, port: 53 },
        { host: SERVICE_IP.ipv6, port: 53 },
        { host: NODE_LOCAL_DNS, port: 53 },
        { host: '::', port: 546 },
      ],
    );
    await topo.agent('pod').listen([{ host: ctx.lab.pod.ipv4, port: POD_PORT }, { host: ctx.lab.pod.ipv6, port: POD_PORT }], []);
    const linkLocal = { node: await linkLocalOf(topo.node), peer: await linkLocalOf(topo.peerNetns.get('control-plane')!) };
    adapterContext = makeAdapterContext({ adapter, netns: topo.node, nodeAddresses: node, workDir, spawned, log });
    await adapter.setup?.(adapterContext);
    const context = adapterContext;
    let renders = 0;
    const lab: TrafficLab = {
      adapter,
      topo,
      ctx,
      adapterContext: context,
      linkLocal,
      workDir,
      probeTimeoutsMs: PROBE_TIMEOUTS_MS,
      async render(extraArgs, name) {
        renders += 1;
        const plan = await planJson(TRAFFIC_CLUSTER, TRAFFIC_ROLES, extraArgs);
        const withPlan: ClusterContext = { ...ctx, plans: new Map([[TRAFFIC_ROLES.join('+'), plan]]) };
        return renderOutput(adapter, withPlan, TRAFFIC_ROLES, path.join(workDir, `${renders}-${name}`), extraArgs);
      },
      apply: (output) => adapter.apply(context, output),
    };
    return await fn(lab);
  } finally {
    if (adapterContext) await adapter.teardown?.(adapterContext).catch(() => undefined);
    for (const child of spawned) child.kill('SIGKILL');
    await topo.destroy();
    await rm(workDir, { recursive: true, force: true });
    if (adapterContext) await rm(adapterContext.etcDir, { recursive: true, force: true });
  }
}

/** The render each backend gets: kube-proxy ipvs where the backend can express it. */
export function trafficRenderArgs(backend: string): string[] {
  return backend === 'nftables' || backend === 'iptables' ? ['--kube-proxy', 'ipvs'] : [];
}

/** Runs every case the backend takes against one applied render; returns failures per case and the skipped ones. */
export async function runTrafficCases(lab: TrafficLab, cases: readonly TrafficCase[] = TRAFFIC_CASES): Promise<{ failures: Map<string, string[]>; skipped: string[] }> {
  const failures = new Map<string, string[]>();
  const skipped: string[] = [];
  for (const kase of cases) {
    const why = kase.skip(lab.adapter.backend);
    if (why !== null) {
      skipped.push(`${kase.id}: ${why}`);
      continue;
    }
    const found = await kase.run(lab);
    if (found.length > 0) failures.set(kase.id, found);
  }
  return { failures, skipped };
}
