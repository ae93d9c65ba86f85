import { mkdir, readdir, readFile, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import type { IptablesVariant } from '../backends/iptables/view.js';
import { KubewallError } from '../errors.js';
import { writeFileAtomic } from '../output/write-atomic.js';
import {
  FIREWALLD_CONFIG_DIR,
  FIREWALLD_ZONE,
  firewalldFileChanges,
  firewalldNeedsReload,
  isOwnedFirewalldFile,
  type FirewalldSnapshot,
} from '../backends/firewalld/apply-state.js';
import type { CommandOutcome } from '../host/types.js';
import {
  emptiedTables,
  iptablesRestoreInput,
  ipsetRestoreInput,
  readOwnedIpsets,
  readOwnedIptables,
  type OwnedIpset,
  type OwnedIptables,
} from '../backends/iptables/apply-state.js';
import { NFTABLES_OWNED_TABLE, nftablesRestoreScript, nftablesSnapshotFrom, type NftablesSnapshot } from '../backends/nftables/apply-state.js';
import {
  readOwnedUfwBlocks,
  readUfwSetting,
  restoredUfwRules,
  ufwChainsLoaded,
  ufwLeftoverRemoval,
  ufwRestoreCommands,
  ufwStatusActive,
  UFW_CONF_FILE,
  UFW_DEFAULTS_FILE,
  UFW_RULES_FILES,
  type UfwSnapshot,
} from '../backends/ufw/apply-state.js';
import { describeOutcome, type WriteRunner } from './write-runner.js';

export interface IptablesSnapshot {
  readonly backend: 'iptables';
  readonly variant: IptablesVariant;
  readonly families: { readonly ipv4: OwnedIptables; readonly ipv6: OwnedIptables };
  readonly ipsets: readonly OwnedIpset[];
}

/** Everything kubewall owns on the host for one backend, as saved before an apply. */
export type HostSnapshot = NftablesSnapshot | IptablesSnapshot | FirewalldSnapshot | UfwSnapshot;

/** The backends `kubewall apply` can save, apply and restore. */
export const APPLY_BACKENDS = ['nftables', 'iptables', 'firewalld', 'ufw'] as const;
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

/** kubewall's permanent firewalld files (relative path → content). */
async function readFirewalldFiles(configDir: string): Promise<Record<string, string>> {
  const files: Record<string, string> = {};
  for (const folder of ['zones', 'ipsets']) {
    let names: string[] = [];
    try {
      names = await readdir(path.join(configDir, folder));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw new KubewallError('APPLY', `${path.join(configDir, folder)}: cannot read: ${(error as Error).message}`, { cause: error });
    }
    for (const name of names.sort()) {
      const relative = `${folder}/${name}`;
      if (isOwnedFirewalldFile(relative)) files[relative] = await readFile(path.join(configDir, relative), 'utf8');
    }
  }
  return files;
}

/** What firewalld runs of kubewall's zone and ipsets; null when firewalld is not running. */
async function readFirewalldRuntime(runner: WriteRunner): Promise<string | null> {
  const state = await runner.run('firewall-cmd', ['--state']);
  if (state.status !== 'exited' || state.exitCode !== 0) return null;
  const zone = await runner.run('firewall-cmd', [`--info-zone=${FIREWALLD_ZONE}`]);
  const parts = [zone.status === 'exited' && zone.exitCode === 0 ? zone.stdout : `no zone ${FIREWALLD_ZONE}\n`];
  const ipsets = (await output(runner, 'firewall-cmd', ['--get-ipsets'])).split(/\s+/).filter((name) => name.startsWith('kubewall-')).sort();
  for (const ipset of ipsets) parts.push(await output(runner, 'firewall-cmd', [`--info-ipset=${ipset}`]));
  return parts.join('');
}

/** A file's text, or null when it does not exist. */
async function readOptional(file: string): Promise<string | null> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new KubewallError('APPLY', `${file}: cannot read: ${(error as Error).message}`, { cause: error });
  }
}

/** ufw as the restore needs it: `ufw status`, DEFAULT_INPUT_POLICY, ENABLED. */
async function readUfwNow(runner: WriteRunner): Promise<{ active: boolean; defaultInputPolicy: string | null; enabled: boolean }> {
  const active = ufwStatusActive(await output(runner, 'ufw', ['status']));
  const defaults = await readOptional(UFW_DEFAULTS_FILE);
  const conf = await readOptional(UFW_CONF_FILE);
  return {
    active,
    defaultInputPolicy: defaults === null ? null : readUfwSetting(defaults, 'DEFAULT_INPUT_POLICY'),
    enabled: conf !== null && readUfwSetting(conf, 'ENABLED')?.toLowerCase() === 'yes',
  };
}

/** ufw runs /usr/sbin/iptables and ip6tables, whichever variant they are: save and restore with the same. */
const UFW_IPTABLES = { ipv4: 'iptables', ipv6: 'ip6tables' } as const;

async function takeUfwSnapshot(runner: WriteRunner): Promise<UfwSnapshot> {
  const now = await readUfwNow(runner);
  const rules: Record<string, ReturnType<typeof readOwnedUfwBlocks> | null> = {};
  for (const file of UFW_RULES_FILES) {
    const text = await readOptional(file);
    rules[file] = text === null ? null : readOwnedUfwBlocks(text);
  }
  const chainsLoaded = {
    ipv4: ufwChainsLoaded(await output(runner, `${UFW_IPTABLES.ipv4}-save`, [])),
    ipv6: ufwChainsLoaded(await output(runner, `${UFW_IPTABLES.ipv6}-save`, [])),
  };
  return { backend: 'ufw', rules, defaultInputPolicy: now.defaultInputPolicy, active: now.active, enabled: now.enabled, chainsLoaded };
}

/**
 * The user rules files first (atomically, same mode), so whatever ufw
 * loads next is the saved state; then stop, the default policy, or a
 * reload (ufwRestoreCommands); then, where ufw had never run, the empty
 * chains a stopped ufw leaves.
 */
async function restoreUfwSnapshot(snapshot: UfwSnapshot, runner: WriteRunner): Promise<void> {
  let filesChanged = false;
  for (const file of UFW_RULES_FILES) {
    const saved = snapshot.rules[file] ?? [];
    const current = await readOptional(file);
    if (current === null) {
      if (saved.length > 0) throw new KubewallError('APPLY', `${file} is gone: cannot put back kubewall's ${saved.length} saved ufw rule(s); reinstall ufw's files and run kubewall rollback`);
      continue;
    }
    const restored = restoredUfwRules(saved, current, file);
    if (restored === current) continue;
    await writeFileAtomic(file, restored, (await stat(file)).mode & 0o777);
    filesChanged = true;
  }
  const now = await readUfwNow(runner);
  for (const [command, ...args] of ufwRestoreCommands(snapshot, { ...now, filesChanged })) await output(runner, command!, args);
  // A ufw that was not running before is not running now (ufwRestoreCommands stopped it if need be).
  if (snapshot.active) return;
  for (const family of FAMILIES) {
    if (snapshot.chainsLoaded[family]) continue;
    const input = ufwLeftoverRemoval(await output(runner, `${UFW_IPTABLES[family]}-save`, []));
    if (input !== '') await output(runner, `${UFW_IPTABLES[family]}-restore`, ['-w', '--noflush'], input);
  }
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
  if (backend === 'ufw') return takeUfwSnapshot(runner);
  if (backend === 'firewalld') {
    return { backend: 'firewalld', files: await readFirewalldFiles(FIREWALLD_CONFIG_DIR), runtime: await readFirewalldRuntime(runner) };
  }
  const ipv4 = readOwnedIptables(await output(runner, iptablesCommand(variant, 'ipv4', 'save'), [])).owned;
  const ipv6 = readOwnedIptables(await output(runner, iptablesCommand(variant, 'ipv6', 'save'), [])).owned;
  const ipsets = readOwnedIpsets(await output(runner, 'ipset', ['save']));
  return { backend: 'iptables', variant, families: { ipv4, ipv6 }, ipsets };
}

/**
 * Puts the saved state back: nftables in one transaction; ufw and firewalld
 * as files, then what the running firewall needs; iptables as
 * ipsets, then one `--noflush` commit per table and family, then the sets
 * nothing refers to any more. Each step is computed from what is there now,
 * so restoring twice is the same as once.
 */
export async function restoreSnapshot(snapshot: HostSnapshot, runner: WriteRunner): Promise<void> {
  if (snapshot.backend === 'nftables') {
    const now = await runner.run('nft', ['list', 'table', ...NFTABLES_OWNED_TABLE.split(' ')]);
    const current = now.status === 'exited' ? nftablesSnapshotFrom(now.exitCode, now.stdout, now.stderr) : { error: describeOutcome('nft list table', now) };
    if ('error' in current) throw new KubewallError('APPLY', `nft list table ${NFTABLES_OWNED_TABLE} failed: ${current.error}`);
    await output(runner, 'nft', ['-f', '-'], nftablesRestoreScript(snapshot, current.table));
    return;
  }
  if (snapshot.backend === 'ufw') {
    await restoreUfwSnapshot(snapshot, runner);
    return;
  }
  if (snapshot.backend === 'firewalld') {
    const changes = firewalldFileChanges(snapshot.files, await readFirewalldFiles(FIREWALLD_CONFIG_DIR));
    for (const [relative, content] of changes.write) {
      await mkdir(path.dirname(path.join(FIREWALLD_CONFIG_DIR, relative)), { recursive: true });
      await writeFileAtomic(path.join(FIREWALLD_CONFIG_DIR, relative), content, 0o644);
    }
    for (const relative of changes.remove) await rm(path.join(FIREWALLD_CONFIG_DIR, relative), { force: true });
    if (firewalldNeedsReload(snapshot.runtime, await readFirewalldRuntime(runner))) await output(runner, 'firewall-cmd', ['--reload']);
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

/** Applies a rendered file: `nft -f` (one transaction) or the iptables, firewalld or ufw backend's `sh` script. */
export async function applyRenderedFile(backend: ApplyBackend, file: string, runner: WriteRunner): Promise<void> {
  if (backend === 'nftables') await output(runner, 'nft', ['-f', file]);
  else await output(runner, 'sh', [file]);
}

/** Whether a failed apply can have changed anything: nft -f is one transaction; the iptables, firewalld and ufw scripts are several steps. */
export function applyIsAtomic(backend: ApplyBackend): boolean {
  return backend === 'nftables';
}
