import type { BackendInstall, BackendOptions } from '../types.js';
import { readIptablesVariant, variantCommands } from './view.js';

/**
 * The self-contained kubewall.sh, run at boot by kubewall.service rather than
 * saved with netfilter-persistent: `netfilter-persistent save` writes the whole
 * ruleset, kube-proxy's chains included, and its restore flushes the tables.
 */
export function iptablesInstall(options: BackendOptions): BackendInstall {
  const commands = variantCommands(readIptablesVariant(options).variant);
  return {
    tools: ['ipset', commands.restore.ipv4, commands.restore.ipv6, commands.iptables.ipv4, commands.iptables.ipv6, 'unshare'],
    toolsHint: `install the iptables, ipset and util-linux packages (this file targets ${commands.name})`,
    path: '/etc/kubewall/kubewall-iptables.sh',
    // The restore input names ipsets that must exist for --test: see the script's --check.
    validate: ['/bin/sh', '%s', '--check'],
    apply: ['/bin/sh', '%s'],
    persist: [{ kind: 'boot-unit', why: 'iptables rules do not survive a reboot: kubewall.service runs the script again at boot, before kubelet' }],
  };
}
