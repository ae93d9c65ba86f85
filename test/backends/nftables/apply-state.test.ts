import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { nftablesRestoreScript, nftablesSnapshotFrom } from '../../../src/backends/nftables/apply-state.js';

const TABLE = 'table inet kubewall {\n\tchain input {\n\t\ttype filter hook input priority filter; policy drop;\n\t}\n}\n';

test('snapshot: the listed table, or its absence; other failures are errors', () => {
  assert.equal(nftablesSnapshotFrom(0, TABLE, ''), { backend: 'nftables', table: TABLE });
  assert.equal(nftablesSnapshotFrom(1, '', 'Error: No such file or directory\nlist table inet kubewall\n'), { backend: 'nftables', table: null });
  assert.equal(nftablesSnapshotFrom(1, '', 'Error: Could not process rule: Operation not permitted\n'), { error: 'Error: Could not process rule: Operation not permitted' });
});

test('restore: one transaction that names only kubewall\'s table', () => {
  assert.is(nftablesRestoreScript({ backend: 'nftables', table: null }), 'table inet kubewall\ndelete table inet kubewall\n');
  assert.is(nftablesRestoreScript({ backend: 'nftables', table: TABLE }), `table inet kubewall\ndelete table inet kubewall\n${TABLE}`);
  assert.ok(nftablesRestoreScript({ backend: 'nftables', table: TABLE.trimEnd() }).endsWith('}\n'));
  assert.not.match(nftablesRestoreScript({ backend: 'nftables', table: TABLE }), /flush ruleset/);
});

test.run();
