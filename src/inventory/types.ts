/** An Ansible variable value as the inventory gives it (strings, numbers, booleans, lists, mappings). */
export type InventoryValue = unknown;

/** Variables, each with where it was set, so an error can point at it. */
export type InventoryVars = ReadonlyMap<string, { readonly value: InventoryValue; readonly where: string }>;

export interface InventoryHost {
  readonly name: string;
  /** Where the host was first listed: `file:line` (INI) or `file:line:col` (YAML). */
  readonly where: string;
  /** Host variables; a host listed twice merges them, the later one wins. */
  readonly vars: InventoryVars;
}

export interface InventoryGroup {
  readonly name: string;
  readonly where: string;
  /** Hosts listed directly in the group. */
  readonly hosts: readonly string[];
  readonly children: readonly string[];
  readonly vars: InventoryVars;
}

/**
 * An Ansible inventory reduced to what kubewall reads: hosts, groups, their
 * children and variables. `all` and `ungrouped` exist as in Ansible.
 */
export interface Inventory {
  readonly source: string;
  readonly hosts: ReadonlyMap<string, InventoryHost>;
  readonly groups: ReadonlyMap<string, InventoryGroup>;
}

/** Mutable form the parsers fill in. */
export interface InventoryBuilder {
  readonly source: string;
  readonly hosts: Map<string, { name: string; where: string; vars: Map<string, { value: InventoryValue; where: string }> }>;
  readonly groups: Map<string, { name: string; where: string; hosts: string[]; children: string[]; vars: Map<string, { value: InventoryValue; where: string }> }>;
}

export function createInventoryBuilder(source: string): InventoryBuilder {
  const builder: InventoryBuilder = { source, hosts: new Map(), groups: new Map() };
  ensureGroup(builder, 'all', source);
  ensureGroup(builder, 'ungrouped', source);
  return builder;
}

export function ensureGroup(builder: InventoryBuilder, name: string, where: string) {
  let group = builder.groups.get(name);
  if (!group) {
    group = { name, where, hosts: [], children: [], vars: new Map() };
    builder.groups.set(name, group);
  }
  return group;
}

const groupMembers = new WeakMap<object, Set<string>>();

export function addHost(builder: InventoryBuilder, group: string, name: string, where: string) {
  let host = builder.hosts.get(name);
  if (!host) {
    host = { name, where, vars: new Map() };
    builder.hosts.set(name, host);
  }
  const target = ensureGroup(builder, group, where);
  // A Set beside the list keeps a 5,000-host group linear; the list keeps the file's order.
  let members = groupMembers.get(target);
  if (!members) groupMembers.set(target, (members = new Set(target.hosts)));
  if (!members.has(name)) {
    members.add(name);
    target.hosts.push(name);
  }
  return host;
}

export function addChild(builder: InventoryBuilder, parent: string, child: string, where: string): void {
  const group = ensureGroup(builder, parent, where);
  ensureGroup(builder, child, where);
  if (!group.children.includes(child)) group.children.push(child);
}

/** Hosts in no group but `all` belong to `ungrouped`, as in Ansible. */
export function finishInventory(builder: InventoryBuilder): Inventory {
  const grouped = new Set<string>();
  for (const group of builder.groups.values()) {
    if (group.name === 'all' || group.name === 'ungrouped') continue;
    for (const host of group.hosts) grouped.add(host);
  }
  const all = builder.groups.get('all')!;
  const ungrouped = builder.groups.get('ungrouped')!;
  const alreadyUngrouped = new Set(ungrouped.hosts);
  for (const host of builder.hosts.keys()) {
    if (!grouped.has(host) && !alreadyUngrouped.has(host)) ungrouped.hosts.push(host);
  }
  // Sets, not list scans: thousands of groups stay linear.
  const children = new Set<string>();
  for (const group of builder.groups.values()) if (group.name !== 'all') for (const child of group.children) children.add(child);
  const topLevel = new Set(all.children);
  for (const group of builder.groups.values()) {
    if (group.name !== 'all' && !topLevel.has(group.name) && !children.has(group.name)) all.children.push(group.name);
  }
  return builder;
}
