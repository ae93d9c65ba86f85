import { normalizeNetworks, parseHostAddress, parseNetwork, type Network } from '../addresses.js';
import { KubewallError } from '../errors.js';
import type { Role } from '../model.js';
import { ROLES } from '../model.js';
import { parseCluster } from './load-cluster.js';

/** `node-role.kubernetes.io/<name>` labels (and the older `kubernetes.io/role`) → kubewall roles. */
const ROLE_LABELS: Readonly<Record<string, Role>> = {
  'control-plane': 'control-plane',
  master: 'control-plane',
  etcd: 'etcd',
  worker: 'worker',
};

const NODE_NAME = /^[a-z0-9](?:[a-z0-9.-]{0,251}[a-z0-9])?$/;

export interface NodesConversion {
  /** The cluster file, YAML. */
  readonly yaml: string;
  /** Labels that named no kubewall role (`node-role.kubernetes.io/ingress`), and other things to review. */
  readonly notes: readonly string[];
}

interface KubeNode {
  metadata?: { name?: unknown; labels?: unknown };
  spec?: { podCIDR?: unknown; podCIDRs?: unknown };
  status?: { addresses?: unknown };
}

function fail(origin: string, path: string, message: string): never {
  throw new KubewallError('CLUSTER', `${origin}: ${path}: ${message}`);
}

function parseJson(text: string, origin: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new KubewallError('CLUSTER', `${origin}: not JSON (expected the output of kubectl get nodes -o json): ${(error as Error).message}`, { cause: error });
  }
}

/**
 * Pure: `kubectl get nodes -o json` (a List of Nodes, or one Node) → a
 * cluster file. Addresses are each node's InternalIPs; roles come from the
 * node-role labels (a node without one is a worker); podCIDRs is every
 * node's `spec.podCIDRs`. Nodes are sorted by name, so the output does not
 * depend on the API server's order.
 */
export async function clusterFromNodes(text: string, origin: string): Promise<NodesConversion> {
  const doc = parseJson(text, origin) as { kind?: unknown; items?: unknown };
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) fail(origin, '(top level)', 'expected a JSON object: the output of kubectl get nodes -o json');
  let items: unknown[];
  let prefix: string;
  if (doc.kind === 'Node') {
    items = [doc];
    prefix = '';
  } else if (Array.isArray(doc.items)) {
    items = doc.items;
    prefix = 'items';
  } else {
    fail(origin, 'kind', `${JSON.stringify(doc.kind ?? null)} has no items (expected kind List or NodeList with items, or one kind Node: kubectl get nodes -o json)`);
  }
  if (items.length === 0) fail(origin, 'items', 'no nodes (expected at least one Node)');
  const notes: string[] = [];
  const podCidrs: Network[] = [];
  const seen = new Map<string, string>();
  const nodes = items.map((raw, index) => {
    const at = (path: string) => (prefix === '' ? path : `${prefix}[${index}].${path}`);
    const node = raw as KubeNode;
    const kind = (raw as { kind?: unknown })?.kind;
    if (typeof raw !== 'object' || raw === null || (kind !== undefined && kind !== 'Node')) fail(origin, prefix === '' ? '(top level)' : `${prefix}[${index}]`, `expected a Node, got ${JSON.stringify(kind ?? raw)}`);
    const name = node.metadata?.name;
    if (typeof name !== 'string' || !NODE_NAME.test(name)) fail(origin, at('metadata.name'), `invalid node name ${JSON.stringify(name ?? null)} (expected a DNS-1123 name: lowercase letters, digits, "-" and ".")`);
    const first = seen.get(name);
    if (first !== undefined) fail(origin, at('metadata.name'), `duplicate node name "${name}", already at ${first}`);
    seen.set(name, at('metadata.name'));
    const addresses = Array.isArray(node.status?.addresses) ? (node.status.addresses as { type?: unknown; address?: unknown }[]) : [];
    const internal = addresses.filter((a) => a?.type === 'InternalIP').map((a) => a.address);
    if (internal.length === 0) {
      const types = [...new Set(addresses.map((a) => String(a?.type)))];
      fail(origin, at('status.addresses'), `node "${name}" has no InternalIP (found ${types.length > 0 ? types.join(', ') : 'no addresses'}; kubewall needs the address other nodes reach it on)`);
    }
    const nodeAddresses: string[] = [];
    internal.forEach((address) => {
      const parsed = typeof address === 'string' ? parseHostAddress(address) : `not a string: ${JSON.stringify(address)}`;
      if (typeof parsed === 'string') fail(origin, at('status.addresses'), `node "${name}": InternalIP ${parsed}`);
      if (!nodeAddresses.includes(parsed.text)) nodeAddresses.push(parsed.text);
    });
    const labels = typeof node.metadata?.labels === 'object' && node.metadata.labels !== null ? (node.metadata.labels as Record<string, unknown>) : {};
    const roles = new Set<Role>();
    for (const [key, value] of Object.entries(labels)) {
      const label = /^node-role\.kubernetes\.io\/(.+)$/.exec(key)?.[1] ?? (key === 'kubernetes.io/role' && typeof value === 'string' ? value : undefined);
      if (label === undefined) continue;
      const role = ROLE_LABELS[label];
      if (role) roles.add(role);
      else notes.push(`node "${name}": label ${key}${key === 'kubernetes.io/role' ? `=${String(value)}` : ''} names no kubewall role (expected control-plane, master, etcd or worker); ignored`);
    }
    if (roles.size === 0) {
      if (notes.some((n) => n.startsWith(`node "${name}": label`))) notes.push(`node "${name}": no control-plane, master, etcd or worker label: a worker`);
      roles.add('worker');
    }
    const cidrs = Array.isArray(node.spec?.podCIDRs) ? node.spec.podCIDRs : node.spec?.podCIDR !== undefined ? [node.spec.podCIDR] : [];
    cidrs.forEach((cidr, i) => {
      const parsed = typeof cidr === 'string' ? parseNetwork(cidr) : `not a string: ${JSON.stringify(cidr)}`;
      if (typeof parsed === 'string') fail(origin, at(Array.isArray(node.spec?.podCIDRs) ? `spec.podCIDRs[${i}]` : 'spec.podCIDR'), `node "${name}": ${parsed}`);
      podCidrs.push(parsed);
    });
    return { name, addresses: nodeAddresses, roles: ROLES.filter((r) => roles.has(r)) };
  });
  nodes.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const pods = normalizeNetworks(podCidrs);
  const out: string[] = [
    `# Generated by kubewall cluster from-nodes from ${origin.replace(/[\r\n]/g, ' ')}. Review before use:`,
    '# add loadBalancers and adminNetworks, and profiles (kubewall detect on a node suggests them).',
  ];
  out.push('nodes:');
  for (const node of nodes) {
    out.push(`  - name: ${node.name}`, `    addresses: [${node.addresses.join(', ')}]`, `    roles: [${node.roles.join(', ')}]`);
  }
  if (pods.length > 0) {
    out.push('# Each node\'s spec.podCIDRs: a node that joins later brings a range not listed here;', '# replace them with the cluster\'s pod network (--cluster-cidr) if you know it.');
    out.push('podCIDRs:', ...pods.map((p) => `  - ${p.text}`));
  } else notes.push('no node has spec.podCIDRs (the CNI allocates pod addresses itself): add podCIDRs by hand, else the pods peer class defaults to private address space');
  const yaml = `${out.join('\n')}\n`;
  // The same schema and checks as any cluster file: what this prints, render accepts.
  await parseCluster(yaml, `${origin} (converted)`);
  return { yaml, notes };
}
