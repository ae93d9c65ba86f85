import { ipv4MappedRefusal, isIpv4Mapped } from '../addresses.js';
import { isIP } from 'node:net';
import { KubewallError } from '../errors.js';
import { ROLES, type Role } from '../model.js';
import type { Inventory, InventoryValue } from './types.js';
import { showValue } from '../text/terminal.js';

/** Which roles an inventory group gives its hosts; `[]` ignores a group the defaults map. */
export type GroupRoles = ReadonlyMap<string, readonly Role[]>;

/**
 * kubespray's groups (kube_control_plane, kube_node, etcd) and k3s-ansible's
 * (server, agent). Older kubespray inventories name kube-master / kube-node.
 */
export const DEFAULT_GROUP_ROLES: GroupRoles = new Map<string, Role[]>([
  ['kube_control_plane', ['control-plane']],
  ['kube_node', ['worker']],
  ['etcd', ['etcd']],
  ['server', ['control-plane']],
  ['agent', ['worker']],
  ['kube-master', ['control-plane']],
  ['kube-node', ['worker']],
]);

/**
 * Host variables that hold the node's addresses, in kubespray's sense: `ip`
 * (where it binds) and `access_ip` (where others reach it), `ip6` and
 * `access_ip6` for IPv6; `ansible_host` (where Ansible connects) only when
 * none of those is set, then the host name itself if it is an address.
 */
export const ADDRESS_VARS = ['ip', 'access_ip', 'ip6', 'access_ip6'] as const;
export const CONNECT_VAR = 'ansible_host';

/** One host of the fleet: its roles from its groups and its addresses from its variables. */
export interface FleetHost {
  readonly name: string;
  readonly where: string;
  readonly roles: readonly Role[];
  readonly addresses: readonly string[];
}

export interface InventoryFleet {
  readonly hosts: readonly FleetHost[];
  /** Hosts in no group mapped to a role (a bastion, calico_rr): no file, not a peer. */
  readonly skipped: readonly string[];
}

/** `--group-role kube_node=worker`, `--group-role infra=worker,etcd`, `--group-role etcd=none`. */
export function parseGroupRoleFlags(values: readonly string[] | undefined, base: GroupRoles = DEFAULT_GROUP_ROLES): GroupRoles {
  const roles = new Map(base);
  for (const value of values ?? []) {
    const eq = value.indexOf('=');
    const group = value.slice(0, eq).trim();
    const list = value.slice(eq + 1).split(',').map((r) => r.trim()).filter((r) => r !== '');
    if (eq <= 0 || list.length === 0) {
      throw new KubewallError('USAGE', `--group-role: expected GROUP=ROLE[,ROLE] or GROUP=none, got ${showValue(value)} (e.g. --group-role masters=control-plane)`);
    }
    if (list.length === 1 && list[0] === 'none') {
      roles.set(group, []);
      continue;
    }
    const unknown = list.filter((r) => !(ROLES as readonly string[]).includes(r));
    if (unknown.length > 0) {
      throw new KubewallError('USAGE', `--group-role ${value}: unknown role ${unknown.map((u) => showValue(u)).join(', ')} (expected ${ROLES.join(', ')} or none)`);
    }
    roles.set(group, list as Role[]);
  }
  return roles;
}

/** Every group a host is in: the ones that list it and, transitively, their parents. */
function groupsOfHosts(inventory: Inventory): Map<string, Set<string>> {
  const parents = new Map<string, string[]>();
  for (const group of inventory.groups.values()) {
    for (const child of group.children) parents.set(child, [...(parents.get(child) ?? []), group.name]);
  }
  // Iterative, not recursive: a chain of thousands of [group:children] must not overflow the stack.
  const ancestors = new Map<string, Set<string>>();
  const ancestorsOf = (group: string): Set<string> => {
    const cached = ancestors.get(group);
    if (cached) return cached;
    const result = new Set<string>([group]);
    const queue = [group];
    for (let i = 0; i < queue.length; i++) {
      for (const parent of parents.get(queue[i]!) ?? []) {
        if (result.has(parent)) continue; // a cycle or a diamond: Ansible refuses cycles too, but no need to loop here
        result.add(parent);
        queue.push(parent);
      }
    }
    ancestors.set(group, result);
    return result;
  };
  const result = new Map<string, Set<string>>();
  for (const group of inventory.groups.values()) {
    for (const host of group.hosts) {
      let set = result.get(host);
      if (!set) result.set(host, (set = new Set(['all'])));
      for (const g of ancestorsOf(group.name)) set.add(g);
    }
  }
  return result;
}

/** Depth of a group below `all`, for Ansible's variable precedence (deeper wins, then name). */
function groupDepths(inventory: Inventory): Map<string, number> {
  const depths = new Map<string, number>([['all', 0]]);
  const queue = ['all'];
  while (queue.length > 0) {
    const name = queue.shift()!;
    const depth = depths.get(name)!;
    for (const child of inventory.groups.get(name)?.children ?? []) {
      if ((depths.get(child) ?? -1) < depth + 1 && depth + 1 < inventory.groups.size + 1) {
        depths.set(child, depth + 1);
        queue.push(child);
      }
    }
  }
  return depths;
}

function describeValue(value: InventoryValue): string {
  return showValue(value);
}

/**
 * The fleet an inventory describes: every host in a group mapped to a role,
 * with its addresses. Errors name the file, the line, the host, the variable
 * and the value.
 */
export function fleetFromInventory(inventory: Inventory, groupRoles: GroupRoles = DEFAULT_GROUP_ROLES): InventoryFleet {
  const memberships = groupsOfHosts(inventory);
  const depths = groupDepths(inventory);
  const hosts: FleetHost[] = [];
  const skipped: string[] = [];
  for (const host of inventory.hosts.values()) {
    const groups = memberships.get(host.name) ?? new Set(['all']);
    const roles = ROLES.filter((role) => [...groups].some((g) => groupRoles.get(g)?.includes(role)));
    if (roles.length === 0) {
      skipped.push(host.name);
      continue;
    }
    // Group variables first, shallow to deep (then by name), host variables last: Ansible's order.
    const ordered = [...groups].sort((a, b) => (depths.get(a) ?? 0) - (depths.get(b) ?? 0) || (a < b ? -1 : a > b ? 1 : 0));
    const vars = new Map<string, { value: InventoryValue; where: string }>();
    for (const g of ordered) for (const [k, v] of inventory.groups.get(g)?.vars ?? []) vars.set(k, v);
    for (const [k, v] of host.vars) vars.set(k, v);
    hosts.push({ name: host.name, where: host.where, roles, addresses: hostAddresses(host.name, host.where, vars) });
  }
  if (hosts.length === 0) {
    const mapped = [...groupRoles].filter(([, r]) => r.length > 0).map(([g, r]) => `${g}=${r.join(',')}`);
    const groups = [...inventory.groups.keys()].filter((g) => g !== 'all' && g !== 'ungrouped');
    throw new KubewallError(
      'INVENTORY',
      `${inventory.source}: no host is in a group mapped to a role (groups here: ${groups.slice(0, 10).map((g) => (g.length > 40 ? `${g.slice(0, 40)}…` : g)).join(', ') || 'none'}${groups.length > 10 ? `, … (${groups.length} groups)` : ''}; mapped: ${mapped.join(', ')}; map yours with --group-role GROUP=ROLE)`,
    );
  }
  return { hosts, skipped };
}

function hostAddresses(name: string, where: string, vars: ReadonlyMap<string, { value: InventoryValue; where: string }>): string[] {
  // node:net's isIP, not ipaddr.js: its patterns cost more than the whole plan for a
  // 5,000-host inventory (and this module loads only with --inventory).
  const addresses: string[] = [];
  const check = (key: string, required: boolean): void => {
    const entry = vars.get(key);
    if (entry === undefined || entry.value === null || entry.value === '') return;
    const text = typeof entry.value === 'string' ? entry.value.trim() : undefined;
    if (text !== undefined && text.includes('{{')) {
      throw new KubewallError('INVENTORY', `${entry.where}: host ${name}: ${key}: ${describeValue(entry.value)} is a Jinja template, which kubewall does not evaluate (give the address itself)`);
    }
    // Zone ids and IPv4-mapped addresses are refused here, at load, as in a cluster file.
    if (text !== undefined && isIP(text) !== 0 && (text.includes('%') || isIpv4Mapped(text))) {
      const why = text.includes('%') ? `has a zone id ("%…"), which a firewall rule cannot match (give the address without it)` : ipv4MappedRefusal(text);
      throw new KubewallError('INVENTORY', `${entry.where}: host ${name}: ${key}: ${describeValue(entry.value)} ${why}`);
    }
    if (text !== undefined && isIP(text) !== 0) {
      if (!addresses.includes(text)) addresses.push(text);
    } else if (required) {
      throw new KubewallError('INVENTORY', `${entry.where}: host ${name}: ${key}: ${describeValue(entry.value)} is not an IP address (expected an IPv4 address like 10.0.0.11 or an IPv6 address like fd00::11)`);
    }
  };
  for (const key of ADDRESS_VARS) check(key, true);
  // ansible_host may be a DNS name (where to SSH to): only an address counts.
  if (addresses.length === 0) check(CONNECT_VAR, false);
  if (addresses.length === 0 && isIP(name) !== 0 && !name.includes('%') && !isIpv4Mapped(name)) addresses.push(name);
  if (addresses.length === 0) {
    throw new KubewallError(
      'INVENTORY',
      `${where}: host ${name}: no address (expected ${ADDRESS_VARS.join(', ')} or ${CONNECT_VAR} to be an IP address, or the host name to be one, e.g. ${name} ansible_host=10.0.0.11)`,
    );
  }
  return addresses;
}
