import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { suite, test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Role } from '../../src/index.js';
import { describeWithNetns } from '../helpers/netns.js';
import type { AssertionName, ConformanceAdapter } from './adapter.js';
import { nftablesAdapter } from './adapters/nftables.js';
import { loadClusterContext, runConformanceCase } from './harness.js';

/**
 * The harness judging deliberately broken backends: each mutation of the
 * nftables output must fail exactly the assertion it breaks, with a message
 * that names the cell. A harness that passes everything proves nothing.
 */

function mutated(name: string, mutate: (text: string) => string, before: readonly string[][] = []): ConformanceAdapter {
  return {
    ...nftablesAdapter,
    async apply(ctx, output) {
      const file = path.join(ctx.workDir, `${name}.nft`);
      await writeFile(file, mutate(output.main.content));
      for (const command of before) await ctx.exec(command[0]!, command.slice(1));
      await ctx.exec('nft', ['-f', file]);
    },
  };
}

function replaceOrThrow(text: string, from: string | RegExp, to: string): string {
  const result = text.replace(from, to);
  if (result === text) throw new Error(`self-test: mutation ${String(from)} found nothing to change`);
  return result;
}

interface Mutation {
  readonly title: string;
  readonly adapter: ConformanceAdapter;
  readonly cluster: string | null;
  readonly roles: Role[];
  readonly fails: AssertionName;
  /** Text the failure must contain. */
  readonly mentions: readonly string[];
  readonly loopMs: number;
}

const MUTATIONS: Mutation[] = [
  {
    title: 'SSH open to everyone (admin set dropped)',
    adapter: mutated('ssh-open', (t) => replaceOrThrow(t, /ip saddr @admin-v4 (tcp dport 22 )/, '$1')),
    cluster: 'examples/cluster.yaml',
    roles: ['control-plane'],
    fails: 'matrix',
    mentions: ['outsider', '22/tcp', 'ipv4', 'expected closed, closed → seen open'],
    loopMs: 300,
  },
  {
    title: 'NodePort filter before DNAT removed',
    adapter: mutated('no-before-dnat', (t) => replaceOrThrow(t, /type filter hook prerouting priority -150/g, 'type filter hook input priority 10')),
    cluster: 'examples/nodeports-from-load-balancers.yaml',
    roles: ['worker'],
    fails: 'nodeport-dnat',
    mentions: ['outsider', '30080/tcp', 'DNATed'],
    loopMs: 300,
  },
  {
    title: 'flushes the whole ruleset (kube-proxy state wiped)',
    adapter: mutated('flush', (t) => t, [['nft', 'flush', 'ruleset']]),
    cluster: null,
    roles: ['worker'],
    fails: 'coexistence',
    mentions: ['KUBE-'],
    loopMs: 300,
  },
  {
    title: 'replaces the table in two transactions (a window with no firewall)',
    adapter: mutated('two-step', (t) => t, [['sh', '-c', 'nft delete table inet kubewall 2>/dev/null; sleep 0.05']]),
    cluster: 'examples/cluster.yaml',
    roles: ['worker'],
    fails: 'atomic-replacement',
    mentions: ['outsider packets got through'],
    loopMs: 1500,
  },
];

await describeWithNetns('conformance self-test', ['ip', 'nft', 'iptables-nft-restore', 'ip6tables-nft-restore'], () => {
  const selfTest = suite('conformance self-test');
  for (const mutation of MUTATIONS) {
    selfTest(`catches: ${mutation.title}`, async () => {
      const report = await runConformanceCase(mutation.adapter, await loadClusterContext(mutation.cluster), mutation.roles, {
        replaceLoopMs: mutation.loopMs,
      });
      const failure = report.failures.find((f) => f.assertion === mutation.fails);
      assert.ok(failure, `expected a ${mutation.fails} failure; got ${JSON.stringify(report.failures.map((f) => f.assertion))}`);
      for (const text of mutation.mentions) assert.ok(failure.message.includes(text), `the ${mutation.fails} failure should mention "${text}":\n${failure.message}`);
      process.stdout.write(`\nself-test "${mutation.title}" caught by ${mutation.fails}:\n${failure.message.split('\n').slice(0, 6).join('\n')}\n`);
    });
  }
  selfTest.run();
});

test.run();
