/**
 * What kubewall owns under iptables, per family: its `KUBEWALL-*` chains, the
 * rules in other chains that jump into them (with their positions), and its
 * `KUBEWALL-*` ipsets. Pure functions from save output to that state, and
 * from (saved, current) state to the restore input that puts it back.
 */

const OWNED_PREFIX = 'KUBEWALL-';
const BUILT_IN_CHAINS = new Set(['INPUT', 'FORWARD', 'OUTPUT', 'PREROUTING', 'POSTROUTING']);
const JUMP_TO_OWNED = new RegExp(`(^|\\s)(-j|-g|--jump|--goto)\\s+${OWNED_PREFIX}\\S`);

export interface OwnedChain {
  readonly name: string;
  /** Rule specs as saved, without the leading `-A NAME `. */
  readonly rules: readonly string[];
}

/** A rule in someone else's chain (INPUT, PREROUTING) that jumps into one of kubewall's. */
export interface OwnedJump {
  readonly chain: string;
  /** 1-based position among all of that chain's rules. */
  readonly position: number;
  readonly spec: string;
}

export interface OwnedTable {
  readonly name: string;
  readonly chains: readonly OwnedChain[];
  readonly jumps: readonly OwnedJump[];
}

/** kubewall's part of one family's `iptables-save`, plus which tables existed at all. */
export interface OwnedIptables {
  readonly tables: readonly OwnedTable[];
  readonly presentTables: readonly string[];
}

/** What the rest of a table looks like: needed to place jumps and to tell an empty table. */
export interface TableSummary {
  /** Rules per chain that kubewall does not own (jumps into kubewall included). */
  readonly ruleCounts: ReadonlyMap<string, number>;
  readonly userChains: number;
  readonly builtInPoliciesAccept: boolean;
}

export interface ReadIptables {
  readonly owned: OwnedIptables;
  readonly summaries: ReadonlyMap<string, TableSummary>;
}

/** Pure: `iptables-save` text → kubewall's part of it, and a summary of the rest. */
export function readOwnedIptables(saveText: string): ReadIptables {
  const tables: OwnedTable[] = [];
  const summaries = new Map<string, TableSummary>();
  let current: { name: string; chains: Map<string, string[]>; jumps: OwnedJump[]; counts: Map<string, number>; userChains: number; accept: boolean } | undefined;
  for (const line of saveText.split('\n')) {
    if (line.startsWith('*')) {
      current = { name: line.slice(1).trim(), chains: new Map(), jumps: [], counts: new Map(), userChains: 0, accept: true };
    } else if (!current) {
      continue;
    } else if (line.startsWith(':')) {
      const [name = '', policy = '-'] = line.slice(1).split(' ');
      if (name.startsWith(OWNED_PREFIX)) current.chains.set(name, []);
      else if (BUILT_IN_CHAINS.has(name)) current.accept &&= policy === 'ACCEPT';
      else current.userChains += 1;
    } else if (line.startsWith('-A ')) {
      const space = line.indexOf(' ', 3);
      const chain = space === -1 ? line.slice(3) : line.slice(3, space);
      const spec = space === -1 ? '' : line.slice(space + 1);
      const owned = current.chains.get(chain);
      if (owned) owned.push(spec);
      else {
        const position = (current.counts.get(chain) ?? 0) + 1;
        current.counts.set(chain, position);
        if (JUMP_TO_OWNED.test(spec)) current.jumps.push({ chain, position, spec });
      }
    } else if (line.trim() === 'COMMIT') {
      if (current.chains.size > 0 || current.jumps.length > 0) {
        tables.push({ name: current.name, chains: [...current.chains].map(([name, rules]) => ({ name, rules })), jumps: current.jumps });
      }
      summaries.set(current.name, { ruleCounts: current.counts, userChains: current.userChains + current.chains.size, builtInPoliciesAccept: current.accept });
      current = undefined;
    }
  }
  return { owned: { tables, presentTables: [...summaries.keys()] }, summaries };
}

/**
 * Pure: `iptables-restore --noflush` input that turns the current state of
 * kubewall's chains and jumps into the saved one, one commit per table.
 * Declaring a chain flushes (or creates) it; only kubewall's chains are
 * declared, and only jumps into them are deleted or inserted, so every other
 * rule stays as it is. Empty when there is nothing of kubewall's either side.
 */
export function iptablesRestoreInput(saved: OwnedIptables, current: ReadIptables): string {
  const names = [...new Set([...saved.tables, ...current.owned.tables].map((t) => t.name))];
  const out: string[] = [];
  for (const name of names) {
    const want = saved.tables.find((t) => t.name === name) ?? { name, chains: [], jumps: [] };
    const have = current.owned.tables.find((t) => t.name === name) ?? { name, chains: [], jumps: [] };
    const wanted = new Set(want.chains.map((c) => c.name));
    out.push(`*${name}`);
    for (const chain of new Set([...want.chains, ...have.chains].map((c) => c.name))) out.push(`:${chain} - [0:0]`);
    for (const jump of have.jumps) out.push(`-D ${jump.chain} ${jump.spec}`);
    for (const chain of have.chains) if (!wanted.has(chain.name)) out.push(`-X ${chain.name}`);
    for (const chain of want.chains) for (const rule of chain.rules) out.push(`-A ${chain.name} ${rule}`);
    const counts = current.summaries.get(name)?.ruleCounts ?? new Map<string, number>();
    const inserted = new Map<string, number>();
    for (const jump of [...want.jumps].sort((a, b) => (a.chain < b.chain ? -1 : a.chain > b.chain ? 1 : a.position - b.position))) {
      const others = (counts.get(jump.chain) ?? 0) - have.jumps.filter((j) => j.chain === jump.chain).length;
      const before = inserted.get(jump.chain) ?? 0;
      // Someone else may have removed rules since the save: never insert past the end.
      out.push(`-I ${jump.chain} ${Math.min(jump.position, others + before + 1)} ${jump.spec}`);
      inserted.set(jump.chain, before + 1);
    }
    out.push('COMMIT');
  }
  return out.length === 0 ? '' : `${out.join('\n')}\n`;
}

/**
 * Pure: tables that did not exist before and hold nothing now (apply created
 * them for kubewall's chains); with iptables-nft they can be deleted to give
 * back the exact old `iptables-save`. A table with anything in it stays.
 */
export function emptiedTables(saved: OwnedIptables, after: ReadIptables): string[] {
  return [...after.summaries]
    .filter(([name, s]) => !saved.presentTables.includes(name) && s.userChains === 0 && s.builtInPoliciesAccept && [...s.ruleCounts.values()].every((n) => n === 0))
    .map(([name]) => name);
}

export interface OwnedIpset {
  readonly name: string;
  /** The rest of the `create` line: type and options, initval included, so the set comes back identical. */
  readonly create: string;
  /** The rest of each `add` line. */
  readonly entries: readonly string[];
}

/** Pure: `ipset save` text → kubewall's sets, in dump order. */
export function readOwnedIpsets(saveText: string): OwnedIpset[] {
  const sets = new Map<string, { name: string; create: string; entries: string[] }>();
  for (const line of saveText.split('\n')) {
    const match = /^(create|add) (\S+) (.*)$/.exec(line);
    if (!match || !match[2]!.startsWith(OWNED_PREFIX)) continue;
    const [, verb, name, rest] = match as unknown as [string, 'create' | 'add', string, string];
    if (verb === 'create') sets.set(name, { name, create: rest, entries: [] });
    else sets.get(name)?.entries.push(rest);
  }
  return [...sets.values()];
}

/**
 * Pure: `ipset restore` input, in two parts around the iptables restore. The
 * first brings every saved set back (filled under a temporary name, then
 * swapped in, so rules never see a half-filled set); the second destroys
 * kubewall's sets the saved state did not have, once no rule refers to them.
 */
export function ipsetRestoreInput(saved: readonly OwnedIpset[], current: readonly OwnedIpset[]): { before: string; after: string } {
  const taken = new Set([...saved, ...current].map((s) => s.name));
  let counter = 0;
  const temporaryName = (): string => {
    while (taken.has(`${OWNED_PREFIX}RB-${counter}`)) counter += 1;
    const name = `${OWNED_PREFIX}RB-${counter}`;
    taken.add(name);
    return name;
  };
  const before: string[] = [];
  for (const set of saved) {
    const exists = current.some((c) => c.name === set.name);
    const target = exists ? temporaryName() : set.name;
    before.push(`create ${target} ${set.create}`, ...set.entries.map((entry) => `add ${target} ${entry}`));
    if (exists) before.push(`swap ${target} ${set.name}`, `destroy ${target}`);
  }
  const after = current.filter((c) => !saved.some((s) => s.name === c.name)).map((c) => `destroy ${c.name}`);
  const text = (lines: string[]) => (lines.length === 0 ? '' : `${lines.join('\n')}\n`);
  return { before: text(before), after: text(after) };
}
