import type { Role } from '../model.js';
import type { Evidence, HostLink, HostListener, NodeSnapshot, KubeProxyMode } from './types.js';

/**
 * Pure detectors over a host snapshot. Each returns what it concluded and the
 * evidence, and concludes nothing from a probe that could not run.
 */

export interface KubeProxyFinding {
  /** null: could not tell (a probe failed); `none` only when every probe ran and found nothing. */
  readonly mode: KubeProxyMode | null;
  readonly evidence: readonly Evidence[];
  readonly warnings: readonly string[];
}

export const CNI_NAMES = ['flannel', 'calico', 'cilium', 'canal'] as const;
export type CniName = (typeof CNI_NAMES)[number];

export interface CniFinding {
  readonly name: CniName | null;
  /** The catalogue profile's modes, e.g. `['vxlan', 'wireguard']`. */
  readonly modes: readonly string[];
  /** `flannel:vxlan`, ready for `profiles.cni` / `--cni`; null when no CNI was seen. */
  readonly profile: string | null;
  /** Catalogue entries whose port differs on this node: `{ 'flannel-vxlan': 4789 }`. */
  readonly portOverrides: Readonly<Record<string, number>>;
  readonly evidence: readonly Evidence[];
  readonly warnings: readonly string[];
}

export interface NodeLocalDnsFinding {
  readonly address: string | null;
  readonly evidence: readonly Evidence[];
}

export interface AddonFinding {
  /** The catalogue add-on (`keepalived`, `metallb`, `node-local-dns`) or a component that needs none (`kube-vip`). */
  readonly name: string;
  /** False where the component needs no add-on, or the evidence is too weak to suggest one. */
  readonly suggest: boolean;
  readonly evidence: readonly Evidence[];
}

export interface RoleFinding {
  readonly roles: readonly Role[];
  /** True when nothing showed the role and `worker` was assumed. */
  readonly assumed: boolean;
  readonly evidence: readonly Evidence[];
}

export interface DistributionFinding {
  /** k3s or rke2; null for kubeadm-style clusters (the catalogue's default). */
  readonly name: 'k3s' | 'rke2' | null;
  readonly evidence: readonly Evidence[];
}

const LOOPBACK = /^(127\.|::1$|::ffff:127\.)/;

export function isLoopbackAddress(address: string): boolean {
  return LOOPBACK.test(address);
}

function link(snapshot: NodeSnapshot, name: string): HostLink | undefined {
  return snapshot.links.find((l) => l.name === name);
}

function listenersOn(snapshot: NodeSnapshot, protocol: HostListener['protocol'], port: number): HostListener[] {
  return snapshot.listeners.filter((l) => l.protocol === protocol && l.port === port);
}

function describeListener(listener: HostListener): string {
  const who = listener.processes.length > 0 ? listener.processes.join(', ') : 'no process shown';
  const where = listener.address.includes(':') ? `[${listener.address}]` : listener.address;
  return `${where}:${listener.port}/${listener.protocol} (${who})`;
}

function describeLink(l: HostLink): string {
  const kind = l.kind === null ? '' : ` (${l.kind}${l.udpPort !== null ? ` port ${l.udpPort}` : ''})`;
  const shown = l.addresses.slice(0, 3).join(', ') + (l.addresses.length > 3 ? `, ... (${l.addresses.length} in all)` : '');
  return `${l.name}${kind}${l.up ? '' : ', down'}${l.addresses.length > 0 ? `, addresses ${shown}` : ''}`;
}

function probeFailed(snapshot: NodeSnapshot, commandStart: string): string | null {
  const probe = snapshot.probes.find((p) => p.command.startsWith(commandStart) && (p.status === 'failed' || p.status === 'timed-out'));
  return probe ? `${probe.command}: ${probe.detail ?? probe.status}` : null;
}

/** ipvs: the kube-ipvs0 device; nftables: `table ip/ip6 kube-proxy`; iptables: KUBE-SERVICES in nat; none: neither. */
export function detectKubeProxy(snapshot: NodeSnapshot): KubeProxyFinding {
  const evidence: Evidence[] = [];
  const warnings: string[] = [];
  const ipvs = link(snapshot, 'kube-ipvs0');
  if (ipvs) evidence.push(`device ${describeLink(ipvs)}: IPVS binds Service addresses to it`);
  const nftTables = snapshot.nftTables.filter((t) => t === 'ip kube-proxy' || t === 'ip6 kube-proxy');
  if (nftTables.length > 0) evidence.push(`nftables ${nftTables.map((t) => `table ${t}`).join(', ')}`);
  const chains = snapshot.iptablesChains.filter((c) => c.present);
  if (chains.length > 0) evidence.push(`chain ${chains[0]!.chain} in table ${chains[0]!.table} (${chains.map((c) => c.tool).join(', ')})`);
  let mode: KubeProxyMode | null;
  if (ipvs) mode = 'ipvs';
  else if (nftTables.length > 0) {
    mode = 'nftables';
    if (chains.length > 0) warnings.push(`kube-proxy's nftables tables and its iptables chain ${chains[0]!.chain} both exist: leftovers of a mode change? (kube-proxy --cleanup removes the old mode's rules)`);
  } else if (chains.length > 0) mode = 'iptables';
  else {
    const failed = probeFailed(snapshot, 'ip ') ?? probeFailed(snapshot, 'nft ') ?? probeFailed(snapshot, 'ip6tables') ?? probeFailed(snapshot, 'iptables');
    if (failed !== null) {
      mode = null;
      evidence.push(`cannot tell: ${failed}`);
    } else {
      mode = 'none';
      evidence.push('no kube-ipvs0 device, no table ip/ip6 kube-proxy, no KUBE-SERVICES chain in nat');
      if (link(snapshot, 'cilium_host')) evidence.push('Cilium runs (cilium_host): its kube-proxy replacement handles Services and NodePorts in eBPF');
      const calicoBpf = snapshot.links.find((l) => l.name === 'bpfin.cali' || l.name === 'bpfout.cali');
      if (calicoBpf) evidence.push(`Calico's eBPF dataplane runs (${calicoBpf.name}): it handles Services and NodePorts in eBPF`);
    }
  }
  return { mode, evidence, warnings };
}

interface CniEvidence {
  readonly modes: string[];
  readonly evidence: Evidence[];
  readonly portOverrides: Record<string, number>;
}

const emptyEvidence = (): CniEvidence => ({ modes: [], evidence: [], portOverrides: {} });

/** A VXLAN/Geneve device: its port, and an override when it differs from the catalogue's. */
function tunnel(found: CniEvidence, l: HostLink, mode: string, entry: string, catalogued: number, what: string): void {
  found.evidence.push(`device ${describeLink(l)}: ${what}`);
  if (!found.modes.includes(mode)) found.modes.push(mode);
  if (l.udpPort !== null && l.udpPort !== catalogued) found.portOverrides[entry] = l.udpPort;
}

function cilium(snapshot: NodeSnapshot): CniEvidence | null {
  const host = link(snapshot, 'cilium_host') ?? link(snapshot, 'cilium_net');
  if (!host) return null;
  const found = emptyEvidence();
  found.evidence.push(`device ${describeLink(host)}: Cilium's host endpoint`);
  const vxlan = link(snapshot, 'cilium_vxlan');
  const geneve = link(snapshot, 'cilium_geneve');
  if (vxlan) tunnel(found, vxlan, 'vxlan', 'cilium-vxlan', 8472, 'Cilium VXLAN tunnel');
  if (geneve) tunnel(found, geneve, 'geneve', 'cilium-geneve', 6081, 'Cilium Geneve tunnel');
  if (!vxlan && !geneve) {
    found.modes.push('native');
    found.evidence.push('no cilium_vxlan or cilium_geneve device: native routing');
  }
  const wg = link(snapshot, 'cilium_wg0');
  if (wg) {
    found.modes.push('wireguard');
    found.evidence.push(`device ${describeLink(wg)}: Cilium WireGuard`);
  }
  return found;
}

const CALICO_POD_VETH = /^cali[0-9a-f]{6,}$/;

function flannel(snapshot: NodeSnapshot, entryPrefix: 'flannel' | 'canal'): CniEvidence | null {
  const found = emptyEvidence();
  for (const name of ['flannel.1', 'flannel-v6.1']) {
    const l = link(snapshot, name);
    if (l) tunnel(found, l, 'vxlan', `${entryPrefix}-vxlan`, 8472, 'flannel VXLAN');
  }
  for (const name of ['flannel-wg', 'flannel-wg-v6']) {
    const l = link(snapshot, name);
    if (!l) continue;
    if (!found.modes.includes('wireguard')) found.modes.push('wireguard');
    found.evidence.push(`device ${describeLink(l)}: flannel WireGuard`);
  }
  return found.evidence.length > 0 ? found : null;
}

function calico(snapshot: NodeSnapshot): { own: CniEvidence | null; policyOnly: Evidence[] } {
  const found = emptyEvidence();
  const policyOnly: Evidence[] = [];
  const tunl0 = link(snapshot, 'tunl0');
  // The ipip module creates tunl0 on load; Calico gives it an address when IP-in-IP is on.
  if (tunl0 && tunl0.addresses.length > 0) {
    found.modes.push('ipip');
    found.evidence.push(`device ${describeLink(tunl0)}: Calico IP-in-IP`);
  }
  for (const name of ['vxlan.calico', 'vxlan-v6.calico']) {
    const l = link(snapshot, name);
    if (l) tunnel(found, l, 'vxlan', 'calico-vxlan', 4789, 'Calico VXLAN');
  }
  const bird = listenersOn(snapshot, 'tcp', 179);
  if (bird.length > 0) {
    found.evidence.push(`BGP listener ${describeListener(bird[0]!)}`);
    if (!found.modes.includes('ipip')) found.modes.push('bgp');
  }
  for (const name of ['wireguard.cali', 'wg-v6.cali']) {
    const l = link(snapshot, name);
    if (!l) continue;
    if (!found.modes.includes('wireguard')) found.modes.push('wireguard');
    found.evidence.push(`device ${describeLink(l)}: Calico WireGuard`);
  }
  const typha = listenersOn(snapshot, 'tcp', 5473);
  if (typha.length > 0) found.evidence.push(`Typha listener ${describeListener(typha[0]!)}`);
  const veths = snapshot.links.filter((l) => CALICO_POD_VETH.test(l.name));
  if (veths.length > 0) policyOnly.push(`${veths.length} Calico pod interface${veths.length === 1 ? '' : 's'} (${veths[0]!.name}${veths.length > 1 ? ', ...' : ''})`);
  const felix = snapshot.listeners.find((l) => l.processes.some((p) => /^calico-(node|felix)$/.test(p)));
  if (felix) policyOnly.push(`calico-node listener ${describeListener(felix)}`);
  return { own: found.modes.length > 0 ? found : null, policyOnly };
}

/**
 * The CNI from its devices and sockets. Canal is flannel's devices with
 * Calico's pod interfaces (Calico for policy only); Calico proper has its own
 * tunnel (tunl0, vxlan.calico) or BGP.
 */
export function detectCni(snapshot: NodeSnapshot): CniFinding {
  const candidates: { name: CniName; found: CniEvidence }[] = [];
  const cil = cilium(snapshot);
  if (cil) candidates.push({ name: 'cilium', found: cil });
  const cal = calico(snapshot);
  if (cal.own) candidates.push({ name: 'calico', found: { ...cal.own, evidence: [...cal.own.evidence, ...cal.policyOnly] } });
  const fl = flannel(snapshot, cal.policyOnly.length > 0 && !cal.own ? 'canal' : 'flannel');
  if (fl && cal.policyOnly.length > 0 && !cal.own) candidates.push({ name: 'canal', found: { ...fl, evidence: [...fl.evidence, ...cal.policyOnly.map((e) => `${e}: Calico enforces policy (canal)`)] } });
  else if (fl) candidates.push({ name: 'flannel', found: fl });
  if (candidates.length === 0) {
    const none = ['no flannel.1/flannel-wg, tunl0 with an address, vxlan.calico, BGP on 179 or cilium_host'];
    return { name: null, modes: [], profile: null, portOverrides: {}, evidence: none, warnings: [] };
  }
  const [chosen, ...others] = candidates;
  const warnings = others.map((o) => `${o.name} evidence too (${o.found.evidence[0]}): leftovers of an earlier CNI? using ${chosen!.name}`);
  const modes = [...chosen!.found.modes].sort();
  return {
    name: chosen!.name,
    modes,
    profile: modes.length > 0 ? `${chosen!.name}:${modes.join('+')}` : chosen!.name,
    portOverrides: chosen!.found.portOverrides,
    evidence: chosen!.found.evidence,
    warnings,
  };
}

/** NodeLocal DNSCache: its `nodelocaldns` interface holds the address pods send DNS to. */
export function detectNodeLocalDns(snapshot: NodeSnapshot): NodeLocalDnsFinding {
  const l = link(snapshot, 'nodelocaldns');
  if (!l) return { address: null, evidence: ['no nodelocaldns device'] };
  const evidence: Evidence[] = [`device ${describeLink(l)}: NodeLocal DNSCache`];
  const address = l.addresses.find((a) => !a.includes(':')) ?? l.addresses[0] ?? null;
  const dns = snapshot.listeners.filter((s) => s.port === 53 && s.address === address);
  for (const s of dns) evidence.push(`DNS listener ${describeListener(s)}`);
  if (address === null) evidence.push('it holds no address: NodeLocal DNSCache is not serving yet');
  return { address, evidence };
}

/** keepalived (VRRP raw socket), kube-vip, MetalLB speaker (memberlist on 7946), NodeLocal DNSCache. */
export function detectAddons(snapshot: NodeSnapshot, nodeLocalDns: NodeLocalDnsFinding = detectNodeLocalDns(snapshot)): AddonFinding[] {
  const addons: AddonFinding[] = [];
  const vrrp = listenersOn(snapshot, 'raw', 112);
  if (vrrp.length > 0) {
    addons.push({ name: 'keepalived', suggest: true, evidence: vrrp.map((s) => `VRRP raw socket ${describeListener(s)}`) });
  }
  const kubeVip = snapshot.listeners.filter((s) => s.processes.includes('kube-vip'));
  if (kubeVip.length > 0) {
    addons.push({
      name: 'kube-vip',
      suggest: false,
      evidence: [...kubeVip.map((s) => `listener ${describeListener(s)}`), 'kube-vip elects its leader through the API server (no VRRP): no add-on needed; in BGP mode its peers reach 179/tcp'],
    });
  }
  const memberlist = [...listenersOn(snapshot, 'tcp', 7946), ...listenersOn(snapshot, 'udp', 7946)];
  if (memberlist.length > 0) {
    const others = memberlist.flatMap((s) => s.processes).filter((p) => p !== 'speaker');
    addons.push({
      name: 'metallb',
      // 7946 is memberlist's default: Docker Swarm and others use it too.
      suggest: others.length === 0,
      evidence: [
        ...memberlist.map((s) => `memberlist listener ${describeListener(s)}`),
        ...(others.length > 0 ? [`the process is ${[...new Set(others)].join(', ')}, not MetalLB's speaker`] : []),
      ],
    });
  }
  if (nodeLocalDns.address !== null) addons.push({ name: 'node-local-dns', suggest: true, evidence: [`the nodelocaldns device holds ${nodeLocalDns.address}: pods send DNS to it through the input path`] });
  return addons;
}

const API_PROCESSES = /^(kube-apiserver|k3s|k3s-server|rke2)$/;

/** The role from the control-plane's listeners: the API server (6443) or RKE2's supervisor (9345); etcd alone; else worker. */
export function detectRoles(snapshot: NodeSnapshot): RoleFinding {
  const tcp = (port: number) => listenersOn(snapshot, 'tcp', port).filter((s) => !isLoopbackAddress(s.address));
  const api = [...tcp(6443), ...tcp(9345)];
  const etcd = [...tcp(2379), ...tcp(2380)];
  if (api.length > 0) {
    const named = api.filter((s) => s.processes.length === 0 || s.processes.some((p) => API_PROCESSES.test(p)));
    return { roles: ['control-plane'], assumed: false, evidence: named.length > 0 ? named.map((s) => `API listener ${describeListener(s)}`) : api.map((s) => `listener ${describeListener(s)} on the API server's port`) };
  }
  if (etcd.length > 0) return { roles: ['etcd'], assumed: false, evidence: etcd.map((s) => `etcd listener ${describeListener(s)}, no API server`) };
  const kubelet = tcp(10250);
  if (kubelet.length > 0) return { roles: ['worker'], assumed: false, evidence: kubelet.map((s) => `kubelet listener ${describeListener(s)}, no API server or etcd`) };
  return { roles: ['worker'], assumed: true, evidence: ['no API server (6443, 9345), etcd (2379-2380) or kubelet (10250) listening: assumed worker; pass --role'] };
}

export function detectDistribution(snapshot: NodeSnapshot): DistributionFinding {
  const processes = new Set(snapshot.listeners.flatMap((s) => s.processes));
  const k3s = [...processes].filter((p) => /^k3s(-server|-agent)?$/.test(p));
  if (k3s.length > 0) return { name: 'k3s', evidence: [`process ${k3s.join(', ')}`] };
  const rke2 = [...processes].filter((p) => /^rke2/.test(p));
  const supervisor = listenersOn(snapshot, 'tcp', 9345);
  if (rke2.length > 0 || supervisor.length > 0) {
    return { name: 'rke2', evidence: [...rke2.map((p) => `process ${p}`), ...supervisor.map((s) => `RKE2 supervisor listener ${describeListener(s)}`)] };
  }
  return { name: null, evidence: ['no k3s or rke2 process, no supervisor on 9345: kubeadm-style (the default)'] };
}

export { describeListener };
