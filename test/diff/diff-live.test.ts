import { execa } from 'execa';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { planFromFiles } from '../../src/load-plan.js';
import type { Role } from '../../src/model.js';
import { renderPlan } from '../../src/render/render-plan.js';
import { FIXTURE_CASES } from '../../scripts/capture-fixtures.js';
import { nftablesHostReader } from '../../src/backends/nftables/host-read.js';
import { diffHost } from '../../src/diff/diff-host.js';
import { listGoldenCases, renderGoldenCase } from '../helpers/golden.js';
import { describeWithNetns, inNetns, withNetns } from '../helpers/netns.js';
import { BIN, REPO_ROOT } from '../helpers/paths.js';

// Live: real nft in a throwaway namespace, and the real CLI run inside it, so
// `kubewall diff` reads the namespace's ruleset and never the host's.

async function applyRender(netns: string, roles: Role[], cluster: string): Promise<void> {
  const plan = await planFromFiles({ roles, clusterFile: cluster, cwd: REPO_ROOT });
  const [script] = (await renderPlan(plan, 'nftables')).files;
  await inNetns(netns, 'nft', ['-f', '-'], { input: script!.content });
}

async function diffInNetns(netns: string, args: readonly string[]) {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) if (value !== undefined && key !== 'FORCE_COLOR') env[key] = value;
  const result = await execa('ip', ['netns', 'exec', netns, process.execPath, BIN, 'diff', ...args], {
    cwd: REPO_ROOT,
    reject: false,
    env: { ...env, NO_COLOR: '1' },
    extendEnv: false,
  });
  return { exitCode: result.exitCode, stdout: String(result.stdout), stderr: String(result.stderr) };
}

async function handleOf(netns: string, chain: string, text: string): Promise<string> {
  const listing = (await inNetns(netns, 'nft', ['-a', 'list', 'chain', 'inet', 'kubewall', chain])).stdout;
  const handle = listing.split('\n').filter((l) => l.includes(text)).map((l) => /# handle (\d+)/.exec(l)?.[1])[0];
  assert.ok(handle, `no rule "${text}" in ${chain}:\n${listing}`);
  return handle;
}

const WORKER = ['--backend', 'nftables', '--role', 'worker', '--cluster', 'examples/cluster.yaml'];
const NODEPORTS = ['--backend', 'nftables', '--role', 'control-plane,worker', '--cluster', 'examples/nodeports-from-load-balancers.yaml'];

await describeWithNetns('kubewall diff against a live ruleset in a namespace', ['nft', 'iptables-nft-restore'], () => {
  test('every golden case, rendered and applied, reads back in sync (the diff follows the render)', async () => {
    for (const goldenCase of await listGoldenCases()) {
      const script = (await renderGoldenCase(goldenCase)).get('nftables/kubewall.nft')!;
      await withNetns('diff-golden', async (netns) => {
        await inNetns(netns, 'nft', ['-f', '-'], { input: script });
        const dump = (await inNetns(netns, 'nft', ['-j', 'list', 'ruleset'])).stdout;
        const plan = await planFromFiles({ roles: goldenCase.roles, clusterFile: goldenCase.cluster, cataloguePatterns: goldenCase.catalogue, allowLockout: goldenCase.allowLockout, cwd: REPO_ROOT });
        const report = await diffHost(plan, 'nftables', { kind: 'saved', text: dump, origin: goldenCase.name });
        assert.ok(report.result.inSync, `${goldenCase.name}: ${JSON.stringify(report.result, null, 1)}`);
        assert.ok(nftablesHostReader.parse(nftablesHostReader.fromSaved(dump, 'x')).ruleset.present);
      });
    }
  });

  test('no kubewall table yet: everything to add, exit 2', async () => {
    await withNetns('diff-empty', async (netns) => {
      const result = await diffInNetns(netns, [...WORKER, '--format', 'json']);
      assert.is(result.exitCode, 2, result.stderr);
      const json = JSON.parse(result.stdout);
      assert.is(json.present, false);
      assert.is(json.summary.rulesToAdd, 24);
    });
  });

  test('render → apply → diff is in sync (exit 0); one rule and one element deleted by hand → exactly those (exit 2)', async () => {
    await withNetns('diff-drift', async (netns) => {
      await applyRender(netns, ['worker'], 'examples/cluster.yaml');
      const clean = await diffInNetns(netns, WORKER);
      assert.is(clean.exitCode, 0, `${clean.stdout}\n${clean.stderr}`);
      assert.match(clean.stdout, /In sync/);

      const handle = await handleOf(netns, 'input', 'ip6 saddr @load-balancers-v6 tcp dport 10256 accept');
      await inNetns(netns, 'nft', ['delete', 'rule', 'inet', 'kubewall', 'input', 'handle', handle]);
      await inNetns(netns, 'nft', ['delete', 'element', 'inet', 'kubewall', 'control-plane-v4', '{ 10.10.0.13 }']);
      const drift = await diffInNetns(netns, [...WORKER, '--format', 'json']);
      assert.is(drift.exitCode, 2, drift.stderr);
      const json = JSON.parse(drift.stdout);
      assert.equal(json.rules.add.map((r: { family: string; text: string }) => `${r.family} ${r.text}`), ['ipv6 tcp dport 10256 saddr @load-balancers-v6 accept']);
      assert.equal(json.rules.remove, []);
      assert.equal(json.sets.elements.map((e: { set: string; add: string[]; remove: string[] }) => [e.set, e.add, e.remove]), [['control-plane-v4', ['10.10.0.13'], []]]);
      assert.equal(json.chains, { add: [], remove: [], change: [] });

      // Applying the render again brings it back in sync.
      await applyRender(netns, ['worker'], 'examples/cluster.yaml');
      assert.is((await diffInNetns(netns, WORKER)).exitCode, 0);
    });
  });

  test('before-dnat chain: in sync after apply; a deleted drop is named', async () => {
    await withNetns('diff-dnat', async (netns) => {
      await applyRender(netns, ['control-plane', 'worker'], 'examples/nodeports-from-load-balancers.yaml');
      assert.is((await diffInNetns(netns, NODEPORTS)).exitCode, 0);
      const handle = await handleOf(netns, 'before-dnat', 'udp dport 30000-30999 drop');
      await inNetns(netns, 'nft', ['delete', 'rule', 'inet', 'kubewall', 'before-dnat', 'handle', handle]);
      const result = await diffInNetns(netns, NODEPORTS);
      assert.is(result.exitCode, 2);
      assert.match(result.stdout, /Rules to add \(1\):\n {2}\+ before-dnat ipv4\+ipv6 udp dport 30000-30999 drop/);
    });
  });

  test("kube-proxy-like rules (iptables-nft nat chains, kube-proxy's nftables table, a CNI table) are not reported as kubewall's", async () => {
    const coexist = FIXTURE_CASES.find((c) => c.name === 'kube-proxy-coexist')!;
    await withNetns('diff-kp', async (netns) => {
      await applyRender(netns, ['worker'], 'examples/cluster.yaml');
      for (const step of coexist.steps) await inNetns(netns, step.run[0]!, step.run.slice(1), { input: step.input ?? '' });
      const ruleset = (await inNetns(netns, 'nft', ['list', 'ruleset'])).stdout;
      assert.match(ruleset, /KUBE-NODEPORTS/);
      assert.match(ruleset, /table ip kube-proxy/);
      const result = await diffInNetns(netns, [...WORKER, '--format', 'json']);
      assert.is(result.exitCode, 0, result.stdout);
      const json = JSON.parse(result.stdout);
      assert.equal(json.warnings, []);
      assert.is(json.summary.rulesUnchanged, 24);
    });
  });

  test('another table dropping on the input hook is warned about; the exit code stays about kubewall', async () => {
    await withNetns('diff-shadow', async (netns) => {
      await applyRender(netns, ['worker'], 'examples/cluster.yaml');
      await inNetns(netns, 'nft', ['-f', '-'], { input: 'table ip other {\n chain input {\n  type filter hook input priority 0; policy accept;\n  tcp dport 10250 drop\n }\n}\n' });
      const result = await diffInNetns(netns, WORKER);
      assert.is(result.exitCode, 0);
      assert.match(result.stdout, /! table ip other chain input \(hook input\) has 1 drop\/reject rule/);
    });
  });
});

test.run();
