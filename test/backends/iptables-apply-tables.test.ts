// apply's iptables snapshot and restore read only the tables kubewall's
// chains and jumps live in, never kube-proxy's nat table (issue 16: on a
// busy node a whole iptables-save took seconds). A fake host answers like
// one with kube-proxy's tables; the commands are what is asserted.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { iptablesApply } from '../../src/backends/iptables/apply.js';
import type { CommandOutcome } from '../../src/host/types.js';
import { fakeWriteRunner, ok } from '../helpers/fake-write-runner.js';

const missing: CommandOutcome = { status: 'exited', exitCode: 1, stdout: '', stderr: 'cat: No such file or directory' };

const FILTER = ['*filter', ':INPUT ACCEPT [0:0]', ':KUBEWALL-INPUT - [0:0]', '-A INPUT -j KUBEWALL-INPUT', '-A KUBEWALL-INPUT -i lo -j ACCEPT', 'COMMIT', ''].join('\n');
const MANGLE = ['*mangle', ':PREROUTING ACCEPT [0:0]', 'COMMIT', ''].join('\n');
const NAT = ['*nat', ':KUBE-SERVICES - [0:0]', ...Array.from({ length: 1000 }, (_, i) => `-A KUBE-SERVICES -d 10.96.${i >> 8}.${i & 255}/32 -j KUBE-SVC-${i}`), 'COMMIT', ''].join('\n');

function fakeHost(answers: Record<string, CommandOutcome>) {
  // A save without -t answers with every table, kube-proxy's nat included, as the real tool does.
  return fakeWriteRunner((line) => (/tables-(nft|legacy)-save$/.test(line) ? ok(`${NAT}${FILTER}${MANGLE}`) : (answers[line] ?? ok())));
}

test('nft variant: the snapshot lists the tables with nft and saves filter and mangle only, never nat', async () => {
  const host = fakeHost({
    'nft list tables ip': ok('table ip nat\ntable ip filter\ntable ip mangle\n'),
    'nft list tables ip6': ok('table ip6 nat\ntable ip6 filter\n'),
    'iptables-nft-save -t filter': ok(FILTER),
    'iptables-nft-save -t mangle': ok(MANGLE),
    'ip6tables-nft-save -t filter': ok(FILTER),
  });
  const snapshot = await iptablesApply.snapshot(host, { iptablesVariant: 'nft' });
  assert.equal(host.calls, ['nft list tables ip', 'iptables-nft-save -t filter', 'iptables-nft-save -t mangle', 'nft list tables ip6', 'ip6tables-nft-save -t filter', 'ipset save']);
  assert.equal(snapshot.families.ipv4.presentTables, ['nat', 'filter', 'mangle']);
  assert.equal(snapshot.families.ipv6.presentTables, ['nat', 'filter']);
  assert.equal(snapshot.families.ipv4.tables.map((t) => [t.name, t.chains.map((c) => c.name), t.jumps.map((j) => `${j.chain}#${j.position}`)]), [['filter', ['KUBEWALL-INPUT'], ['INPUT#1']]]);
});

test('legacy variant: the tables come from /proc (a save -t would load the module); a family never used has none and is not saved', async () => {
  const host = fakeHost({
    'cat /proc/net/ip_tables_names': ok('nat\nfilter\n'),
    'cat /proc/net/ip6_tables_names': missing,
    'iptables-legacy-save -t filter': ok(FILTER),
  });
  const snapshot = await iptablesApply.snapshot(host, { iptablesVariant: 'legacy' });
  assert.equal(host.calls, ['cat /proc/net/ip_tables_names', 'iptables-legacy-save -t filter', 'cat /proc/net/ip6_tables_names', 'ipset save']);
  assert.equal(snapshot.families.ipv6, { tables: [], presentTables: [] });
});

test('restore reads the current state the same way, and deletes only a table apply created that is empty again', async () => {
  const saved = await iptablesApply.snapshot(
    fakeHost({ 'nft list tables ip': ok('table ip nat\ntable ip filter\n'), 'iptables-nft-save -t filter': ok(['*filter', ':INPUT ACCEPT [0:0]', 'COMMIT', ''].join('\n')) }),
    { iptablesVariant: 'nft' },
  );
  // After apply: our chain in filter, and a mangle table apply created (now empty again after the restore).
  const host = fakeHost({
    'nft list tables ip': ok('table ip nat\ntable ip filter\ntable ip mangle\n'),
    'iptables-nft-save -t filter': ok(FILTER),
    'iptables-nft-save -t mangle': ok(MANGLE),
  });
  await iptablesApply.restore(saved, host);
  assert.not.ok(host.calls.some((c) => /tables-(nft|legacy)-save$/.test(c) || c.includes('-t nat')), host.calls.join('\n'));
  assert.ok(host.calls.includes('iptables-nft-restore -w --noflush'), host.calls.join('\n'));
  assert.ok(host.calls.includes('nft delete table ip mangle'), host.calls.join('\n'));
  assert.not.ok(host.calls.some((c) => c.startsWith('nft delete table ip nat') || c.startsWith('nft delete table ip filter')), host.calls.join('\n'));
});

test.run();
