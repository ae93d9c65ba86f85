import { KubewallError } from '../errors.js';
import { unknownValueMessage } from '../suggest.js';
import { firewalldBackend } from './firewalld/index.js';
import { iptablesBackend } from './iptables/index.js';
import { nftablesBackend } from './nftables/index.js';
import { ufwBackend } from './ufw/index.js';
import type { Backend } from './types.js';

/** Every backend kubewall renders for; adding one is a folder of templates, a module and a line here. */
export const BACKENDS: Readonly<Record<string, Backend>> = {
  nftables: nftablesBackend,
  firewalld: firewalldBackend,
  iptables: iptablesBackend,
  ufw: ufwBackend,
};

export const BACKEND_NAMES = Object.keys(BACKENDS);

export function getBackend(name: string): Backend {
  const backend = Object.hasOwn(BACKENDS, name) ? BACKENDS[name] : undefined;
  if (!backend) {
    throw new KubewallError('USAGE', `--backend: ${unknownValueMessage('backend', name, BACKEND_NAMES)}`);
  }
  return backend;
}
