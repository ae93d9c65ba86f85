import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { nftablesRestoreScript, nftablesSnapshotFrom, nftTableObjects } from '../../../src/backends/nftables/apply-state.js';

const TABLE = 'table inet kubewall {\n\tchain input {\n\t\ttype filter hook input priority filter; policy drop;\n\t}\n}\n';

test('snapshot: the listed table, or its absence; other failures are errors', () => {
  assert.equal(nftablesSnapshotFrom(0, TABLE, ''), { backend: 'nftables', table: TABLE });
  assert.equal(nftablesSnapshotFrom(1, '', 'Error: No such file or directory\nlist table inet kubewall\n'), { backend: 'nftables', table: null });
  assert.equal(nftablesSnapshotFrom(1, '', 'Error: Could not process rule: Operation not permitted\n'), { error: 'Error: Could not process rule: Operation not permitted' });
});

const SAVED = 'table inet kubewall {\n\tset admin-v4 {\n\t\ttype ipv4_addr\n\t\tflags interval\n\t\telements = { 10.99.0.0/24 }\n\t}\n\n\tchain input {\n\t\ttype filter hook input priority filter; policy accept;\n\t\tip saddr @admin-v4 tcp dport 22 accept\n\t\tdrop\n\t}\n}\n';
const NOW = 'table inet kubewall {\n\tset admin-v4 {\n\t\ttype ipv4_addr\n\t\tflags interval\n\t}\n\n\tset nodes-v4 {\n\t\ttype ipv4_addr\n\t\tflags interval\n\t}\n\n\tchain input {\n\t\ttype filter hook input priority filter; policy accept;\n\t}\n\n\tchain before-dnat {\n\t\ttype filter hook prerouting priority -150; policy accept;\n\t}\n}\n';

test('restore over a table that is there: emptied and refilled, never deleted and re-created (a re-created set is empty to lookups until the commit ends)', () => {
  assert.equal(nftTableObjects(NOW), ['set admin-v4', 'set nodes-v4', 'chain input', 'chain before-dnat']);
  assert.is(
    nftablesRestoreScript({ backend: 'nftables', table: SAVED }, NOW),
    `flush table inet kubewall\nflush set inet kubewall admin-v4\ndelete set inet kubewall nodes-v4\ndelete chain inet kubewall before-dnat\n${SAVED}`,
  );
  assert.is(nftablesRestoreScript({ backend: 'nftables', table: null }, NOW), 'table inet kubewall\ndelete table inet kubewall\n');
});

test('restore: one transaction that names only kubewall\'s table', () => {
  assert.is(nftablesRestoreScript({ backend: 'nftables', table: null }), 'table inet kubewall\ndelete table inet kubewall\n');
  assert.is(nftablesRestoreScript({ backend: 'nftables', table: TABLE }), `table inet kubewall\ndelete table inet kubewall\n${TABLE}`);
  assert.ok(nftablesRestoreScript({ backend: 'nftables', table: TABLE.trimEnd() }).endsWith('}\n'));
  assert.not.match(nftablesRestoreScript({ backend: 'nftables', table: TABLE }), /flush ruleset/);
});

test.run();
