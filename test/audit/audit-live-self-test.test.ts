import { suite, test } from 'uvu';
import * as assert from 'uvu/assert';
import { describeWithNetns } from '../helpers/netns.js';
import { nftablesAdapter } from '../conformance/adapters/nftables.js';
import { HARNESS_TOOLS } from '../conformance/harness.js';
import { withTrafficLab } from '../conformance/cluster-traffic.js';
import { applyRender, auditProblems, sendAndAudit } from './audit-lab.js';

/**
 * The audit live test's checks fail on the enforcing render: both flows are
 * dropped, kubewall audit finds no audit sets and records nothing (exit 0).
 * A check that passed here would prove nothing.
 */
await describeWithNetns('audit live self-test', [...HARNESS_TOOLS, 'python3', 'conntrack', 'nft'], () => {
  const selfTest = suite('audit live self-test');
  selfTest('nftables: on the enforcing render the audit checks fail (traffic dropped, nothing recorded)', async () => {
    await withTrafficLab(nftablesAdapter, () => undefined, async (lab) => {
      lab.probeTimeoutsMs = [800];
      await applyRender(lab, nftablesAdapter, false);
      const run = await sendAndAudit(lab, 'nftables');
      const problems = auditProblems(run);
      const text = problems.join('\n');
      assert.match(text, /outsider → NodePort 30080\/tcp: expected through \(audit\), observed/);
      assert.match(text, /pod → 169\.254\.20\.10:53\/udp: expected through \(audit\), observed/);
      assert.match(text, /expected exit 2 \(something recorded\), got 0/);
      assert.match(text, /no record of .* tcp 30080/);
      assert.match(text, /no record of .* udp 53/);
    });
  });
  selfTest.run();
});

test.run();
