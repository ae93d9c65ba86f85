import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { DetectReport } from '../../src/detect/run-detect.js';
import { describeWithNetns, inNetns, withNetns } from '../helpers/netns.js';
import { BIN } from '../helpers/paths.js';
import { assertScenario, buildScenario, SCENARIOS } from './scenarios.js';

/** The real CLI inside the namespace, as `ip netns exec NS node bin/kubewall.js detect` on a node. */
async function detectIn(netns: string, args: readonly string[] = []): Promise<DetectReport> {
  const result = await inNetns(netns, process.execPath, [BIN, 'detect', '--format', 'json', ...args], { reject: false });
  assert.is(result.exitCode, 0, String(result.stderr));
  return JSON.parse(String(result.stdout)) as DetectReport;
}

await describeWithNetns('kubewall detect on real devices and sockets in network namespaces', ['ip', 'ss', 'nft', 'iptables-nft', 'socat', 'keepalived'], () => {
  for (const scenario of SCENARIOS) {
    test(`live ${scenario.name}`, async () => {
      await withNetns('detect', async (netns) => {
        const built = await buildScenario(netns, scenario);
        try {
          const report = await detectIn(netns);
          assert.is(report.apiVersion, 'kubewall.dev/detect/v1');
          assert.is(report.source, 'live');
          assert.ok(report.probes.every((p) => p.status === 'ok'), JSON.stringify(report.probes));
          assertScenario(report, scenario);
        } finally {
          await built.stop();
        }
      });
    });
  }

  // The negative side of each live detector: the same namespace before and after its evidence appears.
  test('live: each detector fails without its evidence and finds it once the device or socket exists', async () => {
    await withNetns('detect', async (netns) => {
      await inNetns(netns, 'ip', ['link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth0-peer']);
      await inNetns(netns, 'ip', ['link', 'set', 'eth0', 'up']);
      const before = await detectIn(netns);
      assert.is(before.kubeProxy.mode, 'none');
      assert.is(before.cni.name, null);
      assert.is(before.nodeLocalDNS.address, null);
      assert.equal(before.addons, []);

      await inNetns(netns, 'ip', ['link', 'add', 'flannel.1', 'type', 'vxlan', 'id', '1', 'dstport', '8472', 'dev', 'eth0']);
      await inNetns(netns, 'ip', ['link', 'add', 'kube-ipvs0', 'type', 'veth', 'peer', 'name', 'kipvs-p']);
      await inNetns(netns, 'ip', ['addr', 'add', '10.96.0.10/32', 'dev', 'kube-ipvs0']);
      await inNetns(netns, 'ip', ['link', 'add', 'nodelocaldns', 'type', 'veth', 'peer', 'name', 'nld-p']);
      await inNetns(netns, 'ip', ['addr', 'add', '169.254.20.10/32', 'dev', 'nodelocaldns']);
      const after = await detectIn(netns);
      assert.is(after.kubeProxy.mode, 'ipvs');
      assert.is(after.cni.profile, 'flannel:vxlan');
      assert.is(after.nodeLocalDNS.address, '169.254.20.10');
      assert.equal(after.clusterFile, { kubeProxy: 'ipvs', nodeLocalDNS: '169.254.20.10', profiles: { cni: 'flannel:vxlan', addons: ['node-local-dns'] } });
    });
  });

  test('live: without root the kube-proxy mode is unknown, not none; the devices are still read', async () => {
    await withNetns('detect', async (netns) => {
      await inNetns(netns, 'ip', ['link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth0-peer']);
      await inNetns(netns, 'ip', ['link', 'add', 'flannel.1', 'type', 'vxlan', 'id', '1', 'dstport', '8472', 'dev', 'eth0']);
      const result = await inNetns(netns, 'setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, BIN, 'detect', '--format', 'json'], { reject: false });
      assert.is(result.exitCode, 0, String(result.stderr));
      const report = JSON.parse(String(result.stdout)) as DetectReport;
      assert.is(report.kubeProxy.mode, null);
      assert.match(report.kubeProxy.evidence[0]!, /^cannot tell: nft -j list tables: permission denied \(run kubewall detect as root\)/);
      assert.is(report.cni.profile, 'flannel:vxlan');
      assert.ok(!('kubeProxy' in report.clusterFile));
    });
  });

  test('live: detect changes nothing in the namespace (devices, addresses, tables)', async () => {
    const scenario = SCENARIOS.find((s) => s.name === 'flannel-ipvs-nodelocaldns')!;
    await withNetns('detect', async (netns) => {
      const built = await buildScenario(netns, scenario);
      try {
        const state = async () => [(await inNetns(netns, 'ip', ['-d', 'addr', 'show'])).stdout, (await inNetns(netns, 'nft', ['list', 'ruleset'])).stdout].join('\n')
          .replace(/valid_lft.*$/gm, '')
          // The kernel ends duplicate address detection on its own time: 'tentative' is not detect's doing.
          .replace(/ tentative\b/g, '');
        const before = await state();
        await detectIn(netns);
        assert.is(await state(), before);
      } finally {
        await built.stop();
      }
    });
  });
});

test.run();
