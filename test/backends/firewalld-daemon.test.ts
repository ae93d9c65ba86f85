import { execa } from 'execa';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { FIREWALLD_TEST_CONF, withFirewalld, type FirewalldDaemon } from '../helpers/firewalld.js';
import { listGoldenCases, renderGoldenCase } from '../helpers/golden.js';
import { describeWithNetns, inNetns, withNetns } from '../helpers/netns.js';

/** What kube-proxy (iptables mode) and a CNI leave in a node: kubewall's reloads must not touch it. */
const KUBE_PROXY_NAT = `*nat
:PREROUTING ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:KUBE-SERVICES - [0:0]
:KUBE-NODEPORTS - [0:0]
-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-A OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-A KUBE-SERVICES -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS
-A KUBE-NODEPORTS -p tcp -m tcp --dport 30080 -j DNAT --to-destination 10.244.1.10:8080
COMMIT
`;
const CNI_TABLE = 'table inet kw-cni-like {\n chain forward { type filter hook forward priority filter; ip saddr 10.244.0.0/16 accept; }\n}\n';

interface RenderedCase {
  readonly script: string;
  /** Paths under /etc/firewalld → content. */
  readonly xml: Map<string, string>;
  readonly ipsets: string[];
}

async function renderCase(name: string): Promise<RenderedCase> {
  const goldenCase = (await listGoldenCases()).find((c) => c.name === name);
  assert.ok(goldenCase, `no golden case ${name}`);
  const outputs = await renderGoldenCase(goldenCase!);
  const xml = new Map(
    [...outputs].filter(([file]) => file.startsWith('firewalld/') && file.endsWith('.xml')).map(([file, c]) => [file.slice('firewalld/'.length), c]),
  );
  const ipsets = [...xml.keys()].filter((f) => f.startsWith('ipsets/')).map((f) => path.basename(f, '.xml')).sort();
  return { script: outputs.get('firewalld/kubewall.sh')!, xml, ipsets };
}

async function kubeProxyNat(netns: string): Promise<string> {
  const save = (await inNetns(netns, 'iptables-nft-save', ['-t', 'nat'])).stdout;
  return save.split('\n').filter((line) => !line.startsWith('#')).join('\n').replace(/\[\d+:\d+\]/g, '');
}

async function cniTable(netns: string): Promise<string> {
  return (await inNetns(netns, 'nft', ['-s', 'list', 'table', 'inet', 'kw-cni-like'])).stdout;
}

/** The script's own test: firewalld 2.0 skips the iptables flush when no direct rules exist; older ones do not. */
async function firewalldFlushesIptables(daemon: FirewalldDaemon): Promise<boolean> {
  const check = 'import sys; from firewall.core.fw import Firewall; sys.exit(0 if hasattr(Firewall, "may_skip_flush_direct_backends") else 1)';
  const shebang = (await daemon.exec('sh', ['-c', `sed -n '1s/^#![[:space:]]*//p' "$(command -v firewall-cmd)"`])).stdout.trim().split(/\s+/);
  const result = await daemon.exec(shebang[0]!, [...shebang.slice(1), '-c', check], { reject: false });
  return result.exitCode !== 0;
}

/**
 * The live firewall, normalized: runtime zone and ipsets as firewall-cmd
 * reports them, and firewalld's nftables table. Lines are sorted because
 * firewalld keeps rich rules in no particular order.
 */
async function snapshot(daemon: FirewalldDaemon, permanent = false): Promise<string> {
  const fw = async (...args: string[]) => (await daemon.exec('firewall-cmd', [...(permanent ? ['--permanent'] : []), ...args])).stdout;
  const ipsets = (await fw('--get-ipsets')).split(/\s+/).filter((n) => n.startsWith('kubewall-')).sort();
  const parts = [`ipsets: ${ipsets.join(' ')}`, await fw('--info-zone=kubewall')];
  for (const ipset of ipsets) parts.push(await fw(`--info-ipset=${ipset}`));
  if (!permanent) parts.push((await daemon.exec('nft', ['-s', 'list', 'table', 'inet', 'firewalld'])).stdout);
  return parts.join('\n').split('\n').map((l) => l.trim()).filter((l) => l !== '').sort().join('\n');
}

async function runScript(daemon: FirewalldDaemon, script: string, reject = true) {
  return daemon.exec('sh', ['-c', script], { reject, timeoutMs: 180_000 });
}

/** The XML layout's documented apply: remove kubewall's ipset files, copy the files, reload. */
async function installXml(daemon: FirewalldDaemon, rendered: RenderedCase): Promise<void> {
  await daemon.exec('sh', ['-c', 'rm -f /etc/firewalld/ipsets/kubewall-*.xml']);
  for (const [name, content] of rendered.xml) await daemon.exec('sh', ['-c', `mkdir -p "$(dirname /etc/firewalld/${name})" && cat > /etc/firewalld/${name}`], { input: content });
  await daemon.exec('firewall-cmd', ['--reload']);
}

async function hostTables(): Promise<string> {
  return (await execa('nft', ['list', 'tables'], { reject: false })).stdout;
}

await describeWithNetns('firewalld output on a real firewalld daemon in a network namespace', ['firewalld', 'firewall-cmd', 'dbus-daemon', 'nft', 'iptables-nft-restore', 'iptables-nft-save'], () => {
  test('the XML files and the script load the same firewall; the script is idempotent; other nftables tables stay', async () => {
    const hostBefore = await hostTables();
    await withNetns('fwd', async (netns) => {
      await withFirewalld(netns, async (daemon) => {
        await inNetns(netns, 'nft', ['-f', '-'], { input: CNI_TABLE });
        const cniBefore = await cniTable(netns);
        for (const name of ['nodeports-control-plane-worker', 'fragment-hostile-input']) {
          const rendered = await renderCase(name);
          await installXml(daemon, rendered);
          const fromXml = await snapshot(daemon);
          const permanentFromXml = await snapshot(daemon, true);
          assert.match(fromXml, /sources: 0\.0\.0\.0\/0 ::\/0/, `${name}: zone kubewall holds the catch-all sources`);
          assert.match(fromXml, /target: DROP/);
          assert.match(fromXml, /ip saddr @kubewall-admin-v4 tcp dport 22 accept/, `${name}: SSH from admin networks is live`);
          assert.ok(fromXml.includes(`ipsets: ${rendered.ipsets.join(' ')}`), `${name}: ipsets are the rendered ones`);
          assert.match((await daemon.exec('firewall-cmd', ['--get-active-zones'])).stdout, /^kubewall\n\s+sources: 0\.0\.0\.0\/0 ::\/0$/m);

          await runScript(daemon, rendered.script);
          const once = await snapshot(daemon);
          assert.fixture(once, fromXml, `${name}: the script and the XML files give different firewalls`);
          assert.fixture(await snapshot(daemon, true), permanentFromXml, `${name}: the script and the XML files give different permanent configurations`);
          await runScript(daemon, rendered.script);
          assert.fixture(await snapshot(daemon), once, `${name}: running the script twice changed the firewall`);
          assert.fixture(await cniTable(netns), cniBefore, `${name}: the CNI's nftables table changed`);
        }
      });
    });
    assert.is(await hostTables(), hostBefore, 'the host nftables tables changed');
  });

  test("kube-proxy's iptables rules: kept by a firewalld that does not flush them, else the script refuses unless allowed", async () => {
    await withNetns('fwd', async (netns) => {
      await withFirewalld(netns, async (daemon) => {
        const rendered = await renderCase('example-worker');
        // kube-proxy restores its rules after firewalld starts (firewalld < 2.0 flushes them at start too).
        await inNetns(netns, 'iptables-nft-restore', ['--noflush'], { input: KUBE_PROXY_NAT });
        const natBefore = await kubeProxyNat(netns);
        assert.match(natBefore, /KUBE-NODEPORTS -p tcp -m tcp --dport 30080 -j DNAT/);
        const permanentBefore = (await daemon.exec('firewall-cmd', ['--permanent', '--get-zones'])).stdout;
        if (!(await firewalldFlushesIptables(daemon))) {
          await runScript(daemon, rendered.script);
          assert.fixture(await kubeProxyNat(netns), natBefore, "a firewalld that keeps iptables lost kube-proxy's rules");
          return;
        }
        const refused = await runScript(daemon, rendered.script, false);
        assert.is(refused.exitCode, 1, `expected a refusal:\n${refused.stderr}`);
        assert.match(refused.stderr, /flushes every iptables table when it reloads/);
        assert.fixture(await kubeProxyNat(netns), natBefore, "the refused script lost kube-proxy's rules");
        assert.is((await daemon.exec('firewall-cmd', ['--permanent', '--get-zones'])).stdout, permanentBefore, 'the refused script changed the permanent configuration');

        const allowed = await daemon.exec('sh', ['-c', rendered.script], { env: { KUBEWALL_ALLOW_IPTABLES_FLUSH: 'yes' }, timeoutMs: 180_000 });
        assert.match(allowed.stderr, /warning: the reload at the end flushes every iptables table/);
        assert.match(await snapshot(daemon), /ip saddr @kubewall-admin-v4 tcp dport 22 accept/);
        // What the header documents for firewalld < 2.0: the reload flushed kube-proxy's chains.
        assert.not.match(await kubeProxyNat(netns), /KUBE-NODEPORTS/);
      });
    });
  });

  test('the script replaces, never merges: a plan with fewer peer classes removes stale kubewall ipsets and rules', async () => {
    await withNetns('fwd', async (netns) => {
      await withFirewalld(netns, async (daemon) => {
        const bigger = await renderCase('fragment-hostile-input');
        const smaller = await renderCase('default-etcd');
        await runScript(daemon, bigger.script);
        assert.match(await snapshot(daemon), /kubewall-nodes-v4/);
        await runScript(daemon, smaller.script);
        const after = await snapshot(daemon);
        assert.ok(after.includes(`ipsets: ${smaller.ipsets.join(' ')}`), `stale ipsets left:\n${after.split('\n')[0]}`);
        assert.not.match(after, /9100/, 'a rule of the earlier plan survived');
        const permanent = (await daemon.exec('firewall-cmd', ['--permanent', '--get-ipsets'])).stdout.split(/\s+/).filter((n) => n.startsWith('kubewall-'));
        assert.equal(permanent.sort(), smaller.ipsets);
      });
    });
  });

  test('a rule firewall-cmd refuses inside a batch (it only warns and exits 0): the script counts, stops before the reload, the running firewall stays', async () => {
    await withNetns('fwd', async (netns) => {
      await withFirewalld(netns, async (daemon) => {
        const rendered = await renderCase('example-worker');
        await runScript(daemon, rendered.script);
        const running = await snapshot(daemon);
        const ssh = `--add-rich-rule='rule family="ipv4" source ipset="kubewall-admin-v4" port port="22" protocol="tcp" accept'`;
        assert.ok(rendered.script.includes(ssh), 'the SSH rule to break is in the script');
        // Parsed by firewall-cmd itself: with other items in the call it warns, skips that one and exits 0.
        // (A rule naming a missing ipset is accepted into the permanent configuration and fails the reload,
        // which leaves firewalld in state "failed": kubewall's script creates every ipset its rules name.)
        const what = 'a port out of range';
        const result = await runScript(daemon, rendered.script.replace(ssh, ssh.replace('port="22"', 'port="70000"')), false);
        assert.is(result.exitCode, 1, `${what}:\n${result.stderr}`);
        assert.match(
          result.stderr,
          /INVALID_PORT: 70000[\s\S]*kubewall: zone kubewall holds (\d+) of the (\d+) rich rules given/,
          `${what}: firewall-cmd's own message is shown, not hidden by -q:\n${result.stderr}`,
        );
        const [, have, given] = /holds (\d+) of the (\d+)/.exec(result.stderr)!;
        assert.is(Number(have), Number(given) - 1, what);
        assert.fixture(await snapshot(daemon), running, `${what}: the failed script reloaded firewalld`);
        // Running the good script again starts over.
        await runScript(daemon, rendered.script);
        assert.fixture(await snapshot(daemon), running);
      });
    });
  });

  test('the script refuses FirewallBackend=iptables (a reload would flush kube-proxy) and changes nothing', async () => {
    await withNetns('fwd', async (netns) => {
      await withFirewalld(netns, async (daemon) => {
        const rendered = await renderCase('example-worker');
        await runScript(daemon, rendered.script);
        const before = await snapshot(daemon, true);
        await writeFile(path.join(daemon.configDir, 'firewalld.conf'), FIREWALLD_TEST_CONF.replace('FirewallBackend=nftables', 'FirewallBackend=iptables'));
        const refused = await runScript(daemon, (await renderCase('default-etcd')).script, false);
        assert.is(refused.exitCode, 1);
        assert.match(refused.stderr, /FirewallBackend=iptables/);
        assert.fixture(await snapshot(daemon, true), before, 'the refused script changed the permanent configuration');
      });
    });
  });
});

await describeWithNetns('firewalld script without a running firewalld', ['firewall-cmd'], () => {
  test('stops with a message before changing anything when firewalld is not running', async () => {
    const rendered = await renderCase('example-worker');
    const dir = await mkdtemp(path.join(tmpdir(), 'kw-nobus-'));
    try {
      await withNetns('fwnone', async (netns) => {
        const result = await execa('ip', ['netns', 'exec', netns, 'sh', '-c', rendered.script], {
          env: { DBUS_SYSTEM_BUS_ADDRESS: `unix:path=${dir}/no-bus` },
          reject: false,
        });
        assert.is(result.exitCode, 1);
        assert.match(result.stderr, /kubewall: firewalld is not running/);
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

test.run();
