/**
 * kubewall's library API: catalogue → plan → backend output, each step a
 * function you can call alone. Only the loaders (`loadCatalogue`,
 * `loadCluster`, `planFromFiles`) and `renderPlan` (templates) read files.
 */
export { KubewallError, isKubewallError, type KubewallErrorCode } from './errors.js';
export { VERSION } from './version.js';
export * from './model.js';
export { parsePortRange, parsePortSpec, formatPortRange, formatPortRanges, mergePortRanges, type PortSpec } from './ports.js';
export { parseHostAddress, parseNetwork, normalizeNetworks, PRIVATE_NETWORKS, type Network } from './addresses.js';
export {
  buildCatalogue,
  applyOverrides,
  assertNoConflicts,
  entriesForRoles,
  type Catalogue,
  type CatalogueEntry,
  type CatalogueFragment,
  type EntrySource,
  type EntryOverrides,
} from './catalogue/catalogue.js';
export { loadCatalogue, readCatalogueFragment, type LoadCatalogueOptions } from './catalogue/load-catalogue.js';
export { CatalogueFileSchema, CatalogueEntrySchema } from './catalogue/schema.js';
export { ClusterSchema } from './cluster/schema.js';
export { buildCluster, EMBEDDED_DEFAULT_CLUSTER, type Cluster, type ClusterNode } from './cluster/cluster.js';
export { loadCluster, parseCluster } from './cluster/load-cluster.js';
export { planRole, DEFAULT_PEER_NETWORKS, type PlanInput, type PlanOptions } from './plan/plan-role.js';
export * from './plan/types.js';
export { formatPlanTable, formatPlanJson } from './plan/format-plan.js';
export { planFromFiles, loadInputs, type PlanFromFilesOptions } from './load-plan.js';
export { renderPlan, type RenderOptions } from './render/render-plan.js';
export { BACKEND_REGISTRY, BACKEND_NAMES, BACKEND_SIDES, backendsWith, getBackend, requireAudit, type BackendEntry, type BackendSide } from './backends/registry.js';
export type { Backend, BackendApply, BackendAudit, BackendCapabilities, BackendOptions, BackendSnapshot, RenderedFile, RenderResult } from './backends/types.js';
export { findCapabilityGaps, type CapabilityGaps } from './backends/capabilities.js';
export { renderJsonSchemas } from './schema/json-schema.js';
export { diffHost, diffWithReader, getHostReader } from './diff/diff-host.js';
export { diffRulesets, type DiffResult } from './diff/diff-rulesets.js';
export { normalizePlan } from './diff/normalize-plan.js';
export { DIFF_API_VERSION, formatDiffJson, formatDiffText, type DiffReport } from './diff/format-diff.js';
export type * from './diff/types.js';
export type * from './host/types.js';
export { guardReadOnly, isReadOnlyCommand } from './host/read-only.js';
export { createExecaRunner } from './host/execa-runner.js';
export { availableProfiles, type ProfileChoice, type ProfileSelection } from './catalogue/load-catalogue.js';
export { renderPayloads, type RenderPayloadsOptions, type PayloadOutput } from './fleet/render-payloads.js';
export { parseInventory, loadInventory, clusterWithFleet } from './inventory/load-inventory.js';
export { fleetFromInventory, parseGroupRoleFlags, DEFAULT_GROUP_ROLES, type FleetHost, type GroupRoles, type InventoryFleet } from './inventory/fleet-hosts.js';
export type { Inventory, InventoryGroup, InventoryHost } from './inventory/types.js';
export { PAYLOAD_FORMATS, PAYLOAD_FORMAT_NAMES, getPayloadFormat } from './payloads/formats.js';
export type { PayloadFormat, PayloadContext } from './payloads/types.js';
export type { BackendInstall, PersistStep } from './backends/types.js';
export { runApply, runConfirm, runRollback, runWatcher, rollBack, refuseDroppedSession, APPLY_COMMAND_TIMEOUT_MS, applyCommandTimeoutMs, type ApplyRequest } from './apply/run-apply.js';
export { startRollbackWatcher } from './apply/start-watcher.js';
export { takeSnapshot, restoreSnapshot, applyRenderedFile, getBackendApply, APPLY_BACKENDS, type ApplyBackend, type HostSnapshot } from './apply/host-snapshot.js';
export { StateStore, resolveStateDir } from './apply/state-store.js';
export { DEFAULT_STATE_DIR, type PendingRecord, type Outcome } from './apply/pending.js';
export { checkSshSession, parseSshConnection, describeDroppedSession, type SshSession, type SshSessionVerdict } from './apply/ssh-session.js';
export { findSshConnection, type FoundSshConnection } from './apply/find-ssh-connection.js';
export { createExecaWriteRunner, describeOutcome, type WriteRunner } from './apply/write-runner.js';
export { gatherDetectCapture, parseDetectCapture, DETECT_CAPTURE_API_VERSION, DETECT_COMMANDS, type DetectCapture } from './detect/gather.js';
export { buildSnapshot } from './detect/parse-snapshot.js';
export { buildDetectReport, detectAll, suggestClusterFile, type DetectFindings, type DetectReport, type DetectOptions, type SuggestedClusterFile } from './detect/run-detect.js';
export { formatDetectJson, formatDetectTable, formatClusterBlock } from './detect/format-detect.js';
export { DETECT_API_VERSION, KUBE_PROXY_MODES, type KubeProxyMode, type NodeSnapshot } from './detect/types.js';
export { clusterFromNodes, type NodesConversion } from './cluster/from-nodes.js';
export { AUDIT_API_VERSION, type AuditRecord, type AuditReadResult } from './audit/types.js';
export { explainRecord, explainRecords, PEER_CLASS_SOURCES, type AuditFinding, type AuditFindingKind, type ExplainInputs, type ProfileCandidate } from './audit/explain.js';
export { runAudit, profileCandidates, type AuditReport, type AuditSource } from './audit/run-audit.js';
export { formatAuditJson, formatAuditText } from './audit/format-audit.js';
