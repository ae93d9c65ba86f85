import { applyOverrides, type Catalogue } from './catalogue/catalogue.js';
import { loadCatalogue, type ProfileChoice, type ProfileSelection } from './catalogue/load-catalogue.js';
import { EMBEDDED_DEFAULT_CLUSTER, type Cluster } from './cluster/cluster.js';
import type { KubeProxyMode, Role } from './model.js';
import { parseHostAddress } from './addresses.js';
import { KubewallError } from './errors.js';
import { planRole } from './plan/plan-role.js';
import type { Plan } from './plan/types.js';

export interface PlanFromFilesOptions {
  readonly roles: readonly Role[];
  /** A cluster file (YAML or JSON); without it, the embedded default cluster. */
  readonly clusterFile?: string | undefined;
  /** Extra catalogue fragments: files or globs. */
  readonly cataloguePatterns?: readonly string[] | undefined;
  readonly allowLockout?: boolean | undefined;
  /** Profiles chosen on the command line; they take precedence over the cluster file's `profiles`. */
  readonly profiles?: ProfileFlags | undefined;
  /** `--kube-proxy`: takes precedence over the cluster file's `kubeProxy`. */
  readonly kubeProxy?: KubeProxyMode | undefined;
  /**
   * NodeLocal DNSCache an inventory turns on (kubespray's enable_nodelocaldns):
   * adds the node-local-dns add-on, and its address where the cluster file
   * names none.
   */
  readonly inventoryNodeLocalDNS?: { readonly address: string; readonly where: string } | null | undefined;
  readonly cwd?: string | undefined;
}

/** `--distribution`, `--cni`, `--addon` as given. */
export interface ProfileFlags {
  readonly distribution?: string | undefined;
  readonly cni?: string | undefined;
  readonly addons?: readonly string[] | undefined;
}

function selectProfiles(flags: ProfileFlags | undefined, cluster: Cluster): ProfileSelection {
  const fromFlag = (value: string | undefined, flag: string): ProfileChoice | undefined =>
    value === undefined ? undefined : { value, where: flag, code: 'USAGE' };
  const fromFile = (value: string | undefined, path: (string | number)[]): ProfileChoice | undefined =>
    // Read only by error messages, so the file's positions are built only then.
    value === undefined ? undefined : { value, get where() { return `${cluster.locate(path)}: ${path.join('.')}`; }, code: 'CLUSTER' };
  const file = cluster.profiles;
  return {
    distribution: fromFlag(flags?.distribution, '--distribution') ?? fromFile(file?.distribution, ['profiles', 'distribution']),
    cni: fromFlag(flags?.cni, '--cni') ?? fromFile(file?.cni, ['profiles', 'cni']),
    addons:
      flags?.addons && flags.addons.length > 0
        ? flags.addons.map((addon) => fromFlag(addon, '--addon')!)
        : (file?.addons ?? []).map((addon, i) => fromFile(addon, ['profiles', 'addons', i])!),
  };
}

export interface LoadedInputs {
  readonly catalogue: Catalogue;
  readonly cluster: Cluster;
}

/** The I/O edge in front of the planner: read catalogue and cluster files, apply overrides. */
export async function loadInputs(options: Omit<PlanFromFilesOptions, 'roles' | 'allowLockout'>): Promise<LoadedInputs> {
  // The cluster loader brings zod and yaml; a render without --cluster does not pay for them.
  const fileCluster =
    options.clusterFile === undefined
      ? EMBEDDED_DEFAULT_CLUSTER
      : await import('./cluster/load-cluster.js').then(({ loadCluster }) => loadCluster(options.clusterFile!, options.cwd));
  let cluster: Cluster =
    options.kubeProxy === undefined ? fileCluster : { ...fileCluster, kubeProxy: { mode: options.kubeProxy, where: '--kube-proxy' } };
  const selected = selectProfiles(options.profiles, cluster);
  const addons = [...(selected.addons ?? [])];
  const fromInventory = options.inventoryNodeLocalDNS;
  if (fromInventory) {
    if (!addons.some((a) => a.value === 'node-local-dns')) addons.push({ value: 'node-local-dns', where: fromInventory.where, code: 'INVENTORY' });
    if (cluster.nodeLocalDNS === null) {
      const address = parseHostAddress(fromInventory.address);
      if (typeof address === 'string') throw new KubewallError('INVENTORY', `${fromInventory.where}: nodelocaldns_ip: ${address}`);
      cluster = { ...cluster, nodeLocalDNS: address };
    }
  }
  const baseCatalogue = await loadCatalogue({
    patterns: options.cataloguePatterns ?? [],
    profiles: { ...selected, addons },
    cwd: options.cwd,
  });
  return { catalogue: applyOverrides(baseCatalogue, cluster.overrides, cluster.locate, cluster.source ?? 'the embedded default cluster'), cluster };
}

/** Reads the inputs and plans: what `kubewall plan` and `kubewall render` do before formatting. */
export async function planFromFiles(options: PlanFromFilesOptions): Promise<Plan> {
  const { catalogue, cluster } = await loadInputs(options);
  return planRole({ catalogue, cluster, roles: options.roles, options: { allowLockout: options.allowLockout ?? false } });
}
