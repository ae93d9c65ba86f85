/**
 * Which pairs fill a full nftables audit set. Two effects blur "exactly the
 * first `size` pairs sent" without anything being evicted, both seen on
 * these 2-core machines with every packet delivered:
 * - Order: one process sends the flood in order, but when it moves between
 *   the CPUs mid-flood both CPUs' backlogs feed the rule at once, so near the
 *   set's size a race decides which pairs get the last places (a CI run
 *   recorded 138 pairs sent just after the 65,536th instead of 138 sent just
 *   before).
 * - Lost inserts: an add from the packet path can fail while the set's hash
 *   table is being grown, and the packet is accepted unrecorded (38 pairs
 *   from the middle of the flood once; a set with room for all 101,000 pairs
 *   held fewer). Audit records are best effort; the bound is what matters.
 * An eviction would look different: the kernel making room for new records
 * would drop tens of thousands of old ones. So a missing early pair counts
 * only outside REORDER_WINDOW packets of the boundary, a recorded late one
 * likewise, and only more than LOST_INSERTS of either is a problem.
 */
export const REORDER_WINDOW = 4096;
/** Inserts a flood may lose, as a share of the set's size. */
export const LOST_INSERTS = 0.01;

/** `sent`: the flood's pairs in the order sent; `records`: what the set holds; `size`: its configured size. */
export function fullSetProblems(sent: readonly string[], records: ReadonlySet<string>, size: number): string[] {
  const allowed = Math.ceil(size * LOST_INSERTS);
  let evicted = 0;
  let firstEvicted = -1;
  let late = 0;
  let firstLate = -1;
  for (let i = 0; i < sent.length; i++) {
    const recorded = records.has(sent[i]!);
    if (i < size - REORDER_WINDOW && !recorded) {
      evicted++;
      if (firstEvicted === -1) firstEvicted = i;
    } else if (i >= size + REORDER_WINDOW && recorded) {
      late++;
      if (firstLate === -1) firstLate = i;
    }
  }
  const out: string[] = [];
  if (evicted > allowed) {
    out.push(`${evicted} of the first ${size - REORDER_WINDOW} pairs sent are not recorded, more than the ${allowed} a flood may lose (evicted? the first is pair ${firstEvicted})`);
  }
  if (late > allowed) {
    out.push(`${late} pairs sent more than ${REORDER_WINDOW} packets after the set was full are recorded, more than the ${allowed} lost inserts could explain (the first is pair ${firstLate}): something made room for them`);
  }
  return out;
}
