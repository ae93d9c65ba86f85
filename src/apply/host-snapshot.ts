import type { IptablesVariant } from '../backends/iptables/view.js';
import { KubewallError } from '../errors.js';
import type { CommandOutcome } from '../host/types.js';
import {
  emptiedTables,
  iptablesRestoreInput,
  ipsetRestoreInput,
  readOwnedIpsets,
  readOwnedIptables,
  type OwnedIpset,
  type OwnedIptables,
} from './iptables-state.js';
import { NFTABLES_OWNED_TABLE, nftablesRestoreScript, nftablesSnapshotFrom, type NftablesSnapshot } from './nftables-state.js';
import { describeOutcome, type WriteRunner } from './write-runner.js';

export interface IptablesSnapshot {
  readonly backend: 'iptables';
  readonly variant: IptablesVariant;
  readonly families: { readonly ipv4: OwnedIptables; readonly ipv6: OwnedIptables };
  readonly ipsets: readonly OwnedIpset[];
}

/** Everything kubewall owns on the host for one backend, as saved before an apply. */
export type HostSnapshot = NftablesSnapshot | IptablesSnapshot;

/** The backends `kubewall apply` can save, apply and restore. */
export const APPLY_BACKENDS = ['nftables', 'iptables'] as const;
export type ApplyBackend = (typeof APPLY_BACKENDS)[number];

const FAMILIES = ['ipv4', 'ipv6'] as const;

function iptablesCommand(variant: IptablesVariant, family: 'ipv4' | 'ipv6', verb: 'save' | 'restore'): string {
  return `${family === 'ipv4' ? 'iptables' : 'ip6tables'}-${variant}-${verb}`;
}

async function output(runner: WriteRunner, command: string, args: readonly string[], input?: string): Promise<string> {
  const outcome: CommandOutcome = await runner.run(command, args, input);
  if (outcome.status === 'exited' && outcome.exitCode === 0) return outcome.stdout;
  throw new KubewallError('APPLY', describeOutcome([command, ...args].join(' '), outcome));
}

/** Reads what kubewall owns now. Nothing is changed. */
export async function takeSnapshot(backend: ApplyBackend, runner: WriteRunner, variant: IptablesVariant = 'nft'): Promise<HostSnapshot> {
  if (backend === 'nftables') {
    const command = `nft list table ${NFTABLES_OWNED_TABLE}`;
    const outcome = await runner.run('nft', ['list', 'table', ...NFTABLES_OWNED_TABLE.split(' ')]);
    if (outcome.status !== 'exited') throw new KubewallError('APPLY', describeOutcome(command, outcome));
    const snapshot = nftablesSnapshotFrom(outcome.exitCode, outcome.stdout, outcome.stderr);
    if ('error' in snapshot) throw new KubewallError('APPLY', `${command} failed: ${snapshot.error}`);
    return snapshot;
  }
  const ipv4 = readOwnedIptables(await output(runner, iptablesCommand(variant, 'ipv4', 'save'), [])).owned;
  const ipv6 = readOwnedIptables(await output(runner, iptablesCommand(variant, 'ipv6', 'save'), [])).owned;
  const ipsets = readOwnedIpsets(await output(runner, 'ipset', ['save']));
  return { backend: 'iptables', variant, families: { ipv4, ipv6 }, ipsets };
}

/**
 * Puts the saved state back: nftables in one transaction; iptables as
 * ipsets, then one `--noflush` commit per table and family, then the sets
 * nothing refers to any more. Each step is computed from what is there now,
 * so restoring twice is the same as once.
 */
export async function restoreSnapshot(snapshot: HostSnapshot, runner: WriteRunner): Promise<void> {
  if (snapshot.backend === 'nftables') {
    await output(runner, 'nft', ['-f', '-'], nftablesRestoreScript(snapshot));
    return;
  }
  const { variant } = snapshot;
  const ipsets = ipsetRestoreInput(snapshot.ipsets, readOwnedIpsets(await output(runner, 'ipset', ['save'])));
  if (ipsets.before !== '') await output(runner, 'ipset', ['restore'], ipsets.before);
  for (const family of FAMILIES) {
    const current = readOwnedIptables(await output(runner, iptablesCommand(variant, family, 'save'), []));
    const input = iptablesRestoreInput(snapshot.families[family], current);
    if (input !== '') await output(runner, iptablesCommand(variant, family, 'restore'), ['-w', '--noflush'], input);
  }
  if (ipsets.after !== '') await output(runner, 'ipset', ['restore'], ipsets.after);
  if (variant !== 'nft') return;
  // iptables-nft creates a table on first use; a table that apply created and that is empty again goes too.
  for (const family of FAMILIES) {
    const after = readOwnedIptables(await output(runner, iptablesCommand(variant, family, 'save'), []));
    for (const table of emptiedTables(snapshot.families[family], after)) {
      await output(runner, 'nft', ['delete', 'table', family === 'ipv4' ? 'ip' : 'ip6', table]);
    }
  }
}

/** Applies a rendered file: `nft -f` (one transaction) or the iptables backend's `sh` script. */
export async function applyRenderedFile(backend: ApplyBackend, file: string, runner: WriteRunner): Promise<void> {
  if (backend === 'nftables') await output(runner, 'nft', ['-f', file]);
  else await output(runner, 'sh', [file]);
}

/** Whether a failed apply can have changed anything: nft -f is one transaction, the iptables script is several steps. */
export function applyIsAtomic(backend: ApplyBackend): boolean {
  return backend === 'nftables';
}
