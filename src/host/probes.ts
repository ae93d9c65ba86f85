import type { HostWarning } from '../diff/types.js';
import type { CommandRunner, HostDump, RawHostState } from './types.js';

const LEGACY_DUMP = 'iptables-legacy-save';

/**
 * Read-only probes for what would defeat any backend's rules: another
 * firewall manager running, iptables-legacy rules beside iptables-nft. Each
 * is optional: a tool that is missing, refuses or hangs is skipped.
 */
export async function gatherCommonProbes(runner: CommandRunner, probe: { readonly firewalld?: boolean } = {}): Promise<{ dumps: HostDump[]; notes: string[] }> {
  const notes: string[] = [];
  const dumps: HostDump[] = [];
  // The firewalld backend's own reader asks firewalld itself; for it, firewalld running is no warning.
  const [firewalld, ufw] = await Promise.all([(probe.firewalld ?? true) ? runner.run('firewall-cmd', ['--state']) : undefined, runner.run('ufw', ['status'])]);
  if (firewalld?.status === 'exited' && firewalld.exitCode === 0 && /^running/m.test(firewalld.stdout)) notes.push('firewalld-state: running');
  if (ufw.status === 'exited' && ufw.exitCode === 0 && /^Status: active/m.test(ufw.stdout)) notes.push('ufw-status: active');
  // The legacy tables exist only once their module is loaded; reading the names never loads it.
  // Each loaded table is saved on its own, nat never: kube-proxy's Services fill nat, and no
  // rule there can drop what kubewall accepts. Probes run in parallel, each waiting on its tool.
  const legacy = await Promise.all(
    ([['/proc/net/ip_tables_names', 'iptables-legacy-save'], ['/proc/net/ip6_tables_names', 'ip6tables-legacy-save']] as const).map(async ([names, save]) => {
      const loaded = await runner.run('cat', [names]);
      if (loaded.status !== 'exited' || loaded.exitCode !== 0) return [];
      const tables = loaded.stdout.split(/\s+/).filter((table) => /^[a-z]+$/.test(table) && table !== 'nat').sort();
      const saved = await Promise.all(tables.map((table) => runner.run(save, ['-t', table])));
      const texts = saved.flatMap((dump) => (dump.status === 'exited' && dump.exitCode === 0 ? [dump.stdout] : []));
      return texts.length === 0 ? [] : [{ origin: save, kind: LEGACY_DUMP, text: texts.join('') }];
    }),
  );
  dumps.push(...legacy.flat());
  return { dumps, notes };
}

/** Counts rules (`-A` lines) and non-ACCEPT built-in policies in an iptables-save dump. */
export function countSaveRules(text: string): { rules: number; dropPolicies: number; tables: string[] } {
  let rules = 0;
  let dropPolicies = 0;
  const tables: string[] = [];
  for (const line of text.split('\n')) {
    if (line.startsWith('-A ')) rules++;
    else if (line.startsWith('*')) tables.push(line.slice(1).trim());
    else if (/^:[A-Z]+ (DROP|REJECT) /.test(line)) dropPolicies++;
  }
  return { rules, dropPolicies, tables };
}

/** Warnings from the probes; pure. */
export function warningsFromProbes(raw: RawHostState): HostWarning[] {
  const warnings: HostWarning[] = [];
  if (raw.notes.includes('firewalld-state: running')) {
    warnings.push({ code: 'firewalld-active', message: 'firewalld is running (firewall-cmd --state): it filters the same traffic and a reload may flush rules; run one firewall manager' });
  }
  if (raw.notes.includes('ufw-status: active')) {
    warnings.push({ code: 'ufw-active', message: "ufw is enabled (ufw status): its default deny applies beside kubewall's rules; run one firewall manager" });
  }
  for (const dump of raw.dumps.filter((d) => d.kind === LEGACY_DUMP)) {
    const { rules, dropPolicies } = countSaveRules(dump.text);
    if (rules + dropPolicies === 0) continue;
    warnings.push({
      code: 'iptables-legacy',
      message: `${dump.origin} shows ${rules} rule${rules === 1 ? '' : 's'}${dropPolicies > 0 ? ` and ${dropPolicies} DROP polic${dropPolicies === 1 ? 'y' : 'ies'}` : ''} in iptables-legacy: they apply beside nftables and iptables-nft, unseen by nft (kubernetes #71305)`,
    });
  }
  return warnings;
}
