import type { BackendInstall } from '../types.js';

/** The firewall-cmd --permanent script: firewalld's permanent configuration is what persists. */
export function firewalldInstall(): BackendInstall {
  return {
    tools: ['firewall-cmd', 'firewall-offline-cmd'],
    toolsHint: 'install and start firewalld',
    path: '/etc/kubewall/kubewall-firewalld.sh',
    // firewall-offline-cmd parses every entry and rule on a copy of
    // /etc/firewalld: see the script's --check.
    validate: ['/bin/sh', '%s', '--check'],
    apply: ['/bin/sh', '%s'],
    persist: [{ kind: 'native', why: 'firewall-cmd --permanent: firewalld loads its permanent configuration at boot (systemctl enable firewalld)' }],
  };
}
