import { execa } from 'execa';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { IPTABLES_FIXTURE_CASES } from '../../scripts/capture-fixtures.js';
import { planFromFiles } from '../../src/load-plan.js';
import type { Role } from '../../src/model.js';
import { renderPlan } from '../../src/render/render-plan.js';
import { describeWithNetns, inNetns } from '../helpers/netns.js';
import { BIN, REPO_ROOT } from '../helpers/paths.js';
import { withUfwNetns } from '../helpers/ufw.js';

// Live: real ufw in a throwaway namespace with its own /etc/ufw and
// /etc/default (bind-mounted from /etc/netns/<ns>/ by ip netns exec), and the
// real CLI run inside it, so `kubewall diff --backend ufw` reads the
// namespace's ufw, never the host's.

async function applyRender(netns: string, roles: Role[] = ['worker'], cluster = 'examples/cluster.yaml'): Promise<void> {
  const plan = await planFromFiles({ roles, clusterFile: cluster, cwd: REPO_ROOT });
  const [script] = (await renderPlan(plan, 'ufw')).files;
  await inNetns(netns, 'sh', ['-s'], { input: script!.content });
}

async function diffInNetns(netns: string, args: readonly string[]) {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) if (value !== undefined && key !== 'FORCE_COLOR') env[key] = value;
  const result = await execa('ip', ['netns', 'exec', netns, process.execPath, BIN, 'diff', ...args], { cwd: REPO_ROOT, reject: false, env: { ...env, NO_COLOR: '1' }, extendEnv: false });
  return { exitCode: result.exitCode, stdout: String(result.stdout), stderr: String(result.stderr) };
}

const WORKER = ['--backend', 'ufw', '--role', 'worker', '--cluster', 'examples/cluster.yaml'];

await describeWithNetns('kubewall diff --backend ufw against a live ufw in a namespace', ['ufw', 'iptables-nft-restore'], () => {
  test('render → apply → diff in sync (exit 0); one address rule deleted and one changed by hand → exactly those (exit 2); ufw disabled → named', async () => {
    await withUfwNetns('diffufw', async (netns) => {
      const fresh = await diffInNetns(netns, [...WORKER, '--format', 'json']);
      assert.is(fresh.exitCode, 2, fresh.stderr);
      assert.is(JSON.parse(fresh.stdout).present, false);

      await applyRender(netns);
      const clean = await diffInNetns(netns, WORKER);
      assert.is(clean.exitCode, 0, `${clean.stdout}\n${clean.stderr}`);
      assert.match(clean.stdout, /In sync: applying would change nothing in ufw rules tagged "kubewall \.\.\."/);

      await inNetns(netns, 'ufw', ['delete', 'allow', 'from', 'fd00:10::12', 'to', 'any', 'port', '10250', 'proto', 'tcp']);
      await inNetns(netns, 'ufw', ['delete', 'allow', 'from', '10.10.0.5', 'to', 'any', 'port', '10256', 'proto', 'tcp']);
      await inNetns(netns, 'ufw', ['allow', 'from', '10.10.0.6', 'to', 'any', 'port', '10256', 'proto', 'tcp', 'comment', 'kubewall kube-proxy/tcp/load-balancers port 10256 from 10.10.0.6']);
      const drift = await diffInNetns(netns, [...WORKER, '--format', 'json']);
      assert.is(drift.exitCode, 2, drift.stderr);
      const json = JSON.parse(drift.stdout);
      assert.equal(json.rules.add.map((r: { family: string; text: string }) => `${r.family} ${r.text}`), [
        'ipv6 tcp dport 10250 saddr fd00:10::12 accept',
        'ipv4 tcp dport 10256 saddr 10.10.0.5 accept',
      ]);
      assert.equal(json.rules.remove.map((r: { family: string; text: string }) => `${r.family} ${r.text}`), ['ipv4 tcp dport 10256 saddr 10.10.0.6 accept']);
      assert.equal(json.chains.change, []);
      assert.equal(json.warnings, []);

      // The script deletes the stray tagged rule and re-adds the missing ones.
      await applyRender(netns);
      assert.is((await diffInNetns(netns, WORKER)).exitCode, 0);

      await inNetns(netns, 'ufw', ['disable']);
      const disabled = await diffInNetns(netns, WORKER);
      assert.is(disabled.exitCode, 2);
      assert.match(disabled.stdout, /~ input: ufw inactive -> active/);
    });
  });

  test('IP-protocol rules (ESP per node address, VRRP from any address): in sync after apply', async () => {
    const cluster = 'test/golden/cilium-ipsec-keepalived-control-plane/inputs/cluster.yaml';
    await withUfwNetns('diffufw-ipproto', async (netns) => {
      await applyRender(netns, ['control-plane'], cluster);
      const saved = (await inNetns(netns, 'cat', ['/etc/ufw/user.rules', '/etc/ufw/user6.rules'])).stdout;
      assert.match(saved, /^-A ufw-user-input -p esp -s 10\.30\.0\.11 -j ACCEPT$/m);
      assert.match(saved, /^-A ufw6-user-input -p vrrp -j ACCEPT$/m);
      const result = await diffInNetns(netns, ['--backend', 'ufw', '--role', 'control-plane', '--cluster', cluster]);
      assert.is(result.exitCode, 0, `${result.stdout}\n${result.stderr}`);
      assert.match(result.stdout, /In sync/);
    });
  });

  test("kube-proxy's iptables rules beside ufw, and an untagged ufw rule, are not reported as kubewall's", async () => {
    const coexist = IPTABLES_FIXTURE_CASES.find((c) => c.name === 'kube-proxy-coexist')!;
    await withUfwNetns('diffufw-kp', async (netns) => {
      for (const step of coexist.before ?? []) await inNetns(netns, step.run[0]!, step.run.slice(1), { input: step.input ?? '' });
      await applyRender(netns);
      await inNetns(netns, 'ufw', ['allow', '8080/tcp']);
      assert.match((await inNetns(netns, 'iptables-nft-save', [])).stdout, /KUBE-NODEPORTS/);
      const result = await diffInNetns(netns, [...WORKER, '--format', 'json']);
      assert.is(result.exitCode, 0, result.stdout);
      const json = JSON.parse(result.stdout);
      assert.is(json.summary.rulesUnchanged, 24);
      assert.equal(json.warnings.map((w: { code: string }) => w.code), ['untagged-ufw-rules']);
    });
  });
});

test.run();
