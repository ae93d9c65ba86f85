import type { BackendInstall } from '../types.js';

export const NFT_INSTALL_PATH = '/etc/nftables.d/kubewall.nft';

/**
 * Installed under /etc/nftables.d and included from /etc/nftables.conf,
 * which Debian's nftables.service loads at boot; `nft -f` replaces only
 * table inet kubewall, in one transaction.
 */
export function nftablesInstall(): BackendInstall {
  return {
    tools: ['nft'],
    toolsHint: 'install the nftables package',
    path: NFT_INSTALL_PATH,
    validate: ['nft', '-c', '-f', '%s'],
    apply: ['nft', '-f', '%s'],
    persist: [
      { kind: 'line', file: '/etc/nftables.conf', line: `include "${NFT_INSTALL_PATH}"`, why: "nftables.service loads /etc/nftables.conf at boot; the include adds kubewall's table to it" },
      {
        kind: 'link',
        path: '/etc/systemd/system/sysinit.target.wants/nftables.service',
        target: '/lib/systemd/system/nftables.service',
        why: 'enables nftables.service (the link systemctl enable makes, so it also works where systemd is not running)',
      },
    ],
  };
}
