import { suite, test } from 'uvu';
import * as assert from 'uvu/assert';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describeWithNetns } from '../helpers/netns.js';
import { nftablesAdapter } from './adapters/nftables.js';
import { HARNESS_TOOLS } from './harness.js';
import { PROBE_TIMEOUTS_MS, TRAFFIC_CASES, trafficRenderArgs, withTrafficLab, type TrafficLab } from './cluster-traffic.js';

/**
 * Every cluster-traffic case fails on the rules as they were before issue 12:
 * the nftables render with the one rule the case needs taken out (what
 * kubewall rendered before it modelled that traffic), and for ipvs also the
 * render kubewall gave before it knew kube-proxy modes (the iptables default).
 * A case that passed here would prove nothing.
 */

/** The lines each case needs, by their text in the nftables render. */
const NEEDED_LINES: Readonly<Record<string, RegExp>> = {
  'ipvs-service': /kube-proxy ipvs: Service and external IPs/,
  'node-local-dns': /daddr 169\.254\.20\.10 /,
  'masqueraded-scrape': /saddr @nodes-v[46] tcp dport 10250 /,
  'nodeport-closed-range': /nodePortRange 30000-32767: NodePorts no rule allows/,
  'nodeport-control-plane': /nodeport-services: other sources, before kube-proxy DNAT/,
  mld: /mld-listener-query/,
  'dhcpv6-reply': /udp sport 547 udp dport 546/,
  vrrpv3: /daddr ff02::12 /,
};

function without(text: string, needed: RegExp): string {
  const lines = text.split('\n');
  const kept = lines.filter((line) => !needed.test(line));
  if (kept.length === lines.length) throw new Error(`self-test: ${String(needed)} matched no line of the render`);
  return kept.join('\n');
}

async function applyText(lab: TrafficLab, name: string, text: string): Promise<void> {
  const file = path.join(lab.workDir, `${name}.nft`);
  await writeFile(file, text);
  await lab.adapterContext.exec('nft', ['-f', file]);
  // The full render's probes left conntrack entries (DHCPv6 always uses ports 547 → 546): a probe must meet the rules, not them.
  await lab.adapterContext.exec('conntrack', ['-F'], { reject: false });
}

await describeWithNetns('cluster traffic self-test', [...HARNESS_TOOLS, 'python3', 'conntrack'], () => {
  const selfTest = suite('cluster traffic self-test');
  selfTest('nftables: every case fails without the rule it needs, and ipvs fails on the kube-proxy iptables render', async () => {
    const caught: string[] = [];
    await withTrafficLab(nftablesAdapter, () => undefined, async (lab) => {
      const full = await lab.render(trafficRenderArgs('nftables'), 'ipvs');
      // The lab itself: with every rule in place every case holds, so a failure below is the missing rule's.
      await lab.apply(full);
      for (const kase of TRAFFIC_CASES) assert.equal(await kase.run(lab), [], `${kase.id} with the full render`);
      // Each case below is expected to fail: one short try per cell is enough to see it.
      lab.probeTimeoutsMs = [PROBE_TIMEOUTS_MS[0]!];
      for (const kase of TRAFFIC_CASES) {
        const needed = NEEDED_LINES[kase.id];
        assert.ok(needed, `no self-test mutation for ${kase.id}`);
        await applyText(lab, kase.id, without(full.main.content, needed));
        const found = await kase.run(lab);
        assert.ok(found.length > 0, `${kase.id} passed without ${String(needed)}: it cannot fail`);
        caught.push(`${kase.id}: ${found[0]}`);
      }
      const iptablesMode = await lab.render([], 'kube-proxy-iptables');
      await lab.apply(iptablesMode);
      await lab.adapterContext.exec('conntrack', ['-F'], { reject: false });
      const ipvs = TRAFFIC_CASES.find((c) => c.id === 'ipvs-service')!;
      const found = await ipvs.run(lab);
      assert.ok(found.length > 0, 'ipvs-service passed on the kube-proxy iptables render');
      caught.push(`ipvs-service on the kube-proxy iptables render: ${found[0]}`);
    });
    process.stdout.write(`\ncluster traffic self-test caught:\n  ${caught.join('\n  ')}\n`);
  });
  selfTest.run();
});

// describeWithNetns registers its CI failure on the default suite.
test.run();
