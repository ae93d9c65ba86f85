/** What kubewall owns under nftables: one table, and nothing else. */
export const NFTABLES_OWNED_TABLE = 'inet kubewall';

/** kubewall's table as `nft list table inet kubewall` printed it, or null when it did not exist. */
export interface NftablesSnapshot {
  readonly backend: 'nftables';
  readonly table: string | null;
}

/**
 * Pure: the outcome of `nft list table inet kubewall` → a snapshot. A missing
 * table is a state worth restoring (its absence); any other failure is not.
 */
export function nftablesSnapshotFrom(exitCode: number, stdout: string, stderr: string): NftablesSnapshot | { readonly error: string } {
  if (exitCode === 0) return { backend: 'nftables', table: stdout };
  if (/No such file or directory/.test(stderr)) return { backend: 'nftables', table: null };
  return { error: stderr.trim().split('\n').filter((l) => l.trim() !== '').pop() ?? `exit code ${exitCode}` };
}

/**
 * Pure: one nft transaction that puts kubewall's table back as saved. The
 * `table` line makes the `delete` valid whether or not the table exists now;
 * other tables are never named.
 */
export function nftablesRestoreScript(snapshot: NftablesSnapshot): string {
  const reset = `table ${NFTABLES_OWNED_TABLE}\ndelete table ${NFTABLES_OWNED_TABLE}\n`;
  return snapshot.table === null ? reset : `${reset}${snapshot.table.endsWith('\n') ? snapshot.table : `${snapshot.table}\n`}`;
}
