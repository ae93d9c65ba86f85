import { rm } from 'node:fs/promises';
import { setUpUfwEtc } from '../../scripts/capture-fixtures.js';
import { withNetns } from './netns.js';

/**
 * A throwaway namespace with a private ufw configuration: /etc/netns/<ns>/ufw
 * and /default, which `ip netns exec` bind-mounts over /etc, starting from
 * what the ufw package ships. Both are removed afterwards, also on failure.
 */
export async function withUfwNetns<T>(what: string, fn: (netns: string) => Promise<T>): Promise<T> {
  return withNetns(what, async (netns) => {
    const etc = await setUpUfwEtc(netns);
    try {
      return await fn(netns);
    } finally {
      await rm(etc, { recursive: true, force: true });
    }
  });
}
