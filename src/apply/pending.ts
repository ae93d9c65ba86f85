/**
 * The pure side of the state directory: what a pending apply records, and
 * the decisions taken from it (wait, roll back, refuse a second apply).
 */
import type { ApplyBackend } from './host-snapshot.js';

/** Where pending applies live unless --state-dir or KUBEWALL_STATE_DIR say otherwise: tmpfs, gone at reboot with the rules. */
export const DEFAULT_STATE_DIR = '/run/kubewall';

export type ApplyPhase = 'prepared' | 'applying' | 'applied';

/** `pending/record.json`: one apply waiting for confirmation. */
export interface PendingRecord {
  readonly version: 1;
  readonly id: string;
  readonly backend: ApplyBackend;
  readonly roles: readonly string[];
  readonly startedAt: string;
  /** Epoch milliseconds: when the watcher restores the saved state unless confirmed. */
  readonly deadline: number;
  readonly confirmTimeoutSeconds: number;
  readonly phase: ApplyPhase;
  readonly applyPid: number;
  readonly watcherPid: number | null;
}

/** `pending/outcome`: written once (O_EXCL), so confirm, the watcher and a failing apply never both act. */
export const OUTCOMES = ['confirmed', 'rolled-back', 'failed'] as const;
export type Outcome = (typeof OUTCOMES)[number];

export type WatcherStep = { readonly kind: 'stand-down' } | { readonly kind: 'roll-back' } | { readonly kind: 'wait'; readonly ms: number };

/** Pure: what the watcher does next. */
export function nextWatcherStep(record: PendingRecord | undefined, outcome: Outcome | undefined, now: number, pollMs = 100): WatcherStep {
  if (record === undefined || outcome !== undefined) return { kind: 'stand-down' };
  if (now >= record.deadline) return { kind: 'roll-back' };
  return { kind: 'wait', ms: Math.max(1, Math.min(pollMs, record.deadline - now)) };
}

function clock(epochMs: number): string {
  return new Date(epochMs).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
}

/** Pure: why a second apply (or a confirm) cannot go on, and what to do. */
/**
 * Pure: what `kubewall confirm` says when nothing is pending: the last apply
 * (from `last/`), how it ended, when, and why.
 */
export function describeLastApply(
  last: { readonly record: PendingRecord; readonly outcome: Outcome | undefined; readonly endedAt: Date | undefined; readonly watcherLog: string } | undefined,
  stateDir: string,
): string {
  const none = `nothing to confirm: no apply is pending in ${stateDir}`;
  if (last === undefined) return `${none} (none was made with this --state-dir)`;
  const { record, outcome, endedAt } = last;
  const what = `the apply of --backend ${record.backend} --role ${record.roles.join(',')} started ${record.startedAt}`;
  const when = endedAt ? ` at ${endedAt.toISOString()}` : '';
  if (outcome === 'confirmed') return `${none}: ${what} was already confirmed${when}`;
  if (outcome === 'failed') return `${none}: ${what} failed${when} and left the previous rules in place`;
  if (outcome === 'rolled-back') {
    const byWatcher = /deadline passed without confirmation/.test(last.watcherLog);
    const why = byWatcher
      ? `it was not confirmed within --confirm-timeout ${record.confirmTimeoutSeconds}s, so the watcher restored the previous rules`
      : 'kubewall rollback restored the previous rules';
    return `${none}: ${what} was rolled back${when}: ${why}. Run kubewall apply again to apply it anew`;
  }
  return `${none}: ${what} has ended`;
}

export function describePending(record: PendingRecord | undefined, watcherAlive: boolean, now: number, stateDir: string): string {
  const where = `${stateDir}/pending`;
  if (record === undefined) {
    return `another kubewall apply is starting (${where} exists without a record); if none is running, remove ${where} and try again`;
  }
  const what = `an apply of --backend ${record.backend} --role ${record.roles.join(',')} (pid ${record.applyPid}, started ${record.startedAt})`;
  if (!watcherAlive) {
    return `${what} is pending in ${where}, but its rollback watcher (pid ${record.watcherPid ?? 'none'}) is gone: its rules may still be in place. Run kubewall rollback to restore the state saved before it, or kubewall confirm to keep what is there`;
  }
  if (record.phase !== 'applied') return `${what} is still being applied; wait for it to finish`;
  const left = Math.max(0, Math.ceil((record.deadline - now) / 1000));
  return `${what} is waiting for confirmation: run kubewall confirm to keep it, or kubewall rollback (or wait ${left} s, until ${clock(record.deadline)}) to restore the state before it, then apply again`;
}

export function formatDeadline(epochMs: number): string {
  return clock(epochMs);
}
