import { runForOutput, type WriteRunner } from '../../apply/write-runner.js';
import type { BackendApply, BackendSnapshot } from '../types.js';
import { emptiedTables, iptablesRestoreInput, ipsetRestoreInput, readOwnedIpsets, readOwnedIptables, type OwnedIpset, type OwnedIptables, type ReadIptables } from './apply-state.js';
import { IPSET_PREFIX, IPTABLES_CHAINS, readIptablesVariant, type IptablesVariant } from './view.js';

export interface IptablesSnapshot extends BackendSnapshot {
  readonly backend: 'iptables';
  readonly variant: IptablesVariant;
  readonly families: { readonly ipv4: OwnedIptables; readonly ipv6: OwnedIptables };
  readonly ipsets: readonly OwnedIpset[];
}

const FAMILIES = ['ipv4', 'ipv6'] as const;

function iptablesCommand(variant: IptablesVariant, family: 'ipv4' | 'ipv6', verb: 'save' | 'restore'): string {
  return `${family === 'ipv4' ? 'iptables' : 'ip6tables'}-${variant}-${verb}`;
}

/**
 * The tables kubewall's chains and the jumps into them live in (filter's
 * INPUT, mangle's PREROUTING). kube-proxy's nat table, tens of thousands of
 * rules on a busy node, is never read: a whole iptables-save there took
 * seconds (and crashed iptables-nft-save at twice that size).
 */
const OWNED_TABLES = ['filter', 'mangle'] as const;

/**
 * The tables that exist in one family. `iptables-nft-save -t mangle` prints
 * an empty mangle table where there is none, and `iptables-legacy-save -t`
 * loads the table's kernel module, so neither can say; nftables lists its
 * tables, and legacy x_tables names the initialised ones in /proc.
 */
async function presentTables(runner: WriteRunner, variant: IptablesVariant, family: 'ipv4' | 'ipv6'): Promise<string[]> {
  if (variant === 'nft') {
    const nftFamily = family === 'ipv4' ? 'ip' : 'ip6';
    const listed = await runForOutput(runner, 'nft', ['list', 'tables', nftFamily]);
    return listed.split('\n').flatMap((line) => /^table (\S+) (\S+)$/.exec(line.trim())?.slice(2) ?? []);
  }
  // No file: no table of this family was ever used in this namespace.
  const names = await runner.run('cat', [`/proc/net/${family === 'ipv4' ? 'ip' : 'ip6'}_tables_names`]);
  return names.status === 'exited' && names.exitCode === 0 ? names.stdout.split('\n').map((n) => n.trim()).filter(Boolean) : [];
}

async function readOwned(runner: WriteRunner, variant: IptablesVariant, family: 'ipv4' | 'ipv6'): Promise<ReadIptables> {
  const present = await presentTables(runner, variant, family);
  const saved: string[] = [];
  for (const table of OWNED_TABLES) {
    if (present.includes(table)) saved.push(await runForOutput(runner, iptablesCommand(variant, family, 'save'), ['-t', table]));
  }
  const read = readOwnedIptables(saved.join('\n'));
  return { ...read, owned: { ...read.owned, presentTables: present } };
}

/**
 * The script loads in several steps, so a failed load is restored. Saved and
 * restored with the variant the file was rendered for.
 */
export const iptablesApply: BackendApply<IptablesSnapshot> = {
  owns: `the ${IPSET_PREFIX}* chains (${IPTABLES_CHAINS.input}, ${IPTABLES_CHAINS.beforeDnat}), the jumps into them with their positions, and the ${IPSET_PREFIX}* ipsets, IPv4 and IPv6`,
  atomic: false,
  async snapshot(runner, options) {
    const { variant } = readIptablesVariant(options);
    const ipv4 = (await readOwned(runner, variant, 'ipv4')).owned;
    const ipv6 = (await readOwned(runner, variant, 'ipv6')).owned;
    const ipsets = readOwnedIpsets(await runForOutput(runner, 'ipset', ['save']));
    return { backend: 'iptables', variant, families: { ipv4, ipv6 }, ipsets };
  },
  async load(file, runner) {
    await runForOutput(runner, 'sh', [file]);
  },
  /**
   * ipsets first, then one `--noflush` commit per table and family, then the
   * sets nothing refers to any more.
   */
  async restore(snapshot, runner) {
    const { variant } = snapshot;
    const ipsets = ipsetRestoreInput(snapshot.ipsets, readOwnedIpsets(await runForOutput(runner, 'ipset', ['save'])));
    if (ipsets.before !== '') await runForOutput(runner, 'ipset', ['restore'], ipsets.before);
    for (const family of FAMILIES) {
      const input = iptablesRestoreInput(snapshot.families[family], await readOwned(runner, variant, family));
      if (input !== '') await runForOutput(runner, iptablesCommand(variant, family, 'restore'), ['-w', '--noflush'], input);
    }
    if (ipsets.after !== '') await runForOutput(runner, 'ipset', ['restore'], ipsets.after);
    if (variant !== 'nft') return;
    // iptables-nft creates a table on first use; a table that apply created and that is empty again goes too.
    for (const family of FAMILIES) {
      for (const table of emptiedTables(snapshot.families[family], await readOwned(runner, variant, family))) {
        await runForOutput(runner, 'nft', ['delete', 'table', family === 'ipv4' ? 'ip' : 'ip6', table]);
      }
    }
  },
};
