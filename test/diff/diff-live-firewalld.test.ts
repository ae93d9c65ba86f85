import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { FIREWALLD_SAVE_RUNTIME, FIREWALLD_SAVE_XML } from '../../src/backends/firewalld/host-read.js';
import { planFromFiles } from '../../src/load-plan.js';
import { runCli } from '../helpers/run-cli.js';
import { renderPlan } from '../../src/render/render-plan.js';
import { withFirewalld, type FirewalldDaemon } from '../helpers/firewalld.js';
import { describeWithNetns, inNetns, withNetns } from '../helpers/netns.js';
import { BIN, REPO_ROOT } from '../helpers/paths.js';

// Live: a real firewalld in a throwaway namespace on a private D-Bus, and the
// real CLI run inside that namespace with that bus, so `kubewall diff` reads
// the namespace's firewalld and never the host's.

const CLUSTER = `${REPO_ROOT}examples/cluster.yaml`;
const WORKER = ['--backend', 'firewalld', '--role', 'worker', '--cluster', CLUSTER];

const KUBE_PROXY_NAT = `*nat
:PREROUTING ACCEPT [0:0]
:KUBE-SERVICES - [0:0]
:KUBE-NODEPORTS - [0:0]
-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-A KUBE-SERVICES -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS
-A KUBE-NODEPORTS -p tcp -m tcp --dport 30080 -j DNAT --to-destination 10.244.1.10:8080
COMMIT
`;
const CNI_TABLE = 'table inet kw-cni-like {\n chain forward { type filter hook forward priority filter; ip saddr 10.244.0.0/16 accept; }\n}\n';

interface DiffJson {
  inSync: boolean;
  rules: { add: { family: string; text: string }[]; remove: { family: string; text: string }[]; unchanged: number };
  sets: { add: unknown[]; remove: unknown[]; elements: { set: string; add: string[]; remove: string[] }[] };
  chains: { change: unknown[] };
  warnings: { code: string; message: string }[];
}

async function diff(daemon: FirewalldDaemon, format: 'text' | 'json' = 'json', args: readonly string[] = WORKER) {
  const result = await daemon.exec(process.execPath, [BIN, 'diff', ...args, '--format', format, '--timeout', '60'], { reject: false, env: { NO_COLOR: '1' }, timeoutMs: 300_000 });
  return { ...result, json: format === 'json' && result.exitCode !== 1 ? (JSON.parse(result.stdout) as DiffJson) : undefined };
}

const summary = (json: DiffJson) => ({
  add: json.rules.add.map((r) => `${r.family} ${r.text}`),
  remove: json.rules.remove.map((r) => `${r.family} ${r.text}`),
  elements: json.sets.elements.map((e) => `${e.set} +${e.add.join(',')} -${e.remove.join(',')}`),
  sets: json.sets.add.length + json.sets.remove.length,
  chains: json.chains.change.length,
});

await describeWithNetns('kubewall diff against a live firewalld in a namespace', ['firewalld', 'firewall-cmd', 'dbus-daemon', 'nft', 'iptables-nft-restore'], () => {
  test("render → apply → in sync (exit 0); kube-proxy's rules are not kubewall's; a rich rule and an ipset entry removed by hand → exactly those (exit 2); a runtime-only change → warned", async () => {
    const plan = await planFromFiles({ roles: ['worker'], clusterFile: CLUSTER });
    const [script] = (await renderPlan(plan, 'firewalld')).files;
    await withNetns('diff-fwd', async (netns) => {
      await withFirewalld(netns, async (daemon) => {
        const before = await diff(daemon);
        assert.is(before.exitCode, 2, before.stderr);
        assert.is(before.json!.sets.add.length, 8);

        await daemon.exec('sh', ['-c', script!.content], { timeoutMs: 300_000 });
        const applied = await diff(daemon, 'text');
        assert.is(applied.exitCode, 0, `${applied.stdout}\n${applied.stderr}`);
        assert.match(applied.stdout, /In sync: applying would change nothing in firewalld zone kubewall and ipsets kubewall-\*/);
        assert.match(applied.stdout, /Unchanged: 16 rules, 20 set elements\./, applied.stdout);
        assert.not.match(applied.stdout, /Warnings/);

        // The two documented one-liners give dumps that --from reads as in sync too (off the machine, no firewalld).
        const scratch = await mkdtemp(path.join(tmpdir(), 'kw-fwd-dump-'));
        try {
          for (const [name, line] of [['runtime', FIREWALLD_SAVE_RUNTIME], ['xml', FIREWALLD_SAVE_XML]] as const) {
            const file = path.join(scratch, `${name}.firewalld`);
            await writeFile(file, (await daemon.exec('sh', ['-c', line])).stdout);
            const saved = await runCli(['diff', ...WORKER, '--from', file]);
            assert.is(saved.exitCode, 0, `${name}: ${saved.stdout}\n${saved.stderr}`);
            assert.match(saved.stdout, /Unchanged: 16 rules, 20 set elements\./, name);
          }
        } finally {
          await rm(scratch, { recursive: true, force: true });
        }

        // kube-proxy (iptables mode, iptables-nft) and a CNI's nftables table beside it.
        await inNetns(netns, 'iptables-nft-restore', [], { input: KUBE_PROXY_NAT });
        await inNetns(netns, 'nft', ['-f', '-'], { input: CNI_TABLE });
        const coexist = await diff(daemon);
        assert.is(coexist.exitCode, 0, coexist.stdout);
        assert.equal(coexist.json!.warnings.map((w) => w.code), ['firewalld-flushes-iptables']);
        assert.match(coexist.json!.warnings[0]!.message, /iptables-save shows 3 rules/);
        await inNetns(netns, 'iptables-nft', ['-t', 'nat', '-F']);

        await daemon.exec('firewall-cmd', ['--permanent', '--zone=kubewall', '--remove-rich-rule=rule family="ipv6" source ipset="kubewall-admin-v6" port port="22" protocol="tcp" accept']);
        await daemon.exec('firewall-cmd', ['--permanent', '--ipset=kubewall-control-plane-v4', '--remove-entry=10.10.0.12']);
        await daemon.exec('firewall-cmd', ['--reload']);
        const drifted = await diff(daemon);
        assert.is(drifted.exitCode, 2, drifted.stdout);
        assert.equal(summary(drifted.json!), {
          add: ['ipv6 tcp dport 22 saddr @kubewall-admin-v6 accept'],
          remove: [],
          elements: ['kubewall-control-plane-v4 +10.10.0.12 -'],
          sets: 0,
          chains: 0,
        });
        assert.equal(drifted.json!.warnings, []);

        await daemon.exec('sh', ['-c', script!.content], { timeoutMs: 300_000 });
        await daemon.exec('firewall-cmd', ['--zone=kubewall', '--add-port=8080/tcp']);
        const runtimeOnly = await diff(daemon);
        assert.is(runtimeOnly.exitCode, 2, runtimeOnly.stdout);
        assert.equal(summary(runtimeOnly.json!).remove, ['ipv4 tcp dport 8080 accept', 'ipv6 tcp dport 8080 accept']);
        assert.equal(runtimeOnly.json!.warnings.map((w) => w.code), ['firewalld-permanent-differs']);
        assert.match(runtimeOnly.json!.warnings[0]!.message, /only in runtime: ipv4 tcp dport 8080 accept; ipv6 tcp dport 8080 accept$/);

        // IP-protocol rich rules (protocol value="4", "50", "112", one without a family) read back in sync,
        // live (runtime and permanent) and from the XML one-liner's dump.
        for (const name of ['calico-ipip-keepalived-control-plane', 'cilium-ipsec-keepalived-control-plane']) {
          const cluster = `${REPO_ROOT}test/golden/${name}/inputs/cluster.yaml`;
          const args = ['--backend', 'firewalld', '--role', 'control-plane', '--cluster', cluster];
          const [ipScript] = (await renderPlan(await planFromFiles({ roles: ['control-plane'], clusterFile: cluster }), 'firewalld')).files;
          await daemon.exec('sh', ['-c', ipScript!.content], { timeoutMs: 300_000 });
          const ipProtocols = await diff(daemon, 'json', args);
          assert.is(ipProtocols.exitCode, 0, `${name}: ${ipProtocols.stdout}\n${ipProtocols.stderr}`);
          assert.equal(ipProtocols.json!.warnings, [], name);
          const scratch = await mkdtemp(path.join(tmpdir(), 'kw-fwd-dump-'));
          try {
            const file = path.join(scratch, 'xml.firewalld');
            await writeFile(file, (await daemon.exec('sh', ['-c', FIREWALLD_SAVE_XML])).stdout);
            const saved = await runCli(['diff', ...args, '--from', file]);
            assert.is(saved.exitCode, 0, `${name} (xml): ${saved.stdout}\n${saved.stderr}`);
          } finally {
            await rm(scratch, { recursive: true, force: true });
          }
        }
      });
    });
  });

  test('no firewalld on the bus: one line, exit 1, and the way to diff the permanent files instead', async () => {
    await withNetns('diff-fwd-down', async (netns) => {
      const result = await inNetns(netns, 'env', [`DBUS_SYSTEM_BUS_ADDRESS=unix:path=/nonexistent/kw-bus-${process.pid}`, 'NO_COLOR=1', process.execPath, BIN, 'diff', ...WORKER], { reject: false });
      assert.is(result.exitCode, 1, result.stdout);
      assert.is(result.stdout, '');
      assert.match(result.stderr, /firewall-cmd --list-all-zones: firewalld is not running \(.*\), so nothing in zone kubewall is enforced; start firewalld, or diff its permanent configuration: tail -v -n \+1 /);
      assert.not.match(result.stderr, /\n.*\n.*\n/, 'one line, no stack trace');
    });
  });
});

test.run();
