import type { ConformanceAdapter, LiveRules } from '../adapter.js';
import { stripCounters } from '../normalize.js';

const TABLE = 'table inet kubewall';

/** Splits `nft -s list ruleset` into kubewall's table and everything else. */
export function splitNftRuleset(ruleset: string, table = TABLE): LiveRules {
  const own: string[] = [];
  const foreign: string[] = [];
  let inOwn = false;
  for (const line of ruleset.split('\n')) {
    if (!inOwn && line.startsWith(`${table} {`)) inOwn = true;
    (inOwn ? own : foreign).push(line);
    // Top-level blocks close with a `}` in column 0.
    if (inOwn && line === '}') inOwn = false;
  }
  return { own: own.join('\n').trim(), foreign: foreign.join('\n').trim() };
}

/**
 * nftables: the rendered file is one `nft -f` transaction that replaces only
 * `table inet kubewall`. No known gaps: it filters NodePorts before DNAT.
 */
export const nftablesAdapter: ConformanceAdapter = {
  backend: 'nftables',
  tools: ['nft'],
  async apply(ctx, output) {
    await ctx.exec('nft', ['-f', output.main.path]);
  },
  async snapshot(ctx) {
    // -s: stateless (no counters, no quotas) so live traffic cannot change the text.
    const { stdout } = await ctx.exec('nft', ['-s', 'list', 'ruleset']);
    return splitNftRuleset(stripCounters(stdout));
  },
  knownGaps: [],
};
