import type { BackendInstall } from '../types.js';
import { NFT_TABLE } from './view.js';

export const NFT_INSTALL_PATH = '/etc/kubewall/kubewall.nft';
/** Where kubewall before kubewall.service installed the file, and the include line it added to nftables.conf. */
export const NFT_LEGACY_INCLUDE = { file: '/etc/nftables.conf', line: 'include "/etc/nftables.d/kubewall.nft"' } as const;
const NFT = '/usr/sbin/nft';
const TABLE = `${NFT_TABLE.family} ${NFT_TABLE.name}`;

/**
 * Loaded at boot by kubewall.service, never through the distribution's
 * nftables.service: Debian's /etc/nftables.conf begins with `flush ruleset`
 * and its unit stops with `nft flush ruleset` (a restart wipes kube-proxy's
 * and the CNI's tables), and RHEL's unit reads /etc/sysconfig/nftables.conf
 * (an include in /etc/nftables.conf is never loaded there). kubewall.service
 * stops by deleting its own table only.
 */
export function nftablesInstall(): BackendInstall {
  return {
    tools: ['nft'],
    toolsHint: 'install the nftables package',
    path: NFT_INSTALL_PATH,
    validate: ['nft', '-c', '-f', '%s'],
    apply: ['nft', '-f', '%s'],
    persist: [
      {
        kind: 'boot-unit',
        // One comment line in every payload: kept under ansible-lint's 160 columns.
        why: `kubewall.service loads ${NFT_INSTALL_PATH} at boot before kubelet; its stop deletes only table ${TABLE} (nftables.service would flush the ruleset)`,
        start: [NFT, '-f', '%s'],
        // Declaring the table first makes the delete a no-op where there is none: stopping never fails.
        stop: [NFT, `table ${TABLE}; delete table ${TABLE}`],
        after: ['nftables.service'],
      },
      {
        kind: 'remove-line',
        file: NFT_LEGACY_INCLUDE.file,
        line: NFT_LEGACY_INCLUDE.line,
        why: `earlier kubewall versions added this include to ${NFT_LEGACY_INCLUDE.file}, which begins with flush ruleset: that line alone is removed, where present`,
      },
    ],
  };
}
