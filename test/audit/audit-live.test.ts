import { suite, test } from 'uvu';
import * as assert from 'uvu/assert';
import { describeWithNetns } from '../helpers/netns.js';
import { iptablesAdapter } from '../conformance/adapters/iptables.js';
import { nftablesAdapter } from '../conformance/adapters/nftables.js';
import { HARNESS_TOOLS } from '../conformance/harness.js';
import { withTrafficLab } from '../conformance/cluster-traffic.js';
import { applyRender, auditProblems, sendAndAudit, suggestedInputs } from './audit-lab.js';

/**
 * Audit mode on a real kernel (see audit-lab.ts): with render --audit an
 * outsider's NodePort connection and a pod's NodeLocal DNS query get through
 * and kubewall audit, run in the node namespace, lists both with the fix;
 * the enforcing render then drops both. audit-live-self-test.test.ts shows
 * the checks fail on the enforcing render.
 */

await describeWithNetns('audit live', [...HARNESS_TOOLS, 'python3', 'conntrack', 'nft', 'ipset', 'iptables-nft-restore'], () => {
  const live = suite('audit live');
  for (const adapter of [nftablesAdapter, iptablesAdapter]) {
    live(`${adapter.backend}: the audit render lets both would-be drops through and kubewall audit explains them; the enforcing render drops them`, async () => {
      const lines: string[] = [];
      await withTrafficLab(adapter, (line) => lines.push(line), async (lab) => {
        await applyRender(lab, adapter, true);
        const run = await sendAndAudit(lab, adapter.backend);
        assert.equal(auditProblems(run), [], `${JSON.stringify(run.report, null, 2)}\n${lines.join('\n')}`);

        await applyRender(lab, adapter, false);
        lab.probeTimeoutsMs = [800];
        const enforced = await sendAndAudit(lab, adapter.backend);
        assert.is.not(enforced.outsider, 'open', 'the enforcing render lets the outsider reach the load balancers\' NodePort');
        assert.is.not(enforced.podDns, 'open', 'the enforcing render lets DNS to NodeLocal DNSCache through without the add-on');

        // The operator follows the audit's suggestions and enforces: both flows now pass.
        const inputs = await suggestedInputs(run, lab.workDir);
        await applyRender(lab, adapter, false, inputs);
        const fixed = await sendAndAudit(lab, adapter.backend);
        assert.is(fixed.outsider, 'open', `with the suggested inputs (${inputs.planArgs.join(' ')}, ${inputs.clusterFile}) the load balancer's NodePort stays closed`);
        assert.is(fixed.podDns, 'open', `with the suggested inputs (${inputs.planArgs.join(' ')}) DNS to NodeLocal DNSCache stays closed`);
      });
    });
  }
  live.run();
});

// describeWithNetns registers its CI failure on the default suite.
test.run();
