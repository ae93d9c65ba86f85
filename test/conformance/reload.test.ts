import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { describeWithNetns } from '../helpers/netns.js';
import { ADAPTERS } from './adapters/index.js';
import { nftablesAdapter } from './adapters/nftables.js';
import { HARNESS_TOOLS, loadClusterContext } from './harness.js';
import { asDeleteAndRecreate, formatStats, reapplyPhase, RELOAD_CLUSTER, RELOAD_LOOPS, rollbackPhase, withReloadLab, type ReloadStats } from './reload.js';

/**
 * A reload never drops a new connection, for every backend: an allowed peer
 * connects without pause while the rules are re-applied (REAPPLIES times,
 * alternating two renders), and while `kubewall apply` applies and
 * `kubewall rollback` restores. Zero SYN retransmissions, zero slow connects.
 * KUBEWALL_CONFORMANCE_BACKENDS=nftables,iptables narrows the backends.
 */

const REAPPLIES = Number(process.env['KUBEWALL_RELOAD_APPLIES'] ?? 6);
const wanted = process.env['KUBEWALL_CONFORMANCE_BACKENDS']?.split(',').map((b) => b.trim()).filter(Boolean);
const adapters = ADAPTERS.filter((a) => !wanted || wanted.includes(a.backend));
const cluster = loadClusterContext(RELOAD_CLUSTER);

/**
 * Reloads that drop by design of the tool kubewall drives, measured and
 * documented (docs/persistence.md, "Reloads") rather than hidden: they are
 * bounded instead: every connection still completes, within two
 * retransmissions (a firewalld reload on a loaded machine has outlasted the
 * first, 1 s, once: a 3 s connect), and no connecting loop loses more than
 * two SYNs per reload.
 */
const KNOWN_DROPS: Readonly<Record<string, Partial<Record<'reapply' | 'rollback', string>>>> = {
  firewalld: {
    reapply: 'firewalld: every reload (firewall-cmd --reload, which the script ends with) rebuilds its nftables table, and SYNs arriving meanwhile are dropped',
    rollback: 'firewalld: apply and rollback each end with a firewalld reload',
  },
  ufw: { rollback: "ufw: the rollback rewrites /etc/ufw/user*.rules and runs ufw reload, which reloads every ufw chain; SYNs arriving meanwhile are dropped" },
};
/** The longest connect two retransmissions can take (initial RTO 1 s, then 2 s; the third would come 4 s later). */
const TWO_RETRANSMITS_MS = 6000;

function judge(backend: string, phase: 'reapply' | 'rollback', stats: ReloadStats): void {
  const known = KNOWN_DROPS[backend]?.[phase];
  const line = formatStats(`reload ${backend} · ${phase === 'reapply' ? 're-apply' : 'kubewall apply + rollback'}`, stats);
  process.stdout.write(`\n${line}${known ? `\n  KNOWN DROP (documented): ${known}` : ''}\n`);
  assert.ok(stats.connections > 100, `${line}: too few connections to judge`);
  assert.is(stats.errors, 0, line);
  if (known) {
    assert.ok(stats.maxMs < TWO_RETRANSMITS_MS, `${line}: a SYN was dropped three times`);
    assert.ok(stats.synRetransmits <= 2 * RELOAD_LOOPS * stats.applies, `${line}: more than two SYNs per loop and reload`);
    return;
  }
  // A SYN the node's own listener had no room for (its accept queue full while
  // the test server was descheduled) is not the firewall's drop; nstat counts
  // those apart (TcpExtListenDrops), and only they may explain a retransmit.
  assert.ok(stats.synRetransmits <= stats.listenDrops, `${line}: SYNs dropped beyond the listener's own`);
  assert.ok(stats.slow.length <= stats.listenDrops, `${line}: slow connects beyond the listener's own drops`);
}

for (const adapter of adapters) {
  await describeWithNetns(`reload ${adapter.backend}: new connections through re-applies and apply's rollback`, [...HARNESS_TOOLS, 'nstat', ...adapter.tools], () => {
    test(`reload ${adapter.backend}: ${REAPPLIES} re-applies, then kubewall apply + rollback, drop no new connection from an allowed peer`, async () => {
      await withReloadLab(adapter, await cluster, async (lab) => {
        judge(adapter.backend, 'reapply', await reapplyPhase(lab, REAPPLIES));
        judge(adapter.backend, 'rollback', await rollbackPhase(lab, adapter));
      });
    });
  });
}

// The case must fail on the rules as they were: `delete table` and re-create, input policy drop.
// A dropped SYN needs a connect to land in a window of microseconds: up to SELF_TEST_ROUNDS
// rounds of re-applies, until one shows it (measured: 0-6 per 20 re-applies).
const SELF_TEST_ROUNDS = 4;
if (!wanted || wanted.includes('nftables')) {
  await describeWithNetns('reload self-test: the old nftables file (delete table, re-create, policy drop) drops new connections', [...HARNESS_TOOLS, 'nstat', 'nft'], () => {
    for (const policy of ['drop', 'accept'] as const) {
      test(`reload self-test: nftables deleted and re-created with policy ${policy}: SYN retransmits and ~1 s connects during re-applies`, async () => {
        await withReloadLab(
          nftablesAdapter,
          await cluster,
          async (lab) => {
            const lines: string[] = [];
            for (let round = 1; round <= SELF_TEST_ROUNDS; round++) {
              const stats = await reapplyPhase(lab, 20);
              lines.push(formatStats(`reload self-test · nftables delete+re-create, policy ${policy} · round ${round}`, stats));
              process.stdout.write(`\n${lines.at(-1)}\n`);
              if (stats.synRetransmits > stats.listenDrops && stats.slow.length > 0) return;
            }
            assert.unreachable(`the case must catch the delete-and-re-create reload:\n${lines.join('\n')}`);
          },
          asDeleteAndRecreate(policy),
        );
      });
    }
  });
}

test.run();
