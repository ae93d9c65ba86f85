import { suite, test } from 'uvu';
import * as assert from 'uvu/assert';
import { describeWithNetns } from '../helpers/netns.js';
import { floodProblems, floodRun, loadRender, readAuditSetConfig, renderAudit, withAuditSetParameters, withFloodLab, type FloodBackend } from './audit-flood-lab.js';

/**
 * The audit sets under 100,000 distinct would-be drops (see audit-flood-lab.ts):
 * every packet is accepted; the set fills to the size the render configures
 * and no further (nftables exactly; ipset within 2%, see
 * IPSET_MAXELEM_SLACK); a full nftables set keeps the first records and
 * takes no new one (nothing is evicted); once the records time out, new
 * would-be drops are recorded again. The render's one-hour timeout is
 * replaced by EXPIRE_SECONDS in the loaded copy so the last part runs in
 * seconds; size and everything else are the render's. Shown to fail in
 * audit-flood-self-test.test.ts.
 */

/** Listing a full nftables set takes ~3.5 s here: the records must outlive that. */
const EXPIRE_SECONDS = 12;

await describeWithNetns('audit flood', ['python3', 'nft', 'ipset', 'iptables-nft-restore', 'ip6tables-nft-restore'], () => {
  const flood = suite('audit flood');
  for (const backend of ['nftables', 'iptables'] as const satisfies readonly FloodBackend[]) {
    flood(`${backend}: 100,000 distinct would-be drops are all accepted, the audit set stays within its configured size, and expired records make room`, async () => {
      const render = await renderAudit(backend);
      const config = readAuditSetConfig(backend, render);
      await withFloodLab(async (lab) => {
        await loadRender(lab, backend, withAuditSetParameters(backend, render, { timeoutSeconds: EXPIRE_SECONDS }));
        const run = await floodRun(lab, backend, config, EXPIRE_SECONDS);
        assert.equal(floodProblems(run), [], `${backend}: set size ${config.size}, ${run.afterFlood.size} records after the flood`);
      });
    });
  }
  flood.run();
});

// describeWithNetns registers its CI failure on the default suite.
test.run();
