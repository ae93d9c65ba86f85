import { availableProfiles } from '../catalogue/load-catalogue.js';
import { applyOverrides } from '../catalogue/catalogue.js';
import { loadInputs, type ProfileFlags } from '../load-plan.js';
import type { Role } from '../model.js';
import { planRole } from '../plan/plan-role.js';
import type { Plan } from '../plan/types.js';
import { checkListeners, type ListenerCheck } from './check-listeners.js';
import {
  detectAddons,
  detectCni,
  detectDistribution,
  detectKubeProxy,
  detectNodeLocalDns,
  detectRoles,
  type AddonFinding,
  type CniFinding,
  type DistributionFinding,
  type KubeProxyFinding,
  type NodeLocalDnsFinding,
  type RoleFinding,
} from './detectors.js';
import { DETECT_API_VERSION, type NodeSnapshot, type KubeProxyMode, type ProbeStatus } from './types.js';

/** What every detector concluded about one node; pure data from the snapshot. */
export interface DetectFindings {
  readonly roles: RoleFinding;
  readonly distribution: DistributionFinding;
  readonly kubeProxy: KubeProxyFinding;
  readonly cni: CniFinding;
  readonly nodeLocalDNS: NodeLocalDnsFinding;
  readonly addons: readonly AddonFinding[];
}

/** Pure: runs every detector. */
export function detectAll(snapshot: NodeSnapshot): DetectFindings {
  const nodeLocalDNS = detectNodeLocalDns(snapshot);
  return {
    roles: detectRoles(snapshot),
    distribution: detectDistribution(snapshot),
    kubeProxy: detectKubeProxy(snapshot),
    cni: detectCni(snapshot),
    nodeLocalDNS,
    addons: detectAddons(snapshot, nodeLocalDNS),
  };
}

/**
 * The cluster-file keys detect suggests. `kubeProxy`, `nodeLocalDNS` and the
 * `node-local-dns` add-on are the keys of issue 12; the block is printed even
 * where this catalogue does not know them yet.
 */
export interface SuggestedClusterFile {
  readonly kubeProxy?: KubeProxyMode;
  readonly nodeLocalDNS?: string;
  readonly profiles: { readonly distribution?: string; readonly cni?: string; readonly addons?: readonly string[] };
  readonly overrides?: Readonly<Record<string, { readonly ports: number }>>;
}

/** Pure: the findings as cluster-file keys. */
export function suggestClusterFile(findings: DetectFindings): SuggestedClusterFile {
  const addons = findings.addons.filter((a) => a.suggest).map((a) => a.name).sort();
  const overrides = Object.entries(findings.cni.portOverrides).sort(([a], [b]) => a.localeCompare(b));
  return {
    ...(findings.kubeProxy.mode !== null ? { kubeProxy: findings.kubeProxy.mode } : {}),
    ...(findings.nodeLocalDNS.address !== null ? { nodeLocalDNS: findings.nodeLocalDNS.address } : {}),
    profiles: {
      ...(findings.distribution.name !== null ? { distribution: findings.distribution.name } : {}),
      ...(findings.cni.profile !== null ? { cni: findings.cni.profile } : {}),
      ...(addons.length > 0 ? { addons } : {}),
    },
    ...(overrides.length > 0 ? { overrides: Object.fromEntries(overrides.map(([id, port]) => [id, { ports: port }])) } : {}),
  };
}

export interface DetectReport {
  readonly apiVersion: typeof DETECT_API_VERSION;
  readonly source: string;
  /** The roles the listeners were checked for, and whether they were detected or given. */
  readonly roles: { readonly roles: readonly Role[]; readonly from: 'detected' | '--role'; readonly assumed: boolean; readonly evidence: readonly string[] };
  readonly distribution: DistributionFinding;
  readonly kubeProxy: KubeProxyFinding;
  readonly cni: CniFinding;
  readonly nodeLocalDNS: NodeLocalDnsFinding;
  readonly addons: readonly AddonFinding[];
  /** The plan the sockets were checked against: its profiles as the planner names them. */
  readonly plan: { readonly roles: readonly Role[]; readonly cluster: string | null; readonly profiles: readonly string[] };
  readonly listeners: ListenerCheck;
  readonly clusterFile: SuggestedClusterFile;
  readonly probes: readonly ProbeStatus[];
  readonly warnings: readonly string[];
}

export interface DetectOptions {
  /** `--role`; without it the detected role. */
  readonly roles?: readonly Role[] | undefined;
  readonly clusterFile?: string | undefined;
  readonly cataloguePatterns?: readonly string[] | undefined;
  /** `--distribution`, `--cni`, `--addon`: they replace what was detected in the plan the sockets are checked against. */
  readonly profiles?: ProfileFlags | undefined;
  readonly cwd?: string | undefined;
}

/**
 * Findings → the plan the node would get with them → the sockets against
 * that plan. Reads only the catalogue and cluster files; the host was read
 * before (the snapshot).
 */
export async function buildDetectReport(snapshot: NodeSnapshot, options: DetectOptions = {}): Promise<DetectReport> {
  const findings = detectAll(snapshot);
  const suggested = suggestClusterFile(findings);
  const warnings: string[] = [...findings.kubeProxy.warnings, ...findings.cni.warnings];
  const known = await availableProfiles();
  const detectedAddons = suggested.profiles.addons ?? [];
  const usableAddons = detectedAddons.filter((a) => known.addon.includes(a));
  for (const addon of detectedAddons.filter((a) => !known.addon.includes(a))) {
    warnings.push(`add-on ${addon} is not in this catalogue (expected ${known.addon.join(', ')}): its ports are not in the plan the sockets were checked against`);
  }
  const flags = options.profiles;
  const profiles: ProfileFlags = {
    distribution: flags?.distribution ?? suggested.profiles.distribution,
    cni: flags?.cni ?? suggested.profiles.cni,
    addons: flags?.addons && flags.addons.length > 0 ? flags.addons : usableAddons.length > 0 ? usableAddons : undefined,
  };
  const { catalogue, cluster } = await loadInputs({ clusterFile: options.clusterFile, cataloguePatterns: options.cataloguePatterns, profiles, cwd: options.cwd });
  const filePicks = cluster.profiles;
  if (filePicks?.cni !== undefined && suggested.profiles.cni !== undefined && filePicks.cni !== suggested.profiles.cni) {
    warnings.push(`${cluster.source}: profiles.cni is ${JSON.stringify(filePicks.cni)} but this node runs ${suggested.profiles.cni}`);
  }
  // A detected port that differs from the catalogue's (flannel on 4789) is checked as the suggested override would set it.
  const entryIds = new Set(catalogue.entries.map((e) => e.id));
  const detectedOverrides = Object.fromEntries(Object.entries(suggested.overrides ?? {}).filter(([id]) => entryIds.has(id) && cluster.overrides[id]?.ports === undefined));
  const compared = applyOverrides(catalogue, detectedOverrides, () => 'kubewall detect', 'the detected ports');
  const roles = options.roles && options.roles.length > 0 ? options.roles : findings.roles.roles;
  if (!options.roles?.length && findings.roles.assumed) warnings.push(findings.roles.evidence[0]!);
  const plan: Plan = planRole({ catalogue: compared, cluster, roles, options: { allowLockout: true } });
  return {
    apiVersion: DETECT_API_VERSION,
    source: snapshot.source,
    roles: {
      roles,
      from: options.roles?.length ? '--role' : 'detected',
      assumed: !options.roles?.length && findings.roles.assumed,
      evidence: options.roles?.length ? [`--role ${roles.join(',')}`] : findings.roles.evidence,
    },
    distribution: findings.distribution,
    kubeProxy: findings.kubeProxy,
    cni: findings.cni,
    nodeLocalDNS: findings.nodeLocalDNS,
    addons: findings.addons,
    plan: { roles: plan.roles, cluster: plan.cluster, profiles: plan.profiles },
    listeners: checkListeners(snapshot, plan),
    clusterFile: suggested,
    probes: snapshot.probes,
    warnings,
  };
}
