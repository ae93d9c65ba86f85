import { suite, test } from 'uvu';
import * as assert from 'uvu/assert';
import { describeWithNetns } from '../helpers/netns.js';
import { floodProblems, floodRun, loadRender, readAuditSetConfig, renderAudit, withAuditSetParameters, withFloodLab } from './audit-flood-lab.js';

/**
 * The flood checks fail where the bound does not hold: an nftables set loaded
 * with twice the rendered size takes more records than the render
 * configures, and an ipset with the hashsize audit renders had before
 * (1024) stops at 12,288 records, far below maxelem, because the kernel
 * never grows a hash from the packet path. The bound is read from the
 * unchanged render each time. A check that passed here would prove nothing.
 */
await describeWithNetns('audit flood self-test', ['python3', 'nft', 'ipset', 'iptables-nft-restore', 'ip6tables-nft-restore'], () => {
  const selfTest = suite('audit flood self-test');
  selfTest('nftables: a set loaded with twice the rendered size fails the bound', async () => {
    const render = await renderAudit('nftables');
    const config = readAuditSetConfig('nftables', render);
    await withFloodLab(async (lab) => {
      await loadRender(lab, 'nftables', withAuditSetParameters('nftables', render, { size: config.size * 2 }));
      const text = floodProblems(await floodRun(lab, 'nftables', config)).join('\n');
      // Fewer than 101,000 when the flood lost a few inserts (flood-order.ts): still more than the bound.
      const held = new RegExp(`the set holds (\\d+) records after 101000 distinct would-be drops, more than the configured ${config.size}`).exec(text);
      assert.ok(held !== null && Number(held[1]) > config.size, text);
    });
  });
  selfTest('iptables: the audit ipset with hashsize 1024 (before issue 15\'s flood test) fails: it stops at 12,288 records', async () => {
    const render = await renderAudit('iptables');
    const config = readAuditSetConfig('iptables', render);
    await withFloodLab(async (lab) => {
      await loadRender(lab, 'iptables', withAuditSetParameters('iptables', render, { hashsize: 1024 }));
      const text = floodProblems(await floodRun(lab, 'iptables', config)).join('\n');
      assert.match(text, /the set holds 12288 records after 101000 distinct would-be drops, fewer than the configured 65536/);
    });
  });
  selfTest.run();
});

test.run();
