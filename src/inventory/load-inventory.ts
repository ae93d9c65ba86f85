import path from 'node:path';
import { parseHostAddress, type Network } from '../addresses.js';
import type { Cluster, ClusterNode } from '../cluster/cluster.js';
import { KubewallError } from '../errors.js';
import { readTextFile } from '../input/read-file.js';
import type { FleetHost } from './fleet-hosts.js';
import { parseIniInventory } from './parse-ini.js';
import { parseYamlInventory } from './parse-yaml.js';
import type { Inventory } from './types.js';

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
