import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { planFromFiles } from '../../src/load-plan.js';
import { renderPlan } from '../../src/render/render-plan.js';
import { listGoldenCases, rendersWith, type GoldenCase } from '../helpers/golden.js';
import { describeWithNetns, inNetns, withNetns } from '../helpers/netns.js';
import { REPO_ROOT } from '../helpers/paths.js';

/**
 * The audit render on a real kernel, in throwaway namespaces: every golden
 * case's nftables audit render passes nft -c and its iptables audit script
 * --check; reloading the audit render keeps what was recorded; switching
 * between audit and enforcing loads both ways.
 */

async function render(goldenCase: GoldenCase, backend: string, audit: boolean, options: Record<string, string> = {}): Promise<string> {
  const plan = await planFromFiles({ roles: goldenCase.roles, clusterFile: goldenCase.cluster, cataloguePatterns: goldenCase.catalogue, allowLockout: goldenCase.allowLockout, cwd: REPO_ROOT });
  const result = await renderPlan(plan, backend, { backendOptions: { ...options, ...(audit ? { audit: 'true' } : {}) } });
  return result.files[0]!.content;
}

await describeWithNetns('audit render', ['nft', 'ipset', 'iptables-nft-restore', 'unshare'], () => {
  test('every golden case: the nftables audit render passes nft -c; the iptables audit script passes --check', async () => {
    const cases = await listGoldenCases();
    const dir = await mkdtemp(path.join(tmpdir(), 'kw-audit-'));
    await withNetns('auditc', async (netns) => {
      for (const goldenCase of cases) {
        if (rendersWith(goldenCase, 'nftables')) {
          const script = await render(goldenCase, 'nftables', true);
          assert.match(script.split('\n')[1]!, /^# AUDIT MODE: this ruleset does NOT enforce/);
          assert.not.match(script, /\bdrop comment "(baseline: explicit final drop|.*before kube-proxy DNAT)/, `${goldenCase.name}: a drop is left`);
          const check = await inNetns(netns, 'nft', ['-c', '-f', '-'], { input: script, reject: false });
          assert.is(check.exitCode, 0, `${goldenCase.name}: nft -c rejected the audit render:\n${check.stderr}`);
        }
        if (rendersWith(goldenCase, 'iptables')) {
          const script = await render(goldenCase, 'iptables', true, { iptablesVariant: 'nft' });
          assert.not.match(script, /-j DROP$(?<!INVALID.*)/m, `${goldenCase.name}: a DROP is left`);
          const file = path.join(dir, `${goldenCase.name}.sh`);
          await writeFile(file, script);
          const check = await inNetns(netns, 'sh', [file, '--check'], { reject: false });
          assert.is(check.exitCode, 0, `${goldenCase.name}: --check failed:\n${check.stderr}`);
        }
      }
    }).finally(() => rm(dir, { recursive: true, force: true }));
  });

  test('nftables: reloading the audit render keeps the records; audit and enforcing replace each other', async () => {
    const goldenCase = (await listGoldenCases()).find((c) => c.name === 'nodeports-control-plane-worker')!;
    const audit = await render(goldenCase, 'nftables', true);
    const enforce = await render(goldenCase, 'nftables', false);
    await withNetns('auditreload', async (netns) => {
      await inNetns(netns, 'nft', ['-f', '-'], { input: audit });
      await inNetns(netns, 'nft', ['add', 'element', 'inet', 'kubewall', 'audit-v4', '{ 10.1.2.3 . tcp . 9100 }']);
      await inNetns(netns, 'nft', ['-f', '-'], { input: audit });
      const kept = await inNetns(netns, 'nft', ['-j', 'list', 'set', 'inet', 'kubewall', 'audit-v4']);
      assert.match(kept.stdout, /"concat": \["10\.1\.2\.3", "tcp", 9100\]/);
      await inNetns(netns, 'nft', ['-f', '-'], { input: enforce });
      const enforced = (await inNetns(netns, 'nft', ['list', 'chain', 'inet', 'kubewall', 'input'])).stdout;
      assert.match(enforced, /drop comment "baseline: explicit final drop/);
      assert.not.match(enforced, /@audit-v4/);
      await inNetns(netns, 'nft', ['-f', '-'], { input: audit });
      assert.match((await inNetns(netns, 'nft', ['list', 'chain', 'inet', 'kubewall', 'input'])).stdout, /update @audit-v4/);
    });
  });
});

test.run();
