import { describeOutcome, runForOutput } from '../../apply/write-runner.js';
import { KubewallError } from '../../errors.js';
import type { BackendApply } from '../types.js';
import { NFTABLES_OWNED_TABLE, nftablesRestoreScript, nftablesSnapshotFrom, type NftablesSnapshot } from './apply-state.js';

/** `nft -f` replaces kubewall's table in one transaction; the restore is one more. */
export const nftablesApply: BackendApply<NftablesSnapshot> = {
  owns: `table ${NFTABLES_OWNED_TABLE} (or its absence)`,
  atomic: true,
  async snapshot(runner) {
    const command = `nft list table ${NFTABLES_OWNED_TABLE}`;
    const outcome = await runner.run('nft', ['list', 'table', ...NFTABLES_OWNED_TABLE.split(' ')]);
    if (outcome.status !== 'exited') throw new KubewallError('APPLY', describeOutcome(command, outcome));
    const snapshot = nftablesSnapshotFrom(outcome.exitCode, outcome.stdout, outcome.stderr);
    if ('error' in snapshot) throw new KubewallError('APPLY', `${command} failed: ${snapshot.error}`);
    return snapshot;
  },
  async load(file, runner) {
    await runForOutput(runner, 'nft', ['-f', file]);
  },
  async restore(snapshot, runner) {
    // The restore empties and refills the table as it is now (see nftablesRestoreScript): read it first.
    const command = `nft list table ${NFTABLES_OWNED_TABLE}`;
    const now = await runner.run('nft', ['list', 'table', ...NFTABLES_OWNED_TABLE.split(' ')]);
    const current = now.status === 'exited' ? nftablesSnapshotFrom(now.exitCode, now.stdout, now.stderr) : { error: describeOutcome(command, now) };
    if ('error' in current) throw new KubewallError('APPLY', `${command} failed: ${current.error}`);
    await runForOutput(runner, 'nft', ['-f', '-'], nftablesRestoreScript(snapshot, current.table));
  },
};
