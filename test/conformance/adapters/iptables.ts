import type { ConformanceAdapter, LiveRules } from '../adapter.js';
import { splitIptablesSave, stripCounters } from '../normalize.js';

/** What kubewall's iptables output owns: chains, jumps and ipsets named KUBEWALL-*. */
const PREFIX = 'KUBEWALL';
const BUILTIN_CHAINS = new Set(['PREROUTING', 'INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING']);

/**
 * Drops tables that hold no rule and only built-in chains with policy ACCEPT:
 * iptables-nft creates the mangle table (all its built-in chains) the first
 * time a chain is declared in it, and an empty accepting table filters nothing.
 */
export function dropEmptyTables(save: string): string {
  const out: string[] = [];
  let block: string[] = [];
  for (const line of save.split('\n')) {
    if (line.startsWith('*')) block = [line];
    else if (block.length > 0) {
      block.push(line);
      if (line === 'COMMIT') {
        const empty = block.every((l) => l.startsWith('*') || l === 'COMMIT' || (/^:\S+ ACCEPT$/.test(l) && BUILTIN_CHAINS.has(l.slice(1).split(' ')[0]!)));
        if (!empty) out.push(...block);
        block = [];
      }
    } else out.push(line);
  }
  return out.join('\n');
}

/**
 * `ipset save` split by set name, normalized: without ipset's random
 * `initval` (new on every create), sets sorted by name (a swap moves a set to
 * another kernel index) and each set's members sorted (hash order follows
 * the initval).
 */
export function splitIpsetSave(save: string, prefix = `${PREFIX}-`): LiveRules {
  const sets = new Map<string, { create: string[]; members: string[] }>();
  for (const line of save.split('\n')) {
    if (line.trim() === '') continue;
    const name = line.split(' ')[1] ?? '';
    const set = sets.get(name) ?? { create: [], members: [] };
    sets.set(name, set);
    if (line.startsWith('create ')) set.create.push(line.replace(/ initval 0x[0-9a-f]+/, ''));
    else set.members.push(line);
  }
  const own: string[] = [];
  const foreign: string[] = [];
  for (const name of [...sets.keys()].sort()) {
    const set = sets.get(name)!;
    (name.startsWith(prefix) ? own : foreign).push(...set.create, ...set.members.sort());
  }
  return { own: own.join('\n'), foreign: foreign.join('\n') };
}

/**
 * iptables (nft variant, the one the harness's kube-proxy-like state uses):
 * the rendered script feeds ipset restore and iptables-restore --noflush and
 * adds the jumps once. No known gaps: KUBEWALL-BEFORE-DNAT filters NodePorts
 * in mangle PREROUTING, before kube-proxy's DNAT.
 */
export const iptablesAdapter: ConformanceAdapter = {
  backend: 'iptables',
  tools: ['sh', 'ipset', 'iptables-nft-restore', 'ip6tables-nft-restore', 'iptables-nft', 'ip6tables-nft', 'iptables-nft-save', 'ip6tables-nft-save'],
  renderArgs: ['--iptables-variant', 'nft'],
  async apply(ctx, output) {
    await ctx.exec('sh', [output.main.path]);
  },
  async snapshot(ctx) {
    const [v4, v6, ipsets] = await Promise.all([
      ctx.exec('iptables-nft-save', []),
      ctx.exec('ip6tables-nft-save', []),
      ctx.exec('ipset', ['save']),
    ]);
    const parts = [v4, v6].map((r) => splitIptablesSave(stripCounters(r.stdout), PREFIX));
    const sets = splitIpsetSave(ipsets.stdout);
    return {
      own: [...parts.map((p) => p.own), sets.own].join('\n--\n'),
      foreign: [...parts.map((p) => dropEmptyTables(p.foreign)), sets.foreign].join('\n--\n'),
    };
  },
  knownGaps: [],
};
