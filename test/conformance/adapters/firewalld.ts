import { execa } from 'execa';
import path from 'node:path';
import { startFirewalld, type FirewalldDaemon } from '../../helpers/firewalld.js';
import type { AdapterContext, ConformanceAdapter } from '../adapter.js';
import { stripCounters } from '../normalize.js';
import { splitNftRuleset } from './nftables.js';

/**
 * firewalld before 2.0 flushes every iptables table on start and reload even
 * with FirewallBackend=nftables (firewalld PR #1082): the same feature test
 * the rendered script makes, run once against the installed firewalld.
 */
async function detectIptablesFlush(): Promise<boolean> {
  const check = 'import sys; from firewall.core.fw import Firewall; sys.exit(0 if hasattr(Firewall, "may_skip_flush_direct_backends") else 1)';
  const shebang = await execa('sh', ['-c', `sed -n '1s/^#![[:space:]]*//p' "$(command -v firewall-cmd)"`], { reject: false });
  const [python, ...args] = shebang.stdout.trim().split(/\s+/);
  if (!python) return true;
  return (await execa(python, [...args, '-c', check], { reject: false })).exitCode !== 0;
}

export const FIREWALLD_FLUSHES_IPTABLES = await detectIptablesFlush();

const FLUSH_REASON =
  "firewalld: before 2.0 (Debian 12 ships 1.3.3) firewalld flushes every iptables table on start and reload even with FirewallBackend=nftables, kube-proxy's iptables rules included (fixed in firewalld 2.0, PR #1082); kubewall's script refuses that unless KUBEWALL_ALLOW_IPTABLES_FLUSH=yes, which this adapter sets";

const daemons = new Map<string, FirewalldDaemon>();

function daemonFor(ctx: AdapterContext): FirewalldDaemon {
  const daemon = daemons.get(ctx.netns);
  if (!daemon) throw new Error(`firewalld: no daemon for ${ctx.netns} (setup did not run)`);
  return daemon;
}

/**
 * firewalld: a real daemon in the node namespace on a private D-Bus (started
 * in `setup`), and the rendered `firewall-cmd --permanent` script as the apply.
 * Own rules are firewalld's table (`inet firewalld`, which holds kubewall's
 * zone); everything else in nftables is foreign.
 */
export const firewalldAdapter: ConformanceAdapter = {
  backend: 'firewalld',
  tools: ['firewalld', 'firewall-cmd', 'dbus-daemon', 'nft'],
  async setup(ctx) {
    daemons.set(ctx.netns, await startFirewalld(ctx, { etcDir: ctx.etcDir, workDir: path.join(ctx.workDir, 'firewalld') }));
    ctx.log(`firewalld started on a private D-Bus; it ${FIREWALLD_FLUSHES_IPTABLES ? 'flushes' : 'keeps'} iptables tables on reload`);
  },
  async apply(ctx, output) {
    const env: Record<string, string> = FIREWALLD_FLUSHES_IPTABLES ? { KUBEWALL_ALLOW_IPTABLES_FLUSH: 'yes' } : {};
    await daemonFor(ctx).exec('sh', [output.main.path], { env, timeoutMs: 300_000 });
  },
  async snapshot(ctx) {
    const { stdout } = await ctx.exec('nft', ['-s', 'list', 'ruleset']);
    return splitNftRuleset(stripCounters(stdout), 'table inet firewalld');
  },
  async teardown(ctx) {
    const daemon = daemons.get(ctx.netns);
    daemons.delete(ctx.netns);
    await daemon?.stop();
  },
  knownGaps: [
    {
      reason:
        "firewalld: NodePorts restricted to peers are filtered in INPUT only; firewalld accepts DNATed traffic (ct status dnat accept) before any zone, so kube-proxy's DNATed NodePorts reach the pod from every source",
      assertion: 'nodeport-dnat',
      cells: (cell, scope) =>
        cell.dnat && scope.plan.rules.some((r) => r.filterBeforeDnat && r.peer !== 'any' && r.peer !== 'self' && r.protocol === cell.protocol),
    },
    ...(FIREWALLD_FLUSHES_IPTABLES
      ? [
          { reason: FLUSH_REASON, assertion: 'coexistence' as const },
          { reason: `${FLUSH_REASON}: the DNAT to the pod is gone`, assertion: 'nodeport-dnat' as const, cells: (cell: { dnat: boolean }) => cell.dnat },
        ]
      : []),
  ],
};
