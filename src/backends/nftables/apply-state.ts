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

/** The named objects of a table as `nft list table` prints them (one tab deep): `set x`, `chain input`, ... */
export function nftTableObjects(listing: string): string[] {
  return [...listing.matchAll(/^\t(set|map|chain|flowtable) (\S+) \{$/gm)].map((match) => `${match[1]} ${match[2]}`);
}

/**
 * Pure: one nft transaction that puts kubewall's table back as saved, given
 * the table as it is now (`current`, null when there is none). Like the
 * render it never deletes and re-creates what both have: a re-created set is
 * empty to lookups until the end of the commit, and a re-created base chain
 * is hooked before its rules, so new connections were dropped during the
 * restore. It empties the table and the sets both have, deletes what only
 * the current table has, then loads the saved text. Other tables are never
 * named. The `table` line makes a delete valid whether or not the table exists.
 */
export function nftablesRestoreScript(snapshot: NftablesSnapshot, current: string | null = null): string {
  const reset = `table ${NFTABLES_OWNED_TABLE}\ndelete table ${NFTABLES_OWNED_TABLE}\n`;
  if (snapshot.table === null) return reset;
  const saved = snapshot.table.endsWith('\n') ? snapshot.table : `${snapshot.table}\n`;
  if (current === null) return `${reset}${saved}`;
  const keep = new Set(nftTableObjects(saved));
  const lines = [`flush table ${NFTABLES_OWNED_TABLE}`];
  for (const object of nftTableObjects(current)) {
    const [kind, name] = object.split(' ') as [string, string];
    if (!keep.has(object)) lines.push(`delete ${kind} ${NFTABLES_OWNED_TABLE} ${name}`);
    else if (kind === 'set' || kind === 'map') lines.push(`flush ${kind} ${NFTABLES_OWNED_TABLE} ${name}`);
  }
  return `${lines.join('\n')}\n${saved}`;
}
