import { parseHostAddress, parseNetwork, type Network } from '../addresses.js';
import type { EntryOverrides } from '../catalogue/catalogue.js';
import { KubewallError } from '../errors.js';
import { DEFAULT_KUBE_PROXY_MODE, DEFAULT_NODE_PORT_RANGE, type KubeProxyMode, type PortRange, type Role } from '../model.js';
import { parsePortRange } from '../ports.js';
import type { ClusterInput } from './schema.js';

export interface ClusterNode {
  readonly name: string;
  /**
   * Parsed by validation when its fast path checked them, else on first
   * access: the planner reads only the peer classes a plan uses.
   */
  readonly addresses: readonly Network[];
  readonly roles: readonly Role[];
}

function clusterNode(name: string, addressText: readonly string[], roles: readonly Role[], parsedAlready?: Network[]): ClusterNode {
  // Validation parsed them already (validateCluster): a plain object is lighter than a getter's closure.
  if (parsedAlready) return { name, roles, addresses: parsedAlready };
  let parsed: Network[] | undefined;
  return {
    name,
    roles,
    get addresses() {
      parsed ??= networks(addressText, parseHostAddress) ?? [];
      return parsed;
    },
  };
}

/**
 * What the planner knows about the cluster. `null` means "not described":
 * the planner then uses the documented default for the peer classes that
 * depend on it and says so; `[]` means "described as none".
 */
export interface Cluster {
  /** The cluster file as the user named it, or null for the embedded default. */
  readonly source: string | null;
  readonly name: string | null;
  readonly nodes: readonly ClusterNode[] | null;
  readonly loadBalancers: readonly Network[] | null;
  readonly adminNetworks: readonly Network[] | null;
  readonly podCIDRs: readonly Network[] | null;
  readonly serviceCIDRs: readonly Network[] | null;
  /** LoadBalancer ingress and externalIPs of Services: IPVS binds them to kube-ipvs0 like Service IPs. */
  readonly serviceExternalIPs: readonly Network[] | null;
  /** The kube-proxy mode and where it was chosen (`cluster.yaml: kubeProxy`, `--kube-proxy`, or null for the default). */
  readonly kubeProxy: { readonly mode: KubeProxyMode; readonly where: string | null };
  /** The range kube-apiserver allocates NodePorts from (`--service-node-port-range`). */
  readonly nodePortRange: PortRange;
  /** NodeLocal DNSCache's address (`nodeLocalDNS`); null: the upstream default. */
  readonly nodeLocalDNS: Network | null;
  readonly ssh: { readonly enabled: boolean; readonly port: number };
  /** Catalogue profiles named in the file (distribution, CNI with modes, add-ons); flags take precedence. */
  readonly profiles: { readonly distribution?: string | undefined; readonly cni?: string | undefined; readonly addons?: readonly string[] | undefined } | null;
  readonly overrides: EntryOverrides;
  readonly locate: (path: readonly PropertyKey[]) => string;
}

export const DEFAULT_SSH_PORT = 22;

/** The cluster used when no file is given: nothing described, every peer class defaulted. */
export const EMBEDDED_DEFAULT_CLUSTER: Cluster = {
  source: null,
  name: null,
  nodes: null,
  loadBalancers: null,
  adminNetworks: null,
  podCIDRs: null,
  serviceCIDRs: null,
  serviceExternalIPs: null,
  kubeProxy: { mode: DEFAULT_KUBE_PROXY_MODE, where: null },
  nodePortRange: DEFAULT_NODE_PORT_RANGE,
  nodeLocalDNS: null,
  ssh: { enabled: true, port: DEFAULT_SSH_PORT },
  profiles: null,
  overrides: {},
  locate: () => '(embedded default cluster)',
};

function networks(values: readonly string[] | undefined, parse: (v: string) => Network | string): Network[] | null {
  if (values === undefined) return null;
  // The schema already checked every value; a string here would be a bug.
  return values.map((value) => {
    const parsed = parse(value);
    if (typeof parsed === 'string') throw new Error(`unvalidated address reached the cluster model: ${parsed}`);
    return parsed;
  });
}

function nodePortRange(text: string | number): PortRange {
  const parsed = parsePortRange(text);
  if (typeof parsed === 'string') throw new Error(`unvalidated nodePortRange reached the cluster model: ${parsed}`);
  return parsed;
}

/** The roles without repeats; the list itself when it has none (nearly always: no copy and no Set per node of a fleet). */
function uniqueRoles(roles: readonly Role[]): readonly Role[] {
  for (let i = 1; i < roles.length; i++) if (roles.lastIndexOf(roles[i]!, i - 1) !== -1) return [...new Set(roles)];
  return roles;
}

/** Turns a validated cluster file into the planner's model; checks what the schema cannot. */
export function buildCluster(
  input: ClusterInput,
  source: string,
  locate: (path: readonly PropertyKey[]) => string,
  /** Each node's addresses as parseHostAddress parses them, index for index, when validation has them. */
  nodeAddresses?: readonly Network[][],
): Cluster {
  const names = new Map<string, number>();
  input.nodes?.forEach((node, index) => {
    const first = names.get(node.name);
    if (first !== undefined) {
      throw new KubewallError(
        'CLUSTER',
        `${locate(['nodes', index, 'name'])}: nodes[${index}].name: duplicate node name "${node.name}", already used by nodes[${first}] (node names must be unique)`,
      );
    }
    names.set(node.name, index);
  });
  return {
    source,
    name: input.name ?? null,
    nodes:
      input.nodes?.map((node, index) => clusterNode(node.name, node.addresses, uniqueRoles(node.roles), nodeAddresses?.[index])) ?? null,
    loadBalancers: networks(input.loadBalancers, parseNetwork),
    adminNetworks: networks(input.adminNetworks, parseNetwork),
    podCIDRs: networks(input.podCIDRs, parseNetwork),
    serviceCIDRs: networks(input.serviceCIDRs, parseNetwork),
    serviceExternalIPs: networks(input.serviceExternalIPs, parseNetwork),
    // Named by file and key, not line: a note in every render, which would otherwise change
    // whenever a line is added above it (and would need the positions only errors need).
    kubeProxy: input.kubeProxy === undefined ? { mode: DEFAULT_KUBE_PROXY_MODE, where: null } : { mode: input.kubeProxy, where: `${source}: kubeProxy` },
    nodePortRange: input.nodePortRange === undefined ? DEFAULT_NODE_PORT_RANGE : nodePortRange(input.nodePortRange),
    nodeLocalDNS: input.nodeLocalDNS === undefined ? null : (networks([input.nodeLocalDNS], parseHostAddress)?.[0] ?? null),
    ssh: { enabled: input.ssh?.enabled ?? true, port: input.ssh?.port ?? DEFAULT_SSH_PORT },
    profiles: input.profiles ?? null,
    overrides: input.overrides ?? {},
    locate,
  };
}
