import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { firewalldFileChanges, firewalldNeedsReload, isOwnedFirewalldFile } from '../../../src/backends/firewalld/apply-state.js';

test('kubewall owns its zone and its kubewall-* ipsets, nothing else', () => {
  for (const name of ['zones/kubewall.xml', 'ipsets/kubewall-admin-v4.xml', 'ipsets/kubewall-load-balancers-v6.xml']) assert.ok(isOwnedFirewalldFile(name), name);
  for (const name of ['zones/public.xml', 'zones/kubewall.xml.old', 'ipsets/kubewall-admin-v4.xml.old', 'ipsets/other.xml', 'firewalld.conf', 'services/kubewall.xml']) {
    assert.not.ok(isOwnedFirewalldFile(name), name);
  }
});

test('restore: write what differs or is missing, remove what the saved state did not have', () => {
  const saved = { 'zones/kubewall.xml': '<zone a/>', 'ipsets/kubewall-admin-v4.xml': '<ipset same/>' };
  const current = { 'zones/kubewall.xml': '<zone b/>', 'ipsets/kubewall-admin-v4.xml': '<ipset same/>', 'ipsets/kubewall-nodes-v4.xml': '<ipset/>' };
  assert.equal(firewalldFileChanges(saved, current), { write: [['zones/kubewall.xml', '<zone a/>']], remove: ['ipsets/kubewall-nodes-v4.xml'] });
  assert.equal(firewalldFileChanges({}, current).remove, ['ipsets/kubewall-admin-v4.xml', 'ipsets/kubewall-nodes-v4.xml', 'zones/kubewall.xml']);
  assert.equal(firewalldFileChanges(saved, saved), { write: [], remove: [] });
});

test('reload only when the running firewall differs from the saved one (a reload flushes iptables on firewalld < 2.0)', () => {
  assert.is(firewalldNeedsReload('zone a', 'zone a'), false);
  assert.is(firewalldNeedsReload('zone a', 'zone b'), true);
  assert.is(firewalldNeedsReload(null, 'zone b'), true);
  assert.is(firewalldNeedsReload('zone a', null), false, 'firewalld not running: the files are restored, there is nothing to reload');
});

test.run();
