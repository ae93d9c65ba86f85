import { KubewallError } from '../errors.js';
import { KUBEWALL_BIN } from './run-apply.js';
import type { StateStore } from './state-store.js';

/**
 * The detached watcher: `kubewall rollback-watcher` in a session of its own
 * (setsid), no terminal and no pipes to this process, which exits long
 * before the watcher does; the watcher writes its own log. Returns its pid.
 */
export async function startRollbackWatcher(store: StateStore): Promise<number> {
  const { execa } = await import('execa');
  const child = execa(process.execPath, [KUBEWALL_BIN, 'rollback-watcher', '--state-dir', store.stateDir], {
    detached: true,
    cleanup: false,
    reject: false,
    stdio: 'ignore',
  });
  child.unref();
  if (child.pid === undefined) throw new KubewallError('APPLY', `cannot start the rollback watcher (${process.execPath} ${KUBEWALL_BIN}); nothing was applied`);
  return child.pid;
}
