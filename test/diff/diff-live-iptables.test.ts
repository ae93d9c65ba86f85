import { execa } from 'execa';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { IPTABLES_FIXTURE_CASES } from '../../scripts/capture-fixtures.js';
import { planFromFiles } from '../../src/load-plan.js';
import type { Role } from '../../src/model.js';
import { renderPlan } from '../../src/render/render-plan.js';
import { describeWithNetns, inNetns, withNetns } from '../helpers/netns.js';
import { BIN, REPO_ROOT } from '../helpers/paths.js';

// Live: real iptables-nft and ipset in a throwaway namespace, and the real CLI
// run inside it, so `kubewall diff --backend iptables` reads the namespace's
// rules (iptables -V there picks the variant, as on a node) and never the host's.

async function applyRender(netns: string, roles: Role[], cluster: string): Promise<void> {
  const plan = await planFromFiles({ roles, clusterFile: cluster, cwd: REPO_ROOT });
  const [script] = (await renderPlan(plan, 'iptables', { backendOptions: { iptablesVariant: 'nft' } })).files;
  await inNetns(netns, 'sh', ['-s'], { input: script!.content });
}

async function diffInNetns(netns: string, args: readonly string[]) {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) if (value !== undefined && key !== 'FORCE_COLOR') env[key] = value;
  const result = await execa('ip', ['netns', 'exec', netns, process.execPath, BIN, 'diff', ...args], { cwd: REPO_ROOT, reject: false, env: { ...env, NO_COLOR: '1' }, extendEnv: false });
  return { exitCode: result.exitCode, stdout: String(result.stdout), stderr: String(result.stderr) };
}

/** The number of the rule in `chain` whose `-S` line contains `text` (-S prints -N first, so the line index is the number). */
async function ruleNumber(netns: string, tool: string, chain: string, text: string): Promise<string> {
  const lines = (await inNetns(netns, tool, ['-S', chain])).stdout.split('\n');
  const index = lines.findIndex((l) => l.includes(text));
  assert.ok(index > 0, `no rule "${text}" in ${chain}:\n${lines.join('\n')}`);
  return String(index);
}

const WORKER = ['--backend', 'iptables', '--role', 'worker', '--cluster', 'examples/cluster.yaml'];
const NODEPORTS = ['--backend', 'iptables', '--role', 'control-plane,worker', '--cluster', 'examples/nodeports-from-load-balancers.yaml'];

await describeWithNetns('kubewall diff --backend iptables against live iptables-nft and ipsets in a namespace', ['iptables-nft', 'ip6tables-nft', 'iptables-nft-restore', 'ipset'], () => {
  test('nothing applied yet: everything to add, exit 2', async () => {
    await withNetns('diffipt-empty', async (netns) => {
      const result = await diffInNetns(netns, [...WORKER, '--format', 'json']);
      assert.is(result.exitCode, 2, result.stderr);
      const json = JSON.parse(result.stdout);
      assert.is(json.present, false);
      assert.is(json.summary.rulesToAdd, 24);
      assert.is(json.summary.setsToAdd, 8);
    });
  });

  test('render → apply → diff in sync (exit 0); one rule deleted, one changed, one element changed by hand → exactly those (exit 2)', async () => {
    await withNetns('diffipt-drift', async (netns) => {
      await applyRender(netns, ['worker'], 'examples/cluster.yaml');
      const clean = await diffInNetns(netns, WORKER);
      assert.is(clean.exitCode, 0, `${clean.stdout}\n${clean.stderr}`);
      assert.match(clean.stdout, /In sync/);

      await inNetns(netns, 'ip6tables-nft', ['-D', 'KUBEWALL-INPUT', await ruleNumber(netns, 'ip6tables-nft', 'KUBEWALL-INPUT', 'KUBEWALL-LOAD-BALANCERS-V6')]);
      const nodeports = await ruleNumber(netns, 'iptables-nft', 'KUBEWALL-INPUT', '-p tcp -m tcp --dport 30000:32767');
      await inNetns(netns, 'iptables-nft', ['-R', 'KUBEWALL-INPUT', nodeports, '-p', 'tcp', '-m', 'tcp', '--dport', '30000:32000', '-j', 'RETURN']);
      await inNetns(netns, 'ipset', ['del', 'KUBEWALL-CONTROL-PLANE-V4', '10.10.0.13']);
      await inNetns(netns, 'ipset', ['add', 'KUBEWALL-CONTROL-PLANE-V4', '10.10.0.14']);
      const drift = await diffInNetns(netns, [...WORKER, '--format', 'json']);
      assert.is(drift.exitCode, 2, drift.stderr);
      const json = JSON.parse(drift.stdout);
      assert.equal(json.rules.add.map((r: { family: string; text: string }) => `${r.family} ${r.text}`), [
        'ipv6 tcp dport 10256 saddr @KUBEWALL-LOAD-BALANCERS-V6 accept',
        'ipv4 tcp dport 32001-32767 accept',
      ]);
      assert.equal(json.rules.remove, []);
      assert.equal(json.sets.elements.map((e: { set: string; add: string[]; remove: string[] }) => [e.set, e.add, e.remove]), [['KUBEWALL-CONTROL-PLANE-V4', ['10.10.0.13'], ['10.10.0.14']]]);
      assert.equal(json.chains, { add: [], remove: [], change: [] });

      // Applying the render again brings it back in sync.
      await applyRender(netns, ['worker'], 'examples/cluster.yaml');
      assert.is((await diffInNetns(netns, WORKER)).exitCode, 0);
    });
  });

  test('before-dnat chain in mangle: in sync after apply; a deleted jump (ipv4) and a deleted drop (ipv6) are named', async () => {
    await withNetns('diffipt-dnat', async (netns) => {
      await applyRender(netns, ['control-plane', 'worker'], 'examples/nodeports-from-load-balancers.yaml');
      assert.is((await diffInNetns(netns, NODEPORTS)).exitCode, 0);
      await inNetns(netns, 'iptables-nft', ['-t', 'mangle', '-D', 'PREROUTING', '-j', 'KUBEWALL-BEFORE-DNAT']);
      await inNetns(netns, 'ip6tables-nft', ['-t', 'mangle', '-D', 'KUBEWALL-BEFORE-DNAT', '-p', 'udp', '-m', 'udp', '--dport', '30000:30999', '-m', 'comment', '--comment', 'nodeport-services: other sources, before kube-proxy DNAT', '-j', 'DROP']);
      const result = await diffInNetns(netns, [...NODEPORTS, '--format', 'json']);
      assert.is(result.exitCode, 2, result.stderr);
      const json = JSON.parse(result.stdout);
      assert.equal(json.chains.change, [{ chain: 'before-dnat', property: 'jump from PREROUTING (ipv4)', desired: 'present', actual: 'missing' }]);
      assert.equal(json.rules.add.map((r: { chain: string; family: string; text: string }) => `${r.chain} ${r.family} ${r.text}`), ['before-dnat ipv6 udp dport 30000-30999 drop']);
      assert.equal(json.rules.remove, []);
    });
  });

  test('IP-protocol rules (IP-in-IP and VRRP, ESP): in sync after apply, whatever names iptables-save prints for them', async () => {
    await withNetns('diffipt-ipproto', async (netns) => {
      for (const name of ['calico-ipip-keepalived-control-plane', 'cilium-ipsec-keepalived-control-plane']) {
        const cluster = `test/golden/${name}/inputs/cluster.yaml`;
        await applyRender(netns, ['control-plane'], cluster);
        const result = await diffInNetns(netns, ['--backend', 'iptables', '--role', 'control-plane', '--cluster', cluster, '--format', 'json']);
        assert.is(result.exitCode, 0, `${name}: ${result.stdout}\n${result.stderr}`);
        assert.ok(JSON.parse(result.stdout).summary.rulesUnchanged > 0);
      }
    });
  });

  test("kube-proxy's iptables rules (nat chains, KUBE-FIREWALL in INPUT) are not reported as kubewall's", async () => {
    const coexist = IPTABLES_FIXTURE_CASES.find((c) => c.name === 'kube-proxy-coexist')!;
    await withNetns('diffipt-kp', async (netns) => {
      for (const step of coexist.before ?? []) await inNetns(netns, step.run[0]!, step.run.slice(1), { input: step.input ?? '' });
      await applyRender(netns, ['worker'], 'examples/cluster.yaml');
      const save = (await inNetns(netns, 'iptables-nft-save', [])).stdout;
      assert.match(save, /KUBE-NODEPORTS/);
      assert.match(save, /-A INPUT -j KUBE-FIREWALL/);
      const result = await diffInNetns(netns, [...WORKER, '--format', 'json']);
      assert.is(result.exitCode, 0, result.stdout);
      const json = JSON.parse(result.stdout);
      assert.equal(json.warnings, []);
      assert.is(json.summary.rulesUnchanged, 24);
    });
  });

  test("a DROP ahead of kubewall's jump is warned about; the exit code stays about kubewall", async () => {
    await withNetns('diffipt-shadow', async (netns) => {
      await applyRender(netns, ['worker'], 'examples/cluster.yaml');
      await inNetns(netns, 'iptables-nft', ['-I', 'INPUT', '1', '-p', 'tcp', '--dport', '10250', '-j', 'DROP']);
      const result = await diffInNetns(netns, WORKER);
      assert.is(result.exitCode, 0, result.stdout);
      assert.match(result.stdout, /! ipv4 filter INPUT has 1 DROP\/REJECT rule before the jump to KUBEWALL-INPUT/);
    });
  });
});

test.run();
