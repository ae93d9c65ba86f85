import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { suite, test } from 'uvu';
import * as assert from 'uvu/assert';
import { describeWithNetns } from '../helpers/netns.js';
import type { ConformanceAdapter } from './adapter.js';
import { nftablesAdapter } from './adapters/nftables.js';
import { ENCAPSULATION_CASES, ENCAPSULATION_CLUSTER } from './encapsulation.js';
import { kernelHasGeneve, loadEncapsulationContext, runEncapsulationCase } from './encapsulation-run.js';

/**
 * The encapsulation suite judging deliberately broken nftables outputs: a
 * firewall that lets anyone's tunnel traffic in, and one that forgot the
 * CNI's ports, must each fail on the probes they break: on
 * calico:vxlan+wireguard (a kernel VXLAN device and WireGuard datagrams)
 * and calico:ipip (raw IP protocol 4, where conntrack could turn one
 * direction into a reply of the other).
 */

function mutated(name: string, mutate: (text: string) => string): ConformanceAdapter {
  return {
    ...nftablesAdapter,
    async apply(ctx, output) {
      const file = path.join(ctx.workDir, `${name}.nft`);
      await writeFile(file, mutate(output.main.content));
      await ctx.exec('nft', ['-f', file]);
    },
  };
}

function mutateLines(text: string, select: RegExp, change: (line: string) => string | null): string {
  let changed = 0;
  const lines = text.split('\n').flatMap((line) => {
    if (!select.test(line)) return [line];
    changed += 1;
    const next = change(line);
    return next === null ? [] : [next];
  });
  if (changed === 0) throw new Error(`self-test: ${String(select)} matched no line`);
  return lines.join('\n');
}

const TUNNEL_RULE = /saddr @nodes-v[46] udp dport (4789|51820-51821) accept/;

const IPIP_RULE = /ip saddr @nodes-v4 meta l4proto 4 accept/;

const MUTATIONS = [
  {
    cni: 'calico:vxlan+wireguard',
    title: 'tunnel ports open to everyone (nodes set dropped)',
    adapter: mutated('open', (t) => mutateLines(t, TUNNEL_RULE, (l) => l.replace(/ip6? saddr @nodes-v[46] /, ''))),
    mentions: ['outsider → pod a through vxlan-4789', 'outsider → node b wireguard-51820 (UDP 51820, ipv4): expected refused, observed', 'wireguard-51821 (UDP 51821, ipv6)'],
  },
  {
    cni: 'calico:vxlan+wireguard',
    title: "the CNI's tunnel rules missing",
    adapter: mutated('missing', (t) => mutateLines(t, TUNNEL_RULE, () => null)),
    mentions: ['pod a → pod b through vxlan-4789 (inner UDP 9000): expected through, not observed', 'pod b → pod a TCP 8080', 'node a → node b wireguard-51820 (UDP 51820, ipv4): expected through'],
  },
  {
    cni: 'calico:ipip',
    title: 'IP-in-IP open to everyone',
    adapter: mutated('ipip-open', (t) => mutateLines(t, IPIP_RULE, (l) => l.replace('ip saddr @nodes-v4 ', ''))),
    mentions: ['outsider → node a ipip (IP protocol 4, ipv4): expected refused, observed', 'outsider → node b ipip'],
  },
  {
    cni: 'calico:ipip',
    title: 'IP-in-IP rule missing',
    // Both directions fail only if conntrack cannot make one node's packet a reply to the other's.
    adapter: mutated('ipip-missing', (t) => mutateLines(t, IPIP_RULE, () => null)),
    mentions: ['node a → node b ipip (IP protocol 4, ipv4): expected through, not observed', 'node b → node a ipip (IP protocol 4, ipv4): expected through, not observed'],
  },
];

await describeWithNetns('encapsulation self-test', ['ip', 'bridge', 'socat', 'conntrack', 'nft'], () => {
  const selfTest = suite('encapsulation self-test');
  for (const mutation of MUTATIONS) {
    const kase = ENCAPSULATION_CASES.find((c) => c.cni === mutation.cni)!;
    selfTest(`catches: ${mutation.title} (${mutation.cni})`, async () => {
      const report = await runEncapsulationCase(mutation.adapter, await loadEncapsulationContext(ENCAPSULATION_CLUSTER, kase.cni), kase, {
        kernelHasGeneve: await kernelHasGeneve(),
      });
      const text = report.failures.join('\n');
      for (const mention of mutation.mentions) assert.ok(text.includes(mention), `the failures should mention "${mention}":\n${text || '(none)'}`);
      process.stdout.write(`\nencapsulation self-test "${mutation.title}" caught:\n  ${report.failures.slice(0, 4).join('\n  ')}\n`);
    });
  }
  selfTest.run();
});

test.run();
