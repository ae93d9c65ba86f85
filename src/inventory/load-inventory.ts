import path from 'node:path';
import { parseHostAddress, type Network } from '../addresses.js';
import type { Cluster, ClusterNode } from '../cluster/cluster.js';
import { KubewallError } from '../errors.js';
import { readTextFile } from '../input/read-file.js';
import type { FleetHost } from './fleet-hosts.js';
import { parseIniInventory } from './parse-ini.js';
import { parseYamlInventory } from './parse-yaml.js';
import type { Inventory } from './types.js';
import { KUBE_PROXY_MODES, type KubeProxyMode } from '../model.js';

/** Ansible picks the yaml plugin for .yml, .yaml and .json files and the ini plugin otherwise; so does kubewall. */
export function parseInventory(text: string, file: string): Inventory {
  return /\.(ya?ml|json)$/i.test(file) ? parseYamlInventory(text, file) : parseIniInventory(text, file);
}

export async function loadInventory(file: string, cwd = process.cwd()): Promise<Inventory> {
  const text = await readTextFile(path.resolve(cwd, file), 'INVENTORY', 'inventory');
  return parseInventory(text, file);
}

/** Addresses parsed on first access, as the cluster file's nodes are: a worker's plan reads three control-plane nodes of 5,000. */
function lazyNode(host: FleetHost): ClusterNode {
  let parsed: Network[] | undefined;
  return {
    name: host.name,
    roles: host.roles,
    get addresses() {
      parsed ??= host.addresses.map((text) => {
        const network = parseHostAddress(text);
        // fleetFromInventory already checked every address.
        if (typeof network === 'string') throw new KubewallError('INVENTORY', `${host.where}: host ${host.name}: ${network}`);
        return network;
      });
      return parsed;
    },
  };
}

/**
 * The cluster with the inventory's hosts added to its nodes: the cluster
 * file (if any) still gives load balancers, admin networks, pod CIDRs, SSH,
 * profiles and overrides. A node named in both is an error naming both.
 */
export function clusterWithFleet(cluster: Cluster, hosts: readonly FleetHost[], inventoryFile: string): Cluster {
  const fromFile = new Map((cluster.nodes ?? []).map((node, index) => [node.name, index]));
  const nodes: ClusterNode[] = [...(cluster.nodes ?? [])];
  for (const host of hosts) {
    const index = fromFile.get(host.name);
    if (index !== undefined) {
      throw new KubewallError(
        'INVENTORY',
        `${host.where}: host ${host.name} is also nodes[${index}] in ${cluster.locate(['nodes', index, 'name'])} (list each node once: in the inventory or in the cluster file)`,
      );
    }
    nodes.push(lazyNode(host));
  }
  const source = cluster.source === null ? `inventory ${inventoryFile}` : `${cluster.source} + inventory ${inventoryFile}`;
  return { ...cluster, source, nodes };
}

/**
 * A variable that must have one value for the whole cluster (one plan serves
 * every host): every group and host that sets it must agree. Booleans compare
 * case-insensitively (INI says True, YAML true). `check` may refuse a value
 * before agreement is checked. Null when nothing sets it.
 */
function clusterWideVar(
  inventory: Inventory,
  key: string,
  agreeHint: string,
  check?: (item: { value: string; where: string }) => void,
): { value: string; where: string } | null {
  const found: { value: string; where: string }[] = [];
  for (const scope of [...inventory.groups.values(), ...inventory.hosts.values()]) {
    const entry = scope.vars.get(key);
    if (entry) found.push({ value: String(entry.value).toLowerCase() === 'true' ? 'true' : String(entry.value), where: entry.where });
  }
  const [first] = found;
  if (!first) return null;
  for (const item of found) {
    check?.(item);
    if (item.value !== first.value) {
      throw new KubewallError('INVENTORY', `${item.where}: ${key}: ${JSON.stringify(item.value)} differs from ${JSON.stringify(first.value)} at ${first.where} (${agreeHint})`);
    }
  }
  return first;
}

/** kubespray's `kube_proxy_mode` (its default is ipvs), from the inventory's group and host variables. */
export function kubeProxyModeFromInventory(inventory: Inventory): { mode: KubeProxyMode; where: string } | null {
  const found = clusterWideVar(inventory, 'kube_proxy_mode', 'one mode per cluster; or pass --kube-proxy MODE', (item) => {
    if (!(KUBE_PROXY_MODES as readonly string[]).includes(item.value)) {
      throw new KubewallError('INVENTORY', `${item.where}: kube_proxy_mode: unknown value ${JSON.stringify(item.value)} (expected ${KUBE_PROXY_MODES.join(', ')})`);
    }
  });
  return found && { mode: found.value as KubeProxyMode, where: `${found.where}: kube_proxy_mode` };
}

/** kubespray's `nodelocaldns_ip` default (roles/kubespray-defaults). */
export const KUBESPRAY_NODE_LOCAL_DNS = '169.254.25.10';

/**
 * kubespray's NodeLocal DNSCache: `enable_nodelocaldns` set to true in the
 * inventory turns on the node-local-dns add-on, at `nodelocaldns_ip` (or
 * kubespray's default address). Null when the inventory does not enable it
 * (kubespray's own default is true, but an inventory that says nothing
 * could be any installer's: kubewall does not guess).
 */
export function nodeLocalDnsFromInventory(inventory: Inventory): { address: string; where: string } | null {
  const enabled = clusterWideVar(inventory, 'enable_nodelocaldns', 'one value per cluster');
  if (!enabled || enabled.value !== 'true') return null;
  const address = clusterWideVar(inventory, 'nodelocaldns_ip', 'one value per cluster');
  return { address: address?.value ?? KUBESPRAY_NODE_LOCAL_DNS, where: `${enabled.where}: enable_nodelocaldns` };
}
