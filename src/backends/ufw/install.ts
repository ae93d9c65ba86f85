import type { BackendInstall } from '../types.js';

/** The ufw command script: ufw keeps its rules in /etc/ufw and loads them at boot. */
export function ufwInstall(): BackendInstall {
  return {
    tools: ['ufw'],
    toolsHint: 'install the ufw package',
    path: '/etc/kubewall/kubewall-ufw.sh',
    // ufw parses every rule the script would add and prints what it would do, changing nothing.
    validate: ['/bin/sh', '%s', '--dry-run'],
    apply: ['/bin/sh', '%s'],
    persist: [{ kind: 'native', why: 'ufw stores the rules in /etc/ufw/user*.rules and ufw.service loads them at boot (ENABLED=yes)' }],
  };
}
