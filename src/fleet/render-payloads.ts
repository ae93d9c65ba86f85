import { showValue } from '../text/terminal.js';
import { getBackend } from '../backends/registry.js';
import type { BackendOptions, RenderedFile, RenderResult } from '../backends/types.js';
import type { Cluster } from '../cluster/cluster.js';
import { KubewallError } from '../errors.js';
import { fleetFromInventory, parseGroupRoleFlags } from '../inventory/fleet-hosts.js';
import { clusterWithFleet, kubeProxyModeFromInventory, loadInventory, nodeLocalDnsFromInventory } from '../inventory/load-inventory.js';
import { loadInputs, type ProfileFlags } from '../load-plan.js';
import type { KubeProxyMode, Role } from '../model.js';
import { PACKAGE_PATHS } from '../paths.js';
import { getPayloadFormat } from '../payloads/formats.js';
import type { PayloadContext } from '../payloads/types.js';
import { planRole } from '../plan/plan-role.js';
import type { Plan } from '../plan/types.js';
import { renderPlan } from '../render/render-plan.js';
import { createTemplateEngine } from '../render/template-engine.js';

export interface RenderPayloadsOptions {
  readonly backend: string;
  /** `files` (the backend's own), `ansible`, `cloud-init` or `script`. */
  readonly format: string;
  /** Without an inventory: required. With one: one plan for these roles, peers from the inventory. */
  readonly roles?: readonly Role[] | undefined;
  /** An Ansible inventory (YAML or INI): its hosts become the cluster's nodes; without roles, one output per host. */
  readonly inventory?: string | undefined;
  /** `GROUP=ROLE[,ROLE]` or `GROUP=none`, over the default group mapping. */
  readonly groupRoles?: readonly string[] | undefined;
  readonly clusterFile?: string | undefined;
  readonly cataloguePatterns?: readonly string[] | undefined;
  readonly allowLockout?: boolean | undefined;
  readonly profiles?: ProfileFlags | undefined;
  readonly kubeProxy?: KubeProxyMode | undefined;
  readonly templatesDir?: string | undefined;
  readonly backendOptions?: BackendOptions | undefined;
  readonly cwd?: string | undefined;
}

export interface PayloadOutput {
  /** Paths relative to the output folder; hosts with the same plan share one content string. */
  readonly files: readonly RenderedFile[];
  /** Every plan's and backend's warnings, each once. */
  readonly warnings: readonly string[];
  /** Hosts written (0 without an inventory's fleet), distinct plans rendered. */
  readonly hosts: number;
  readonly plans: number;
  /** Inventory hosts in no group mapped to a role. */
  readonly skipped: readonly string[];
}

/** A host name becomes a folder name: it must not climb out of the output folder. */
function assertSafeHostName(name: string, where: string): void {
  if (name === '' || name === '.' || name === '..' || /[/\\\0]/.test(name)) {
    throw new KubewallError('INVENTORY', `${where}: host ${showValue(name)} cannot name a folder of the output (expected no "/", "\\" and not "." or "..")`);
  }
  // The payload folder is found through "{{ inventory_hostname }}", whose value Ansible templates again.
  if (/\{[{%#]/.test(name)) {
    throw new KubewallError('INVENTORY', `${where}: host ${showValue(name)} holds a Jinja delimiter ({{, {% or {#), which Ansible would evaluate in the playbook (rename the host)`);
  }
  // File systems cap a name at 255 bytes (ENAMETOOLONG); say so before anything is written.
  if (Buffer.byteLength(name) > MAX_NAME_BYTES) {
    throw new KubewallError('INVENTORY', `${where}: host ${showValue(name)} cannot name a folder of the output (${Buffer.byteLength(name)} bytes; at most ${MAX_NAME_BYTES})`);
  }
}

const MAX_NAME_BYTES = 255;

/**
 * A group that lands in the playbook's `hosts:` pattern: `:` `,` `!` `&` `*`
 * `~` `[` and spaces would change which hosts the play selects, so only
 * plain names pass (Jinja is inert there anyway: the pattern is `!unsafe`).
 */
function assertPlainGroupName(name: string, source: string): void {
  if (!/^[A-Za-z0-9_][A-Za-z0-9_.-]*$/.test(name)) {
    throw new KubewallError('INVENTORY', `${source}: group ${showValue(name)} is mapped to a role but cannot go into the playbook's hosts pattern (expected letters, digits, "_", "-" and ".", e.g. kube_node)`);
  }
}

interface PlanGroup {
  readonly hosts: readonly string[] | null;
  readonly plan: Plan;
}

/**
 * Plans and renders for a fleet: one plan per distinct role combination,
 * rendered and wrapped once, every host of that combination pointing at the
 * same content. Without an inventory, one plan for `roles`.
 */
export async function renderPayloads(options: RenderPayloadsOptions): Promise<PayloadOutput> {
  const format = getPayloadFormat(options.format);
  const backend = await getBackend(options.backend);
  // The inventory comes first: kubespray's enable_nodelocaldns changes which add-ons the catalogue holds.
  const inventory = options.inventory === undefined ? undefined : await loadInventory(options.inventory, options.cwd);
  const { catalogue, cluster: baseCluster } = await loadInputs({ ...options, inventoryNodeLocalDNS: inventory ? nodeLocalDnsFromInventory(inventory) : null });
  let cluster: Cluster = baseCluster;
  let fleetGroups: string[] | null = null;
  let skipped: readonly string[] = [];
  const groups: PlanGroup[] = [];
  const plan = (roles: readonly Role[]) => planRole({ catalogue, cluster, roles, options: { allowLockout: options.allowLockout ?? false } });

  if (options.inventory === undefined || inventory === undefined) {
    if (options.groupRoles && options.groupRoles.length > 0) throw new KubewallError('USAGE', '--group-role needs --inventory');
    if (!options.roles || options.roles.length === 0) throw new KubewallError('USAGE', '--role is required without --inventory');
    groups.push({ hosts: null, plan: plan(options.roles) });
  } else {
    const groupRoles = parseGroupRoleFlags(options.groupRoles);
    const fleet = fleetFromInventory(inventory, groupRoles);
    skipped = fleet.skipped;
    cluster = clusterWithFleet(baseCluster, fleet.hosts, options.inventory);
    // --kube-proxy and the cluster file's kubeProxy say it outright; the inventory's kube_proxy_mode comes next.
    const inventoryMode = cluster.kubeProxy.where === null ? kubeProxyModeFromInventory(inventory) : null;
    if (inventoryMode) cluster = { ...cluster, kubeProxy: inventoryMode };
    if (options.roles && options.roles.length > 0) {
      groups.push({ hosts: null, plan: plan(options.roles) });
    } else {
      const byRoles = new Map<string, { roles: readonly Role[]; hosts: string[] }>();
      for (const host of fleet.hosts) {
        assertSafeHostName(host.name, host.where);
        const key = host.roles.join(',');
        let group = byRoles.get(key);
        if (!group) byRoles.set(key, (group = { roles: host.roles, hosts: [] }));
        group.hosts.push(host.name);
      }
      for (const group of [...byRoles.values()]) groups.push({ hosts: group.hosts, plan: plan(group.roles) });
      fleetGroups = [...inventory.groups.values()]
        .filter((g) => (groupRoles.get(g.name)?.length ?? 0) > 0)
        .map((g) => g.name)
        .sort();
      for (const name of fleetGroups) assertPlainGroupName(name, options.inventory);
    }
  }

  const templatesDir = options.templatesDir ?? PACKAGE_PATHS.templates;
  const templates = await createTemplateEngine(templatesDir);
  const install = backend.install?.(options.backendOptions ?? {});
  const files: RenderedFile[] = [];
  const warnings = new Set<string>();
  let first: PayloadContext | undefined;
  for (const group of groups) {
    const result: RenderResult = await renderPlan(group.plan, backend.name, { templatesDir, backendOptions: options.backendOptions ?? {} });
    for (const warning of [...group.plan.warnings, ...result.warnings]) warnings.add(warning);
    const context: PayloadContext = { plan: group.plan, result, install, templates };
    first ??= context;
    const wrapped = await format.wrap(context);
    for (const host of group.hosts ?? [null]) {
      for (const file of wrapped) files.push({ ...file, name: format.hostPath(host, file.name) });
    }
  }
  if (format.shared && first) files.unshift(...(await format.shared({ ...first, fleetGroups })));
  const hosts = groups.reduce((n, g) => n + (g.hosts?.length ?? 0), 0);
  return { files, warnings: [...warnings], hosts, plans: groups.length, skipped };
}
