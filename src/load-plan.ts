import { applyOverrides, type Catalogue } from './catalogue/catalogue.js';
import { loadCatalogue } from './catalogue/load-catalogue.js';
import { EMBEDDED_DEFAULT_CLUSTER, type Cluster } from './cluster/cluster.js';
import type { Role } from './model.js';
import { planRole } from './plan/plan-role.js';
import type { Plan } from './plan/types.js';

export interface PlanFromFilesOptions {
  readonly roles: readonly Role[];
  /** A cluster file (YAML or JSON); without it, the embedded default cluster. */
  readonly clusterFile?: string | undefined;
  /** Extra catalogue fragments: files or globs. */
  readonly cataloguePatterns?: readonly string[] | undefined;
  readonly allowLockout?: boolean | undefined;
  readonly cwd?: string | undefined;
}

export interface LoadedInputs {
  readonly catalogue: Catalogue;
  readonly cluster: Cluster;
}

/** The I/O edge in front of the planner: read catalogue and cluster files, apply overrides. */
export async function loadInputs(options: Omit<PlanFromFilesOptions, 'roles' | 'allowLockout'>): Promise<LoadedInputs> {
  const [baseCatalogue, cluster] = await Promise.all([
    loadCatalogue({ patterns: options.cataloguePatterns ?? [], cwd: options.cwd }),
    // The cluster loader brings zod and yaml; a render without --cluster does not pay for them.
    options.clusterFile === undefined
      ? EMBEDDED_DEFAULT_CLUSTER
      : import('./cluster/load-cluster.js').then(({ loadCluster }) => loadCluster(options.clusterFile!, options.cwd)),
  ]);
  return { catalogue: applyOverrides(baseCatalogue, cluster.overrides, cluster.locate, cluster.source ?? 'the embedded default cluster'), cluster };
}

/** Reads the inputs and plans: what `kubewall plan` and `kubewall render` do before formatting. */
export async function planFromFiles(options: PlanFromFilesOptions): Promise<Plan> {
  const { catalogue, cluster } = await loadInputs(options);
  return planRole({ catalogue, cluster, roles: options.roles, options: { allowLockout: options.allowLockout ?? false } });
}
