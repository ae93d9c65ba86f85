import type { Family } from '../../src/index.js';

/**
 * kube-proxy-like state for the node namespace, installed before kubewall:
 * iptables-nft nat chains as kube-proxy's iptables mode writes them (a
 * NodePort DNAT to the pod, for TCP and UDP, and the `kubernetes` ClusterIP
 * DNAT to the API server), kube-proxy's filter chains, and an nftables table
 * of a CNI's own. The harness proves kubewall leaves all of it alone.
 */
export interface KubeProxyState {
  /** The NodePorts kube-proxy DNATs to the pod. */
  readonly nodePorts: { readonly tcp: number; readonly udp: number };
  /** The pod's port behind them. */
  readonly podPort: number;
  readonly clusterIpPort: number;
}

export const KUBE_PROXY_STATE: KubeProxyState = { nodePorts: { tcp: 30080, udp: 30081 }, podPort: 8080, clusterIpPort: 443 };

/** The nftables table the CNI stand-in owns. */
export const CNI_TABLE = 'inet kw-cni';

export interface KubeProxyTargets {
  readonly family: Family;
  readonly pod: string;
  readonly podCidr: string;
  readonly clusterIp: string;
  /** Where the `kubernetes` Service points: an API server address and port. */
  readonly apiServer: string;
  readonly apiServerPort: number;
}

function bracket(address: string): string {
  return address.includes(':') ? `[${address}]` : address;
}

/** `iptables-restore` input (or `ip6tables-restore` for IPv6). */
export function renderKubeProxyRestore(t: KubeProxyTargets, state = KUBE_PROXY_STATE): string {
  const loopback = t.family === 'ipv4' ? '127.0.0.0/8' : '::1/128';
  const host = t.family === 'ipv4' ? '32' : '128';
  return `*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:KUBE-SERVICES - [0:0]
:KUBE-NODEPORTS - [0:0]
:KUBE-POSTROUTING - [0:0]
:KUBE-MARK-MASQ - [0:0]
:KUBE-EXT-ECHO-TCP - [0:0]
:KUBE-EXT-ECHO-UDP - [0:0]
:KUBE-SVC-ECHO-TCP - [0:0]
:KUBE-SVC-ECHO-UDP - [0:0]
:KUBE-SEP-ECHO-TCP - [0:0]
:KUBE-SEP-ECHO-UDP - [0:0]
:KUBE-SVC-NPX2APISERVER - [0:0]
:KUBE-SEP-APISERVER - [0:0]
-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-A OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-A POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING
-A KUBE-MARK-MASQ -j MARK --set-xmark 0x4000/0x4000
-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN
-A KUBE-POSTROUTING -j MARK --set-xmark 0x4000/0x0
-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE
-A KUBE-SERVICES -d ${t.clusterIp}/${host} -p tcp -m comment --comment "default/kubernetes:https cluster IP" -m tcp --dport ${state.clusterIpPort} -j KUBE-SVC-NPX2APISERVER
-A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS
-A KUBE-NODEPORTS -p tcp -m comment --comment "default/echo:tcp" -m tcp --dport ${state.nodePorts.tcp} -j KUBE-EXT-ECHO-TCP
-A KUBE-NODEPORTS -p udp -m comment --comment "default/echo:udp" -m udp --dport ${state.nodePorts.udp} -j KUBE-EXT-ECHO-UDP
-A KUBE-EXT-ECHO-TCP -m comment --comment "masquerade traffic for default/echo:tcp external destinations" -j KUBE-MARK-MASQ
-A KUBE-EXT-ECHO-TCP -j KUBE-SVC-ECHO-TCP
-A KUBE-EXT-ECHO-UDP -m comment --comment "masquerade traffic for default/echo:udp external destinations" -j KUBE-MARK-MASQ
-A KUBE-EXT-ECHO-UDP -j KUBE-SVC-ECHO-UDP
-A KUBE-SVC-ECHO-TCP -m comment --comment "default/echo:tcp -> ${bracket(t.pod)}:${state.podPort}" -j KUBE-SEP-ECHO-TCP
-A KUBE-SVC-ECHO-UDP -m comment --comment "default/echo:udp -> ${bracket(t.pod)}:${state.podPort}" -j KUBE-SEP-ECHO-UDP
-A KUBE-SEP-ECHO-TCP -s ${t.pod}/${host} -j KUBE-MARK-MASQ
-A KUBE-SEP-ECHO-TCP -p tcp -m tcp -j DNAT --to-destination ${bracket(t.pod)}:${state.podPort}
-A KUBE-SEP-ECHO-UDP -s ${t.pod}/${host} -j KUBE-MARK-MASQ
-A KUBE-SEP-ECHO-UDP -p udp -m udp -j DNAT --to-destination ${bracket(t.pod)}:${state.podPort}
-A KUBE-SVC-NPX2APISERVER -m comment --comment "default/kubernetes:https -> ${bracket(t.apiServer)}:${t.apiServerPort}" -j KUBE-SEP-APISERVER
-A KUBE-SEP-APISERVER -p tcp -m tcp -j DNAT --to-destination ${bracket(t.apiServer)}:${t.apiServerPort}
COMMIT
*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:KUBE-FIREWALL - [0:0]
:KUBE-FORWARD - [0:0]
-A INPUT -j KUBE-FIREWALL
-A FORWARD -m comment --comment "kubernetes forwarding rules" -j KUBE-FORWARD
-A KUBE-FIREWALL ! -s ${loopback} -d ${loopback} -m comment --comment "block incoming localnet connections" -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP
-A KUBE-FORWARD -m conntrack --ctstate INVALID -j DROP
-A KUBE-FORWARD -m comment --comment "kubernetes forwarding rules" -m mark --mark 0x4000/0x4000 -j ACCEPT
-A KUBE-FORWARD -s ${t.podCidr} -m comment --comment "kubernetes forwarding conntrack rule" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
COMMIT
`;
}

/** A CNI's own nftables table: sets and accept-only chains, as Calico or Cilium keep beside kube-proxy. */
export function renderCniTable(podCidrs: Readonly<Record<Family, string>>): string {
  return `table ${CNI_TABLE} {
	set pod-networks-v4 {
		type ipv4_addr
		flags interval
		elements = { ${podCidrs.ipv4} }
	}
	set pod-networks-v6 {
		type ipv6_addr
		flags interval
		elements = { ${podCidrs.ipv6} }
	}
	chain forward {
		type filter hook forward priority filter + 10; policy accept;
		ip saddr @pod-networks-v4 accept comment "pod egress"
		ip daddr @pod-networks-v4 accept comment "pod ingress"
		ip6 saddr @pod-networks-v6 accept comment "pod egress"
		ip6 daddr @pod-networks-v6 accept comment "pod ingress"
	}
}
`;
}
