import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { IPTABLES_VARIANTS, type IptablesVariant } from '../../src/backends/iptables/index.js';
import { planFromFiles } from '../../src/load-plan.js';
import type { Family, Role } from '../../src/model.js';
import { renderPlan } from '../../src/render/render-plan.js';
import { renderKubeProxyRestore } from '../conformance/kube-proxy-state.js';
import { stripCounters } from '../conformance/normalize.js';
import { listGoldenCases, type GoldenCase } from '../helpers/golden.js';
import { describeWithNetns, inNetns, withNetns } from '../helpers/netns.js';
import { REPO_ROOT } from '../helpers/paths.js';

/**
 * The iptables backend on a real kernel: every golden case through
 * `ipset restore` and `iptables-restore --test`, and the script applied
 * twice next to kube-proxy-like state. Everything runs in throwaway network
 * namespaces, never against the host.
 */

const TOOLS = ['ipset', ...IPTABLES_VARIANTS.flatMap((v) => [`iptables-${v}-restore`, `ip6tables-${v}-restore`, `iptables-${v}`, `ip6tables-${v}`, `iptables-${v}-save`, `ip6tables-${v}-save`])];
const FAMILIES: readonly Family[] = ['ipv4', 'ipv6'];

async function renderFiles(
  spec: Pick<GoldenCase, 'roles' | 'cluster' | 'catalogue' | 'allowLockout'>,
  variant: IptablesVariant,
): Promise<Map<string, string>> {
  const plan = await planFromFiles({
    roles: spec.roles,
    clusterFile: spec.cluster,
    cataloguePatterns: spec.catalogue,
    allowLockout: spec.allowLockout,
    cwd: REPO_ROOT,
  });
  const { files } = await renderPlan(plan, 'iptables', { backendOptions: { iptablesVariant: variant } });
  return new Map(files.map((f) => [f.name, f.content]));
}

function tool(variant: IptablesVariant, family: Family, what: '' | '-save' | '-restore'): string {
  return `${family === 'ipv4' ? 'iptables' : 'ip6tables'}-${variant}${what}`;
}

/** Runs the rendered script inside the namespace, as `sh FILE [ARGS]`. */
async function applyScript(netns: string, script: string, env: Record<string, string> = {}, args: readonly string[] = []) {
  const dir = await mkdtemp(path.join(tmpdir(), 'kw-iptables-'));
  try {
    const file = path.join(dir, 'kubewall.sh');
    await writeFile(file, script, { mode: 0o755 });
    const assignments = Object.entries(env).map(([k, v]) => `${k}=${v}`);
    return await inNetns(netns, 'env', [...assignments, 'sh', file, ...args], { reject: false });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Every iptables table of both families and every ipset, without counters or ipset's random initval. */
async function liveState(netns: string, variant: IptablesVariant): Promise<{ v4: string; v6: string; ipsets: string }> {
  const [v4, v6, ipsets] = await Promise.all([
    inNetns(netns, tool(variant, 'ipv4', '-save'), []),
    inNetns(netns, tool(variant, 'ipv6', '-save'), []),
    inNetns(netns, 'ipset', ['save']),
  ]);
  return {
    v4: stripCounters(v4.stdout),
    v6: stripCounters(v6.stdout),
    ipsets: ipsets.stdout.replace(/ initval 0x[0-9a-f]+/g, '').split('\n').sort().join('\n'),
  };
}

/** One table of one family, as `iptables-save -t TABLE` prints it. */
async function table(netns: string, variant: IptablesVariant, family: Family, name: string): Promise<string> {
  return stripCounters((await inNetns(netns, tool(variant, family, '-save'), ['-t', name])).stdout);
}

async function installKubeProxy(netns: string, variant: IptablesVariant): Promise<void> {
  for (const family of FAMILIES) {
    const v4 = family === 'ipv4';
    const restore = renderKubeProxyRestore({
      family,
      pod: v4 ? '10.244.1.10' : 'fd00:244::10',
      podCidr: v4 ? '10.244.1.0/24' : 'fd00:244::/64',
      clusterIp: v4 ? '10.96.0.1' : 'fd00:96::1',
      apiServer: v4 ? '10.30.0.11' : 'fd00:30::11',
      apiServerPort: 6443,
    });
    await inNetns(netns, tool(variant, family, '-restore'), [], { input: restore });
  }
}

function count(text: string, line: string): number {
  return text.split('\n').filter((l) => l === line).length;
}

/** kube-proxy's state: the whole nat table and every KUBE-* line of filter, both families. */
async function kubeProxyState(netns: string, variant: IptablesVariant): Promise<string> {
  const parts = await Promise.all(
    FAMILIES.flatMap((family) => [
      table(netns, variant, family, 'nat'),
      table(netns, variant, family, 'filter').then((t) => t.split('\n').filter((l) => l.includes('KUBE-')).join('\n')),
    ]),
  );
  return parts.join('\n--\n');
}

const CASE_NODEPORTS = { roles: ['control-plane', 'worker'] as Role[], cluster: 'examples/nodeports-from-load-balancers.yaml' };
const CASE_WORKER_OPEN = { roles: ['worker'] as Role[], cluster: 'examples/cluster.yaml' };

await describeWithNetns('iptables output passes ipset restore and iptables-restore --test, and applies idempotently', TOOLS, () => {
  test('every golden case: sh -n, ipset restore, iptables-restore --test and ip6tables-restore --test, both variants', async () => {
    const cases = await listGoldenCases();
    assert.ok(cases.length >= 8);
    for (const variant of IPTABLES_VARIANTS) {
      await withNetns(`iptc${variant}`, async (netns) => {
        for (const goldenCase of cases) {
          const files = await renderFiles(goldenCase, variant);
          const where = `${goldenCase.name} (${variant})`;
          const syntax = await inNetns(netns, 'sh', ['-n'], { input: files.get('kubewall.sh')!, reject: false });
          assert.is(syntax.exitCode, 0, `${where}: sh -n: ${syntax.stderr}`);
          const ipset = await inNetns(netns, 'ipset', ['restore'], { input: files.get('kubewall.ipset')!, reject: false });
          assert.is(ipset.exitCode, 0, `${where}: ipset restore: ${ipset.stderr}`);
          for (const family of FAMILIES) {
            const rules = files.get(family === 'ipv4' ? 'kubewall.rules.v4' : 'kubewall.rules.v6')!;
            const check = await inNetns(netns, tool(variant, family, '-restore'), ['--test', '--noflush'], { input: rules, reject: false });
            assert.is(check.exitCode, 0, `${where}: ${tool(variant, family, '-restore')} --test: ${check.stderr}`);
          }
        }
        // --test commits nothing.
        const v4 = await table(netns, variant, 'ipv4', 'filter');
        assert.not.match(v4, /KUBEWALL-INPUT/, '--test must not have created chains');
      });
    }
  });

  for (const variant of IPTABLES_VARIANTS) {
    test(`${variant}: applying twice equals applying once; kube-proxy's chains untouched; exactly one jump each, at the top`, async () => {
      const script = (await renderFiles(CASE_NODEPORTS, variant)).get('kubewall.sh')!;
      await withNetns(`iptapply${variant}`, async (netns) => {
        await installKubeProxy(netns, variant);
        const kubeBefore = await kubeProxyState(netns, variant);
        const first = await applyScript(netns, script);
        assert.is(first.exitCode, 0, `first apply: ${first.stderr}`);
        const once = await liveState(netns, variant);
        const second = await applyScript(netns, script);
        assert.is(second.exitCode, 0, `second apply: ${second.stderr}`);
        const twice = await liveState(netns, variant);
        assert.fixture(twice.v4, once.v4, 'IPv4 ruleset changed on the second apply');
        assert.fixture(twice.v6, once.v6, 'IPv6 ruleset changed on the second apply');
        assert.fixture(twice.ipsets, once.ipsets, 'ipsets changed on the second apply');
        assert.fixture(await kubeProxyState(netns, variant), kubeBefore, "kube-proxy's chains changed");
        for (const family of FAMILIES) {
          const filter = await table(netns, variant, family, 'filter');
          const mangle = await table(netns, variant, family, 'mangle');
          assert.is(count(filter, '-A INPUT -j KUBEWALL-INPUT'), 1, `${family}: one jump from INPUT`);
          assert.is(count(mangle, '-A PREROUTING -j KUBEWALL-BEFORE-DNAT'), 1, `${family}: one jump from mangle PREROUTING`);
          const input = filter.split('\n').filter((l) => l.startsWith('-A INPUT '));
          assert.equal(input, ['-A INPUT -j KUBEWALL-INPUT', '-A INPUT -j KUBE-FIREWALL'], `${family}: kubewall's jump first, kube-proxy's kept`);
          assert.match(filter, /^:INPUT ACCEPT$/m, `${family}: INPUT policy unchanged`);
          assert.match(mangle, /--match-set KUBEWALL-LOAD-BALANCERS-V[46] src -m tcp --dport 30000:30999 .*-j RETURN/);
          assert.match(mangle, /-A KUBEWALL-BEFORE-DNAT -p tcp -m tcp --dport 30000:30999 .*-j DROP/);
          assert.match(filter, /-A KUBEWALL-INPUT .*-j DROP$/m);
        }
        assert.match(once.ipsets, /^create KUBEWALL-LOAD-BALANCERS-V6 hash:net family inet6 /m);
        assert.match(once.ipsets, /^add KUBEWALL-LOAD-BALANCERS-V4 10\.30\.0\.5$/m);
        assert.not.match(once.ipsets, /-NEW/, 'the -NEW sets are destroyed after the swap');
      });
    });
  }

  for (const variant of IPTABLES_VARIANTS) {
    test(`${variant}: a later duplicate jump (a concurrent or older run) is removed; a new plan replaces the old one completely`, async () => {
      const before = (await renderFiles(CASE_NODEPORTS, variant)).get('kubewall.sh')!;
      const after = (await renderFiles(CASE_WORKER_OPEN, variant)).get('kubewall.sh')!;
      const fresh = await withNetns(`iptfresh${variant}`, async (netns) => {
        await installKubeProxy(netns, variant);
        assert.is((await applyScript(netns, after)).exitCode, 0);
        return liveState(netns, variant);
      });
      await withNetns(`iptreplace${variant}`, async (netns) => {
        await installKubeProxy(netns, variant);
        assert.is((await applyScript(netns, before)).exitCode, 0);
        await inNetns(netns, tool(variant, 'ipv4', ''), ['-A', 'INPUT', '-j', 'KUBEWALL-INPUT']);
        assert.is(count(await table(netns, variant, 'ipv4', 'filter'), '-A INPUT -j KUBEWALL-INPUT'), 2);
        const result = await applyScript(netns, after);
        assert.is(result.exitCode, 0, result.stderr);
        const replaced = await liveState(netns, variant);
        // Same rules, sets and jumps as a namespace that only ever saw the new plan.
        assert.fixture(replaced.v4, fresh.v4);
        assert.fixture(replaced.v6, fresh.v6);
        assert.fixture(replaced.ipsets, fresh.ipsets);
        assert.not.match(replaced.ipsets, /KUBEWALL-ETCD-V4/, "the control-plane plan's etcd set is gone");
        assert.not.match(replaced.v4, /-A KUBEWALL-BEFORE-DNAT/, 'NodePorts open to all: the before-DNAT chain is empty');
      });
    });
  }

  for (const variant of IPTABLES_VARIANTS) {
    test(`${variant}: sh kubewall.sh --check passes every golden case and changes nothing; broken rules and unknown sets fail with the tool's message`, async () => {
      const cases = await listGoldenCases();
      await withNetns(`iptcheck${variant}`, async (netns) => {
        await installKubeProxy(netns, variant);
        const before = await liveState(netns, variant);
        for (const goldenCase of cases) {
          const check = await applyScript(netns, (await renderFiles(goldenCase, variant)).get('kubewall.sh')!, {}, ['--check']);
          assert.is(check.exitCode, 0, `${goldenCase.name}: ${check.stderr}`);
          assert.match(check.stdout, new RegExp(`check passed: ipset restore and iptables-${variant}-restore --test, ip6tables-${variant}-restore --test accept these rules`));
        }
        const script = (await renderFiles(CASE_NODEPORTS, variant)).get('kubewall.sh')!;
        const badPort = await applyScript(netns, script.replace(/(-A KUBEWALL-INPUT .*)--dport 10250/, '$1--dport 70000'), {}, ['--check']);
        assert.is.not(badPort.exitCode, 0);
        assert.match(badPort.stderr, /invalid port\/service `70000' specified/);
        // The point of the throwaway namespace: a rule naming a set the file does not create fails, as it would on a host.
        const unknownSet = await applyScript(netns, script.replace(/--match-set KUBEWALL-ADMIN-V4 src/, '--match-set KUBEWALL-NOT-CREATED src'), {}, ['--check']);
        assert.is.not(unknownSet.exitCode, 0);
        assert.match(unknownSet.stderr, /Set KUBEWALL-NOT-CREATED doesn't exist/);
        assert.equal(await liveState(netns, variant), before, '--check changed the namespace it ran in');

        // The inner step by hand, in a namespace that is not a fresh one: refused, nothing created.
        const own = (await inNetns(netns, 'readlink', ['/proc/self/ns/net'])).stdout.trim();
        const byHand = await applyScript(netns, script, {}, ['--check-in-throwaway-netns', own]);
        assert.is(byHand.exitCode, 2, byHand.stderr);
        assert.match(byHand.stderr, /--check-in-throwaway-netns is internal to --check; nothing was changed/);
        await inNetns(netns, 'ip', ['link', 'add', 'kwa', 'type', 'veth', 'peer', 'name', 'kwb']);
        const notFresh = await applyScript(netns, script, {}, ['--check-in-throwaway-netns', 'net:[0]']);
        assert.is(notFresh.exitCode, 2, notFresh.stderr);
        assert.equal(await liveState(netns, variant), before);
      });
    });
  }

  test("the script refuses to run when the host's rules live in the other variant, and changes nothing", async () => {
    const script = (await renderFiles(CASE_NODEPORTS, 'nft')).get('kubewall.sh')!;
    await withNetns('iptmix', async (netns) => {
      await installKubeProxy(netns, 'legacy');
      const before = await liveState(netns, 'legacy');
      const result = await applyScript(netns, script);
      assert.is(result.exitCode, 1);
      assert.match(result.stderr, /this host has iptables-legacy rules but this script targets iptables-nft: render with --iptables-variant legacy/);
      assert.equal(await liveState(netns, 'legacy'), before);
      assert.not.match((await inNetns(netns, 'ipset', ['list', '-n'])).stdout, /KUBEWALL/);
      assert.not.match(await table(netns, 'nft', 'ipv4', 'filter'), /KUBEWALL/);
    });
  });
});

test.run();
