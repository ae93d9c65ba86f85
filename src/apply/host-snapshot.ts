import { backendsWith, getBackend } from '../backends/registry.js';
import type { BackendApply, BackendOptions, BackendSnapshot } from '../backends/types.js';
import { KubewallError } from '../errors.js';
import type { WriteRunner } from './write-runner.js';

/** Everything kubewall owns on the host for one backend, as saved before an apply (each backend's own JSON shape). */
export type HostSnapshot = BackendSnapshot;

/** The backends `kubewall apply` can save, apply and restore: those whose registry line declares `apply`. */
export const APPLY_BACKENDS: readonly string[] = backendsWith('apply');
export type ApplyBackend = string;

/** How long apply's own commands may take; the first deadline leaves room for it. */
export const APPLY_COMMAND_TIMEOUT_MS = 30_000;

/** A backend's apply side, through the registry. */
export async function getBackendApply(backend: ApplyBackend): Promise<BackendApply> {
  const apply = APPLY_BACKENDS.includes(backend) ? (await getBackend(backend)).apply : undefined;
  if (!apply) throw new KubewallError('USAGE', `apply: --backend ${backend} is not supported; apply supports ${APPLY_BACKENDS.join(', ')}`);
  return apply;
}

/** Reads what kubewall owns now. Nothing is changed. `options`: the backend options the file was rendered with. */
export async function takeSnapshot(backend: ApplyBackend, runner: WriteRunner, options: BackendOptions = {}): Promise<HostSnapshot> {
  return (await getBackendApply(backend)).snapshot(runner, options);
}

/**
 * Puts the saved state back, through the backend that took it. Each step is
 * computed from what is there now, so restoring twice is the same as once.
 */
export async function restoreSnapshot(snapshot: HostSnapshot, runner: WriteRunner): Promise<void> {
  await (await getBackendApply(snapshot.backend)).restore(snapshot, runner);
}

/** Applies a rendered main file the backend's way (nftables: `nft -f`, one transaction; the others: their `sh` script). */
export async function applyRenderedFile(backend: ApplyBackend, file: string, runner: WriteRunner): Promise<void> {
  await (await getBackendApply(backend)).load(file, runner);
}

/** Whether a failed apply cannot have changed anything: nft -f is one transaction; the iptables, firewalld and ufw scripts are several steps. */
export async function applyIsAtomic(backend: ApplyBackend): Promise<boolean> {
  return (await getBackendApply(backend)).atomic;
}

/** How long applying the rendered file may take for this backend; the runner and the first deadline both use it. */
export async function applyCommandTimeoutMs(backend: ApplyBackend): Promise<number> {
  return (await getBackendApply(backend)).loadTimeoutMs ?? APPLY_COMMAND_TIMEOUT_MS;
}
