import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { listGoldenCases, renderGoldenCase } from '../helpers/golden.js';
import { describeWithNetns, inNetns, withNetns } from '../helpers/netns.js';

// nft -c still talks to the kernel, so even a check runs in a throwaway namespace, never against the host.
await describeWithNetns('nftables output passes nft -c and applies idempotently', ['nft'], () => {
  test('every golden nftables output passes nft -c -f inside a network namespace', async () => {
    const cases = await listGoldenCases();
    await withNetns('nftc', async (netns) => {
      for (const goldenCase of cases) {
        const script = (await renderGoldenCase(goldenCase)).get('nftables/kubewall.nft');
        assert.ok(script, `${goldenCase.name}: no nftables output`);
        const result = await inNetns(netns, 'nft', ['-c', '-f', '-'], { input: script, reject: false });
        assert.is(result.exitCode, 0, `${goldenCase.name}: nft -c rejected the script:\n${result.stderr}`);
      }
    });
  });

  test('applying twice gives the ruleset of applying once, and leaves other tables alone', async () => {
    const cases = await listGoldenCases();
    const goldenCase = cases.find((c) => c.name === 'nodeports-control-plane-worker')!;
    const script = (await renderGoldenCase(goldenCase)).get('nftables/kubewall.nft')!;
    await withNetns('nftapply', async (netns) => {
      const other = 'table ip kube-proxy-like {\n chain prerouting { type nat hook prerouting priority dstnat; tcp dport 30080 dnat to 10.244.1.10:8080; }\n}\n';
      await inNetns(netns, 'nft', ['-f', '-'], { input: other });
      await inNetns(netns, 'nft', ['-f', '-'], { input: script });
      const once = (await inNetns(netns, 'nft', ['list', 'ruleset'])).stdout;
      await inNetns(netns, 'nft', ['-f', '-'], { input: script });
      const twice = (await inNetns(netns, 'nft', ['list', 'ruleset'])).stdout;
      assert.fixture(twice, once, 'second apply changed the ruleset');
      assert.match(twice, /table ip kube-proxy-like/);
      assert.match(twice, /dnat to 10\.244\.1\.10:8080/);
      assert.match(twice, /table inet kubewall/);
    });
  });
});

test.run();
