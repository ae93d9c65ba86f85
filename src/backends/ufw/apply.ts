import { readFile, stat } from 'node:fs/promises';
import { runForOutput, type WriteRunner } from '../../apply/write-runner.js';
import { KubewallError } from '../../errors.js';
import { writeFileAtomic } from '../../output/write-atomic.js';
import type { BackendApply } from '../types.js';
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
} from './apply-state.js';
import { UFW_TAG_PREFIX } from './view.js';

const FAMILIES = ['ipv4', 'ipv6'] as const;

/** A first ufw apply runs one ufw process per rule, each re-reading every rule (300 rules ≈ 2 min). */
const UFW_APPLY_COMMAND_TIMEOUT_MS = 300_000;

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
  const active = ufwStatusActive(await runForOutput(runner, 'ufw', ['status']));
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

/** The script adds and deletes rules one by one, so a failed load is restored. */
export const ufwApply: BackendApply<UfwSnapshot> = {
  owns: `the ufw rules tagged "${UFW_TAG_PREFIX} ..." in ${UFW_RULES_FILES.join(' and ')} with their places among the others, DEFAULT_INPUT_POLICY in ${UFW_DEFAULTS_FILE}, and whether ufw runs`,
  atomic: false,
  loadTimeoutMs: UFW_APPLY_COMMAND_TIMEOUT_MS,
  async snapshot(runner) {
    const now = await readUfwNow(runner);
    const rules: Record<string, ReturnType<typeof readOwnedUfwBlocks> | null> = {};
    for (const file of UFW_RULES_FILES) {
      const text = await readOptional(file);
      rules[file] = text === null ? null : readOwnedUfwBlocks(text);
    }
    const chainsLoaded = {
      ipv4: ufwChainsLoaded(await runForOutput(runner, `${UFW_IPTABLES.ipv4}-save`, [])),
      ipv6: ufwChainsLoaded(await runForOutput(runner, `${UFW_IPTABLES.ipv6}-save`, [])),
    };
    return { backend: 'ufw', rules, defaultInputPolicy: now.defaultInputPolicy, active: now.active, enabled: now.enabled, chainsLoaded };
  },
  async load(file, runner) {
    await runForOutput(runner, 'sh', [file]);
  },
  /**
   * The user rules files first (atomically, same mode), so whatever ufw
   * loads next is the saved state; then stop, the default policy, or a
   * reload (ufwRestoreCommands); then, where ufw had never run, the empty
   * chains a stopped ufw leaves.
   */
  async restore(snapshot, runner) {
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
    for (const [command, ...args] of ufwRestoreCommands(snapshot, { ...now, filesChanged })) await runForOutput(runner, command!, args);
    // A ufw that was not running before is not running now (ufwRestoreCommands stopped it if need be).
    if (snapshot.active) return;
    for (const family of FAMILIES) {
      if (snapshot.chainsLoaded[family]) continue;
      const input = ufwLeftoverRemoval(await runForOutput(runner, `${UFW_IPTABLES[family]}-save`, []));
      if (input !== '') await runForOutput(runner, `${UFW_IPTABLES[family]}-restore`, ['-w', '--noflush'], input);
    }
  },
};
