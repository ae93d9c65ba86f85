import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { runForOutput, type WriteRunner } from '../../apply/write-runner.js';
import { KubewallError } from '../../errors.js';
import { writeFileAtomic } from '../../output/write-atomic.js';
import type { BackendApply } from '../types.js';
import { FIREWALLD_CONFIG_DIR, FIREWALLD_ZONE, firewalldFileChanges, firewalldNeedsReload, isOwnedFirewalldFile, type FirewalldSnapshot } from './apply-state.js';

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
  const ipsets = (await runForOutput(runner, 'firewall-cmd', ['--get-ipsets'])).split(/\s+/).filter((name) => name.startsWith('kubewall-')).sort();
  for (const ipset of ipsets) parts.push(await runForOutput(runner, 'firewall-cmd', [`--info-ipset=${ipset}`]));
  return parts.join('');
}

/** The script loads in several steps, so a failed load is restored: the permanent files, then a reload only if what runs differs. */
/**
 * The script runs firewall-cmd per batch and ends with a reload, each a
 * request to a Python daemon that rebuilds its whole ruleset: on a node taking
 * thousands of new connections a second (the reload lab) it has taken longer
 * than the 30 s other backends get.
 */
const FIREWALLD_APPLY_COMMAND_TIMEOUT_MS = 120_000;

export const firewalldApply: BackendApply<FirewalldSnapshot> = {
  owns: `the permanent zone ${FIREWALLD_ZONE} and the permanent kubewall-* ipsets (their files under ${FIREWALLD_CONFIG_DIR}), and what firewalld runs of them`,
  atomic: false,
  loadTimeoutMs: FIREWALLD_APPLY_COMMAND_TIMEOUT_MS,
  async snapshot(runner) {
    return { backend: 'firewalld', files: await readFirewalldFiles(FIREWALLD_CONFIG_DIR), runtime: await readFirewalldRuntime(runner) };
  },
  async load(file, runner) {
    await runForOutput(runner, 'sh', [file]);
  },
  async restore(snapshot, runner) {
    const changes = firewalldFileChanges(snapshot.files, await readFirewalldFiles(FIREWALLD_CONFIG_DIR));
    for (const [relative, content] of changes.write) {
      await mkdir(path.dirname(path.join(FIREWALLD_CONFIG_DIR, relative)), { recursive: true });
      await writeFileAtomic(path.join(FIREWALLD_CONFIG_DIR, relative), content, 0o644);
    }
    for (const relative of changes.remove) await rm(path.join(FIREWALLD_CONFIG_DIR, relative), { force: true });
    if (firewalldNeedsReload(snapshot.runtime, await readFirewalldRuntime(runner))) await runForOutput(runner, 'firewall-cmd', ['--reload']);
  },
};
