import { execa } from 'execa';
import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { EMBEDDED_DEFAULT_CLUSTER, loadCluster, type Family, type Plan } from '../../src/index.js';
import { createNetns, deleteNetns, withNetns } from '../helpers/netns.js';
import { REPO_ROOT } from '../helpers/paths.js';
import type { AdapterContext, ConformanceAdapter, RenderedOutput } from './adapter.js';
import {
  chooseEncapsulationLab,
  deviceKind,
  POD_PORTS,
  probeToken,
  tunnelDeviceLines,
  vxlanFdbLines,
  wireProbes,
  type EncapsulationCase,
  type EncapsulationLab,
  type EndpointName,
  type NodeEndpoint,
} from './encapsulation.js';
import { makeAdapterContext, planJson, renderOutput, rolesKey, type ClusterContext } from './harness.js';
import { chooseLabAddresses } from './lab.js';
import { NODE_INTERFACES } from './topology.js';

/**
 * The encapsulation suite's I/O half: two node namespaces (a control-plane
 * and a worker node, each with a pod behind it) and an outsider on one
 * segment; kubewall's rules for each node's role with the case's `--cni`,
 * applied on both ends through the backend adapter; the CNI's encapsulation
 * really running between them (a kernel VXLAN device, Geneve where the
 * kernel has it) and, for tunnels this kernel lacks (WireGuard, IP-in-IP),
 * their packets sent from plain or raw sockets and observed at the far end.
 */

/** How long receivers get before a round is judged; silent expected cells are tried again, slower. */
const SETTLE_MS = [500, 1200, 2500];
/** A probe is judged refused only this long after it was sent, however fast the others came through. */
const REFUSED_AFTER_MS = 1500;

export interface EncapsulationContext {
  readonly cni: string;
  readonly cluster: ClusterContext;
  readonly lab: EncapsulationLab;
  readonly plans: Readonly<Record<'a' | 'b', Plan>>;
}

/** Plans (with `--cni`) for both nodes' roles and the lab's addresses. */
export async function loadEncapsulationContext(file: string | null, cni: string): Promise<EncapsulationContext> {
  const cluster = file === null ? EMBEDDED_DEFAULT_CLUSTER : await loadCluster(file, REPO_ROOT);
  const args = ['--cni', cni];
  const [a, b] = await Promise.all([planJson(file, ['control-plane'], args), planJson(file, ['worker'], args)]);
  const plans = new Map<string, Plan>([
    [rolesKey(['control-plane']), a],
    [rolesKey(['worker']), b],
  ]);
  const labAddresses = chooseLabAddresses(cluster, [a, b]);
  return {
    cni,
    cluster: { file, cluster, plans, lab: labAddresses },
    lab: chooseEncapsulationLab(cluster, labAddresses),
    plans: { a, b },
  };
}

/** Whether this kernel can create a Geneve device (these machines lack the module). */
export async function kernelHasGeneve(): Promise<boolean> {
  return withNetns('gnvprobe', async (netns) => {
    const result = await execa('ip', ['-n', netns, 'link', 'add', 'kwprobe', 'type', 'geneve', 'id', '1', 'remote', '192.0.2.1'], { reject: false });
    return result.exitCode === 0;
  });
}

export interface EncapsulationReport {
  readonly title: string;
  /** Probes judged after kubewall was applied (datagrams, raw packets, TCP connects). */
  readonly checks: number;
  readonly failures: readonly string[];
  readonly notes: readonly string[];
  readonly phasesMs: Readonly<Record<string, number>>;
  readonly wallMs: number;
}

/** A long-running socat in a namespace; everything it prints is kept (latin1: raw packets are binary). */
class Receiver {
  private output = '';
  readonly child: ChildProcess;

  constructor(
    readonly where: string,
    netns: string,
    args: readonly string[],
  ) {
    this.child = spawn('ip', ['netns', 'exec', netns, 'socat', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.stdout?.on('data', (chunk: Buffer) => (this.output += chunk.toString('latin1')));
    this.child.stderr?.on('data', (chunk: Buffer) => (this.output += chunk.toString('latin1')));
  }

  saw(token: string): boolean {
    return this.output.includes(token);
  }

  /** Exited early (a bind failed): its stderr, for the lab check. */
  failure(): string | null {
    return this.child.exitCode !== null ? `${this.where} exited ${this.child.exitCode}: ${this.output.trim()}` : null;
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.kill('SIGKILL');
    await exited;
  }
}

/** One packet (datagram or raw IP) from a namespace, whose token a receiver should or should not see. */
interface PacketProbe {
  readonly description: string;
  /** After kubewall: between nodes the tunnel must work; from the outsider, or on another mode's port, it must not. */
  readonly expectAfter: 'observed' | 'refused';
  /** The node whose firewall judges it (its own receiver, or its pod's). */
  readonly to: 'a' | 'b';
  readonly receiver: Receiver;
  send(phase: string): Promise<void>;
  token(phase: string): string;
}

/** A TCP connect from one pod to the other through the overlay: the banner must come back. */
interface ConnectProbe {
  readonly description: string;
  readonly netns: string;
  readonly host: string;
  readonly banner: string;
}

type WireTransport = { readonly udp: number } | { readonly ipProtocol: number };

function sendAddress(transport: WireTransport, family: Family, host: string): string {
  if ('udp' in transport) return family === 'ipv4' ? `UDP4-SENDTO:${host}:${transport.udp}` : `UDP6-SENDTO:[${host}]:${transport.udp}`;
  return family === 'ipv4' ? `IP4-SENDTO:${host}:${transport.ipProtocol}` : `IP6-SENDTO:[${host}]:${transport.ipProtocol}`;
}

function receiveAddress(transport: WireTransport, family: Family): string {
  if ('udp' in transport) return family === 'ipv4' ? `UDP4-RECV:${transport.udp}` : `UDP6-RECV:${transport.udp},ipv6only=1`;
  return family === 'ipv4' ? `IP4-RECV:${transport.ipProtocol}` : `IP6-RECV:${transport.ipProtocol}`;
}

async function socatSend(netns: string, payload: string, address: string): Promise<void> {
  const result = await execa('ip', ['netns', 'exec', netns, 'socat', '-u', 'STDIN', address], { input: payload, reject: false, timeout: 10_000 });
  if (result.exitCode !== 0) throw new Error(`socat ${address} in ${netns} failed: ${result.stderr.trim()}`);
}

async function ipBatch(tool: 'ip' | 'bridge', netns: string, lines: readonly string[]): Promise<void> {
  const result = await execa(tool, ['-n', netns, '-batch', '-'], { input: `${lines.join('\n')}\n`, reject: false });
  if (result.exitCode !== 0) throw new Error(`${tool} -n ${netns} -batch failed: ${result.stderr}\n${lines.join('\n')}`);
}

function sysctl(netns: string, settings: readonly string[]): Promise<unknown> {
  const script = settings.map((s) => `echo ${s.split('=')[1]} > /proc/sys/${s.split('=')[0]!.replaceAll('.', '/')}`).join(' && ');
  return execa('ip', ['netns', 'exec', netns, 'sh', '-c', script]);
}

/** The one tunnel of a case that runs as a kernel device. */
interface KernelTunnel {
  readonly kind: 'vxlan' | 'geneve';
  readonly port: number;
}

/** The namespaces of one lab, deleted by `destroy` (which never throws). */
class EncapsulationTopology {
  readonly namespaces: string[] = [];
  readonly ns = { lan: '', a: '', b: '', outsider: '', podA: '', podB: '' };

  constructor(
    readonly lab: EncapsulationLab,
    readonly tunnel: KernelTunnel | null,
  ) {}

  private async netns(what: string): Promise<string> {
    const name = await createNetns(what);
    this.namespaces.push(name);
    return name;
  }

  async create(): Promise<void> {
    const { lab, ns } = this;
    const roles = ['lan', 'a', 'b', 'outsider', 'podA', 'podB'] as const;
    const names = await Promise.all(['enc-lan', 'enc-a', 'enc-b', 'enc-out', 'enc-pa', 'enc-pb'].map((w) => this.netns(w)));
    roles.forEach((role, i) => (ns[role] = names[i]!));
    // Before any device exists, so tunnel devices inherit it: no reverse-path filter, no DAD delay.
    const common = ['net.ipv6.conf.all.accept_dad=0', 'net.ipv6.conf.default.accept_dad=0', 'net.ipv4.conf.all.rp_filter=0', 'net.ipv4.conf.default.rp_filter=0'];
    await Promise.all([
      ...[ns.lan, ns.outsider, ns.podA, ns.podB].map((n) => sysctl(n, common)),
      ...[ns.a, ns.b].map((n) => sysctl(n, [...common, 'net.ipv4.ip_forward=1', 'net.ipv6.conf.all.forwarding=1'])),
    ]);
    const members: [string, string][] = [
      ['v-a', ns.a],
      ['v-b', ns.b],
      ['v-out', ns.outsider],
    ];
    await ipBatch('ip', ns.lan, [
      'link add br0 type bridge',
      'link set br0 up',
      ...members.flatMap(([veth, netns]) => [`link add ${veth} type veth peer name eth0 netns ${netns}`, `link set ${veth} master br0 up`]),
    ]);
    const onLan = (addresses: Readonly<Record<Family, string>>) => [
      `addr add ${addresses.ipv4}/32 dev eth0`,
      `addr add ${addresses.ipv6}/128 dev eth0 nodad`,
      'link set eth0 up',
      // On-link default routes: addresses from different subnets talk on one segment.
      'route add default dev eth0',
      'route add ::/0 dev eth0',
    ];
    const withPod = (node: NodeEndpoint, podNetns: string) => [
      ...onLan(node.addresses),
      `link add ${NODE_INTERFACES.pod} type veth peer name eth0 netns ${podNetns}`,
      `addr add ${node.podGateway}/24 dev ${NODE_INTERFACES.pod}`,
      `link set ${NODE_INTERFACES.pod} up`,
    ];
    await Promise.all([
      ipBatch('ip', ns.a, withPod(lab.a, ns.podA)),
      ipBatch('ip', ns.b, withPod(lab.b, ns.podB)),
      ipBatch('ip', ns.outsider, onLan(lab.outsider.addresses)),
    ]);
    await Promise.all(
      ([[ns.podA, lab.a], [ns.podB, lab.b]] as const).map(([netns, node]) =>
        ipBatch('ip', netns, [`addr add ${node.pod}/24 dev eth0`, 'link set eth0 up', `route add default via ${node.podGateway}`]),
      ),
    );
    if (this.tunnel) {
      const { kind, port } = this.tunnel;
      await Promise.all(
        (['a', 'b', 'outsider'] as const).map(async (who) => {
          await ipBatch('ip', ns[who], tunnelDeviceLines(kind, port, lab, who));
          if (kind === 'vxlan') await ipBatch('bridge', ns[who], vxlanFdbLines(lab, who));
        }),
      );
    }
  }

  async destroy(): Promise<void> {
    await Promise.all(this.namespaces.map((n) => deleteNetns(n)));
  }
}

/**
 * One case: one backend, one `--cni`, in a fresh lab. Before kubewall every
 * probe must get through (the lab works, so a refusal later is the
 * firewall's); after it, the nodes' tunnel traffic must still pass in both
 * directions and the outsider's (and other modes' ports) must not.
 */
export async function runEncapsulationCase(
  adapter: ConformanceAdapter,
  context: EncapsulationContext,
  kase: EncapsulationCase,
  options: { readonly kernelHasGeneve: boolean },
): Promise<EncapsulationReport> {
  const started = Date.now();
  const title = `${adapter.backend} · --cni ${kase.cni}`;
  const { lab } = context;
  const failures: string[] = [];
  const notes: string[] = [];
  const phasesMs: Record<string, number> = {};
  let phaseStart = Date.now();
  const phase = (name: string) => {
    phasesMs[name] = Date.now() - phaseStart;
    phaseStart = Date.now();
  };

  const kernelTunnels = kase.tunnels.flatMap((t) => {
    const kind = deviceKind(t, options.kernelHasGeneve);
    return kind !== null && 'port' in t ? [{ kind, port: t.port }] : [];
  });
  if (kernelTunnels.length > 1) throw new Error(`${kase.cni}: more than one kernel tunnel in one case`);
  const kernelTunnel = kernelTunnels[0] ?? null;
  for (const t of kase.tunnels) {
    if (t.kind === 'geneve' && !options.kernelHasGeneve) notes.push(`this kernel has no Geneve device: Geneve is probed as UDP datagrams on ${t.port}`);
  }

  const workDir = await mkdtemp(path.join(tmpdir(), 'kw-encap-'));
  const topo = new EncapsulationTopology(lab, kernelTunnel);
  const spawned: ChildProcess[] = [];
  const receivers: Receiver[] = [];
  const contexts: AdapterContext[] = [];
  let checks = 0;
  try {
    const render = (node: 'a' | 'b') =>
      renderOutput(adapter, context.cluster, lab[node].roles, path.join(workDir, `rendered-${node}`), ['--cni', kase.cni]);
    const [outputA, outputB] = await Promise.all([render('a'), render('b'), topo.create()]);
    const outputs: Record<'a' | 'b', RenderedOutput> = { a: outputA, b: outputB };
    phase('render ‖ topology');

    const nodeNs = { a: topo.ns.a, b: topo.ns.b } as const;
    const { packets, connects } = buildProbes(topo, kase, kernelTunnel, options.kernelHasGeneve, (where, netns, args) => {
      const r = new Receiver(where, netns, args);
      receivers.push(r);
      return r;
    });

    // Before kubewall: everything passes, or the lab is broken and nothing later would mean anything.
    const before = await exchange(packets, 'before', () => true);
    const deaf = packets.filter((p) => !p.receiver.saw(p.token('before')));
    const connectsBefore = await Promise.all(connects.map(connect));
    const broken = [
      ...deaf.map((p) => `${p.description}: not observed${p.receiver.failure() ? ` (${p.receiver.failure()})` : ''}`),
      ...connects.flatMap((c, i) => (connectsBefore[i]!.includes(c.banner) ? [] : [`${c.description}: ${connectsBefore[i]}`])),
    ];
    if (broken.length > 0) throw new Error(`lab broken before kubewall was applied (${before} sends):\n  ${broken.join('\n  ')}`);
    phase('lab check');

    for (const n of ['a', 'b'] as const) {
      const nodeWorkDir = path.join(workDir, `node-${n}`);
      await mkdir(nodeWorkDir);
      contexts.push(makeAdapterContext({ adapter, netns: nodeNs[n], nodeAddresses: lab[n].addresses, workDir: nodeWorkDir, spawned, log: (m) => notes.push(`node ${n}: ${m}`) }));
    }
    await Promise.all(
      (['a', 'b'] as const).map(async (n, i) => {
        const ctx = contexts[i]!;
        await adapter.setup?.(ctx);
        await adapter.apply(ctx, outputs[n]);
        if ((await adapter.snapshot(ctx)).own.trim() === '') failures.push(`node ${n}: snapshot().own is empty after apply: no rules of ${adapter.backend} are live`);
      }),
    );
    phase('apply');

    // One receiving node at a time, conntrack emptied before each: a packet A sent to B makes B's packet to A a
    // reply in A's conntrack (IP protocols without ports have no ports to tell flows apart), accepted as established.
    for (const to of ['b', 'a'] as const) {
      await Promise.all([nodeNs.a, nodeNs.b].map((netns) => execa('ip', ['netns', 'exec', netns, 'conntrack', '-F'], { reject: false })));
      await exchange(packets.filter((p) => p.to === to), 'applied', (p) => p.expectAfter === 'observed');
    }
    const connectsAfter = await Promise.all(connects.map(connect));
    for (const p of packets) {
      checks += 1;
      const seen = p.receiver.saw(p.token('applied'));
      if (p.expectAfter === 'observed' && !seen) failures.push(`${p.description}: expected through, not observed at the far end`);
      if (p.expectAfter === 'refused' && seen) failures.push(`${p.description}: expected refused, observed at the far end`);
    }
    connects.forEach((c, i) => {
      checks += 1;
      if (!connectsAfter[i]!.includes(c.banner)) failures.push(`${c.description}: expected the banner ${c.banner}, got ${connectsAfter[i] || 'nothing'}`);
    });
    phase('probes');
  } finally {
    for (const ctx of contexts) if (adapter.teardown) await adapter.teardown(ctx).catch((e: unknown) => notes.push(`teardown: ${String(e)}`));
    await Promise.all(receivers.map((r) => r.stop()));
    for (const child of spawned) if (child.exitCode === null) child.kill('SIGKILL');
    await topo.destroy();
    await rm(workDir, { recursive: true, force: true });
    for (const netns of [topo.ns.a, topo.ns.b]) if (netns) await rm(`/etc/netns/${netns}`, { recursive: true, force: true }).catch(() => undefined);
  }
  return { title, checks, failures, notes, phasesMs, wallMs: Date.now() - started };
}

/**
 * Every probe of one case, with its receiver started: pod to pod through the
 * kernel tunnel (and the outsider's through its own device), each tunnel's
 * packets on the wire between the nodes and from the outsider, and the
 * other modes' ports between the nodes.
 */
function buildProbes(
  topo: EncapsulationTopology,
  kase: EncapsulationCase,
  kernelTunnel: KernelTunnel | null,
  kernelHasGeneve: boolean,
  receiver: (where: string, netns: string, args: readonly string[]) => Receiver,
): { packets: PacketProbe[]; connects: ConnectProbe[] } {
  const ns = topo.ns;
  const nodeNs = { a: ns.a, b: ns.b, outsider: ns.outsider } as const;
  const lab = topo.lab;

  const packets: PacketProbe[] = [];
  const connects: ConnectProbe[] = [];
  const node = (n: 'a' | 'b') => lab[n];
  const other = (n: 'a' | 'b'): 'a' | 'b' => (n === 'a' ? 'b' : 'a');
  const podNs = { a: ns.podA, b: ns.podB } as const;

  // Tunnels with a kernel device: pod traffic through the overlay.
  if (kernelTunnel) {
    const label = `${kernelTunnel.kind}-${kernelTunnel.port}`;
    const podReceivers = {
      a: receiver(`pod a udp ${POD_PORTS.udp}`, ns.podA, ['-u', `UDP4-RECV:${POD_PORTS.udp}`, 'STDOUT']),
      b: receiver(`pod b udp ${POD_PORTS.udp}`, ns.podB, ['-u', `UDP4-RECV:${POD_PORTS.udp}`, 'STDOUT']),
    };
    for (const n of ['a', 'b'] as const) {
      receiver(`pod ${n} tcp ${POD_PORTS.tcp}`, podNs[n], [`TCP4-LISTEN:${POD_PORTS.tcp},fork,reuseaddr`, `SYSTEM:echo kw-pod-${n}`]);
    }
    const overlayProbe = (from: EndpointName, fromNs: string, to: 'a' | 'b', expectAfter: PacketProbe['expectAfter']): PacketProbe => {
      const token = (p: string) => probeToken(p, from, label, 'ipv4', to);
      return {
        description: `${from === 'outsider' ? 'outsider' : `pod ${from}`} → pod ${to} through ${label} (inner UDP ${POD_PORTS.udp})`,
        expectAfter,
        to,
        receiver: podReceivers[to],
        token,
        send: (p) => socatSend(fromNs, token(p), `UDP4-SENDTO:${node(to).pod}:${POD_PORTS.udp}`),
      };
    };
    for (const n of ['a', 'b'] as const) {
      packets.push(overlayProbe(n, podNs[n], other(n), 'observed'));
      connects.push({ description: `pod ${n} → pod ${other(n)} TCP ${POD_PORTS.tcp} through ${label}`, netns: podNs[n], host: node(other(n)).pod, banner: `kw-pod-${other(n)}` });
    }
    // The outsider's own tunnel device reaches both nodes with VXLAN, node B only with Geneve (one remote).
    for (const to of kernelTunnel.kind === 'vxlan' ? (['a', 'b'] as const) : (['b'] as const)) {
      packets.push(overlayProbe('outsider', ns.outsider, to, 'refused'));
    }
  }

  // Tunnels without a kernel device: their packets on the wire, node to node.
  const wire = kase.tunnels.flatMap((t) => wireProbes(t, kernelHasGeneve));
  const closed = [
    ...kase.closedUdpPorts.map((port) => ({ label: `other-mode-udp-${port}`, family: 'ipv4' as Family, transport: { udp: port } as WireTransport, closed: true })),
    ...kase.closedIpProtocols.map((n) => ({ label: `other-mode-ip-${n}`, family: 'ipv4' as Family, transport: { ipProtocol: n } as WireTransport, closed: true })),
  ];
  for (const probe of [...wire.map((w) => ({ ...w, closed: false })), ...closed]) {
    const nodeReceivers = {
      a: receiver(`node a ${probe.label} ${probe.family}`, ns.a, ['-u', receiveAddress(probe.transport, probe.family), 'STDOUT']),
      b: receiver(`node b ${probe.label} ${probe.family}`, ns.b, ['-u', receiveAddress(probe.transport, probe.family), 'STDOUT']),
    };
    const senders: [EndpointName, 'a' | 'b'][] = [
      ['a', 'b'],
      ['b', 'a'],
      ...(probe.closed ? [] : ([['outsider', 'a'], ['outsider', 'b']] as [EndpointName, 'a' | 'b'][])),
    ];
    for (const [from, to] of senders) {
      const token = (p: string) => probeToken(p, from, probe.label, probe.family, to);
      const what = 'udp' in probe.transport ? `UDP ${probe.transport.udp}` : `IP protocol ${probe.transport.ipProtocol}`;
      packets.push({
        description: `${from === 'outsider' ? 'outsider' : `node ${from}`} → node ${to} ${probe.label} (${what}, ${probe.family})${probe.closed ? ': a mode not chosen' : ''}`,
        expectAfter: from !== 'outsider' && !probe.closed ? 'observed' : 'refused',
        to,
        receiver: nodeReceivers[to],
        token,
        send: (p) => socatSend(nodeNs[from], token(p), sendAddress(probe.transport, probe.family, node(to).addresses[probe.family])),
      });
    }
  }
  return { packets, connects };
}

/**
 * Sends every probe, waits, and sends again those `retry` wants that were not
 * observed yet, waiting longer each round; returns how many sends it made.
 * A refused probe is judged after every round, so it had the longest wait.
 */
async function exchange(probes: readonly PacketProbe[], phase: string, retry: (p: PacketProbe) => boolean): Promise<number> {
  const started = Date.now();
  let pending = [...probes];
  let sends = 0;
  for (const settleMs of SETTLE_MS) {
    await Promise.all(pending.map((p) => p.send(phase)));
    sends += pending.length;
    await sleep(settleMs);
    pending = pending.filter((p) => retry(p) && !p.receiver.saw(p.token(phase)));
    if (pending.length === 0) break;
  }
  if (probes.some((p) => !retry(p))) await sleep(REFUSED_AFTER_MS - (Date.now() - started));
  return sends;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
}

/** A TCP connect through the overlay; returns what came back (the banner) or why nothing did. */
async function connect(probe: ConnectProbe): Promise<string> {
  let last = '';
  for (const timeoutS of [2, 4]) {
    const result = await execa('ip', ['netns', 'exec', probe.netns, 'socat', '-u', '-T', String(timeoutS), `TCP4:${probe.host}:${POD_PORTS.tcp},connect-timeout=${timeoutS}`, 'STDOUT'], {
      reject: false,
      timeout: (timeoutS + 5) * 1000,
    });
    last = result.exitCode === 0 ? result.stdout.trim() : `exit ${result.exitCode}: ${result.stderr.trim()}`;
    if (last.includes(probe.banner)) return last;
  }
  return last;
}

/** One line per case: checks, failures, wall time and its phases. */
export function formatEncapsulationSummary(report: EncapsulationReport): string {
  const phases = Object.entries(report.phasesMs)
    .map(([name, ms]) => `${name} ${ms}`)
    .join(', ');
  return `encapsulation ${report.title}: ${report.checks} probes judged, ${report.failures.length} failing, ${(report.wallMs / 1000).toFixed(1)} s [${phases} ms]`;
}
