import { execa, type ResultPromise } from 'execa';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { describeWithNetns, inNetns, withNetns } from '../helpers/netns.js';
import { runCli } from '../helpers/run-cli.js';

/**
 * Real daemons behind kubewall's rules (issue 12, "Proof"): the IPv6
 * link-local baseline must let through what keepalived and a DHCPv6 client
 * need, and each case must fail on the rules as they were before that
 * baseline (the one link-local line removed from the rendered ruleset).
 *
 * - keepalived, VRRPv3 over IPv6: two control-plane nodes on one veth LAN,
 *   each with kubewall's rules applied, each running keepalived with an
 *   IPv6-only vrrp_instance (priorities 110 and 120). VRRPv3 over IPv6 sends
 *   its adverts from the link-local address to ff02::12 (RFC 5798 5.1.2.1),
 *   so the control-plane-v6 set (global addresses) never matches them: only
 *   the baseline rule lets them in. Exactly one node must hold the VIP
 *   (MASTER); without the rule both do (split brain).
 * - dhclient -6 against dnsmasq: a server namespace runs dnsmasq as DHCPv6
 *   server, the node (kubewall's rules applied) runs dhclient -6. The
 *   Advertise and Reply come from the server's link-local address, unicast
 *   to the client's port 546: no conntrack entry matches them (the Solicit
 *   went to ff02::1:2), so only the baseline rule lets them in. The node
 *   must get a lease; without the rule it must not, although dnsmasq answered.
 *
 * Nothing touches the host: namespaces are created and deleted by the
 * helpers, every daemon's configuration, pid, lease and log file is in a
 * temporary folder, dhclient runs a do-nothing script (-sf) instead of
 * dhclient-script (which would rewrite /etc/resolv.conf), dnsmasq and
 * keepalived read no configuration but ours, and every daemon is killed in
 * a finally.
 */

interface Backend {
  readonly backend: 'nftables' | 'iptables';
  readonly tools: readonly string[];
  readonly renderArgs: readonly string[];
  readonly file: string;
  apply(netns: string, file: string): Promise<unknown>;
}

const BACKENDS: readonly Backend[] = [
  { backend: 'nftables', tools: ['nft'], renderArgs: [], file: 'kubewall.nft', apply: (netns, file) => inNetns(netns, 'nft', ['-f', file]) },
  {
    backend: 'iptables',
    tools: ['sh', 'ipset', 'iptables-nft-restore', 'ip6tables-nft-restore', 'iptables-nft', 'ip6tables-nft'],
    renderArgs: ['--iptables-variant', 'nft'],
    file: 'kubewall.sh',
    apply: (netns, file) => inNetns(netns, 'sh', [file]),
  },
];
const wanted = process.env['KUBEWALL_CONFORMANCE_BACKENDS']?.split(',').map((b) => b.trim()).filter(Boolean);
const backends = BACKENDS.filter((b) => !wanted || wanted.includes(b.backend));

const NODES = [
  { name: 'cp-1', v4: '10.77.0.11', v6: 'fd00:77::11', priority: 110 },
  { name: 'cp-2', v4: '10.77.0.12', v6: 'fd00:77::12', priority: 120 },
] as const;
const VIP = 'fd00:77::100';
const DHCP_SERVER = 'fd00:78::1';
const DHCP_PREFIX = 'fd00:78::';

const CLUSTER = `name: daemons
nodes:
${NODES.map((n) => `  - name: ${n.name}\n    addresses: [${n.v4}, ${n.v6}]\n    roles: [control-plane]`).join('\n')}
adminNetworks: [10.99.0.0/24, fd00:99::/64]
podCIDRs: [10.244.0.0/16, fd00:244::/56]
serviceCIDRs: [10.96.0.0/12, fd00:96::/108]
profiles:
  cni: none
  addons: [keepalived]
`;

/** The baseline lines each self-test removes: the rules as they were before the link-local baseline. */
const VRRP_RULE = /baseline: VRRPv3 adverts from link-local/;
const DHCPV6_RULE = /baseline: DHCPv6 replies from link-local/;

function withoutLines(text: string, select: RegExp): string {
  const lines = text.split('\n');
  const kept = lines.filter((l) => !select.test(l));
  if (kept.length === lines.length) throw new Error(`self-test: ${String(select)} matched no line of the rendered ruleset`);
  return kept.join('\n');
}

async function withTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(path.join(tmpdir(), 'kubewall-daemons-'));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** `kubewall render` for the control-plane role of the cluster file, as a user runs it. */
async function render(backend: Backend, dir: string): Promise<string> {
  const clusterFile = path.join(dir, 'cluster.yaml');
  await writeFile(clusterFile, CLUSTER);
  const result = await runCli(['render', '--backend', backend.backend, '--role', 'control-plane', '--cluster', clusterFile, ...backend.renderArgs]);
  if (result.exitCode !== 0) throw new Error(`kubewall render --backend ${backend.backend} failed (${result.exitCode}): ${result.stderr}`);
  return `${result.stdout}\n`;
}

/** One namespace end of a veth pair named eth0 in both, created from inside `a` (never in the host's namespace). */
async function linkPair(a: string, b: string): Promise<void> {
  await inNetns(a, 'ip', ['link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', b]);
  for (const ns of [a, b]) {
    // No duplicate address detection: addresses (link-local ones too) are usable at once.
    await inNetns(ns, 'sysctl', ['-qw', 'net.ipv6.conf.all.accept_dad=0', 'net.ipv6.conf.default.accept_dad=0', 'net.ipv6.conf.eth0.accept_dad=0']);
    await inNetns(ns, 'ip', ['link', 'set', 'eth0', 'up']);
  }
}

/** A daemon started in a namespace; `stop` kills it (and the children its pid files name) and returns its output. */
interface Daemon {
  stop(): Promise<string>;
}

function startDaemon(netns: string, command: string, args: readonly string[], pidFiles: readonly string[] = []): Daemon {
  // `ip netns exec` execs the command: the child's pid is the daemon's.
  const child: ResultPromise = execa('ip', ['netns', 'exec', netns, command, ...args], { reject: false, stdin: 'ignore', all: true });
  return {
    async stop() {
      child.kill('SIGTERM');
      const done = await Promise.race([child.then((r) => r), sleep(3000).then(() => null)]);
      if (done === null) child.kill('SIGKILL');
      const result = await child;
      for (const file of pidFiles) {
        const pid = Number((await readFile(file, 'utf8').catch(() => '')).trim());
        if (pid > 0) {
          try {
            process.kill(pid, 'SIGKILL');
          } catch {
            /* already gone */
          }
        }
      }
      return String(result.all ?? '');
    },
  };
}

function keepalivedConf(node: (typeof NODES)[number]): string {
  return `global_defs {
  router_id ${node.name}
  vrrp_version 3
}
vrrp_instance VI_6 {
  state BACKUP
  interface eth0
  native_ipv6
  virtual_router_id 61
  priority ${node.priority}
  advert_int 0.5
  virtual_ipaddress {
    ${VIP}/64
  }
}
`;
}

/** Whether the namespace holds the VIP: keepalived adds it on MASTER and removes it on leaving MASTER. */
async function holdsVip(netns: string): Promise<boolean> {
  const { stdout } = await inNetns(netns, 'ip', ['-6', '-o', 'addr', 'show', 'dev', 'eth0']);
  return stdout.includes(`inet6 ${VIP}/`);
}

interface VrrpOutcome {
  readonly masters: readonly string[];
  readonly samples: readonly string[];
  readonly logs: string;
}

/**
 * Two nodes with `rules` applied, keepalived on each; samples who holds the VIP
 * until the same set of MASTERs is seen over SETTLE_MS, at least MIN_MS after start.
 */
const MIN_MS = 3000;
const SETTLE_MS = 2000;
const DEADLINE_MS = 15000;

/** What each self-test does to the rendered ruleset; the real cases keep it as rendered. */
type Mutation = (rules: string) => string;
const asRendered: Mutation = (rules) => rules;

async function runVrrp(backend: Backend, mutate: Mutation): Promise<VrrpOutcome> {
  let logs = '';
  const outcome = await withTempDir((dir) =>
    withNetns('ka', (a) =>
      withNetns('ka', async (b) => {
        const namespaces = [a, b];
        await linkPair(a, b);
        const rulesFile = path.join(dir, backend.file);
        await writeFile(rulesFile, mutate(await render(backend, dir)));
        const daemons: Daemon[] = [];
        try {
          for (const [i, node] of NODES.entries()) {
            const ns = namespaces[i]!;
            await inNetns(ns, 'ip', ['addr', 'add', `${node.v4}/24`, 'dev', 'eth0']);
            await inNetns(ns, 'ip', ['addr', 'add', `${node.v6}/64`, 'dev', 'eth0', 'nodad']);
            await backend.apply(ns, rulesFile);
          }
          for (const [i, node] of NODES.entries()) {
            const conf = path.join(dir, `${node.name}.conf`);
            await writeFile(conf, keepalivedConf(node));
            const pid = (what: string) => path.join(dir, `${node.name}-${what}.pid`);
            // -n: no fork, -l: log to the console, -P: VRRP only; every pid file in the temp dir.
            daemons.push(
              startDaemon(namespaces[i]!, 'keepalived', ['-n', '-l', '-P', '-f', conf, '-p', pid('main'), '-r', pid('vrrp'), '-c', pid('checkers')], [pid('vrrp')]),
            );
          }
          const started = Date.now();
          const samples: string[] = [];
          let stableSince = 0;
          let last = '';
          let masters: string[] = [];
          while (Date.now() - started < DEADLINE_MS) {
            await sleep(250);
            masters = [];
            for (const [i, node] of NODES.entries()) if (await holdsVip(namespaces[i]!)) masters.push(node.name);
            const key = masters.join(',');
            if (key !== last) {
              samples.push(`${Date.now() - started} ms: MASTER ${key || '(none)'}`);
              last = key;
              stableSince = Date.now();
            }
            if (Date.now() - started >= MIN_MS && Date.now() - stableSince >= SETTLE_MS) break;
          }
          return { masters, samples };
        } finally {
          for (const [i, daemon] of daemons.entries()) logs += `--- keepalived ${NODES[i]!.name}\n${await daemon.stop()}\n`;
        }
      }),
    ),
  );
  return { ...outcome, logs };
}

interface DhcpOutcome {
  readonly lease: string | null;
  readonly waitedMs: number;
  readonly serverLog: string;
  readonly clientLog: string;
}

async function runDhcp(backend: Backend, mutate: Mutation, timeoutMs: number): Promise<DhcpOutcome> {
  return withTempDir((dir) =>
    withNetns('dhcp-srv', (server) =>
      withNetns('dhcp-node', async (node) => {
        await linkPair(server, node);
        await inNetns(server, 'ip', ['addr', 'add', `${DHCP_SERVER}/64`, 'dev', 'eth0', 'nodad']);
        await inNetns(node, 'ip', ['addr', 'add', `${NODES[0].v4}/24`, 'dev', 'eth0']);
        await inNetns(node, 'ip', ['addr', 'add', `${NODES[0].v6}/64`, 'dev', 'eth0', 'nodad']);
        const rulesFile = path.join(dir, backend.file);
        await writeFile(rulesFile, mutate(await render(backend, dir)));
        await backend.apply(node, rulesFile);

        const script = path.join(dir, 'dhclient-script');
        await writeFile(script, '#!/bin/sh\n# Stands in for dhclient-script: configures nothing, writes nothing.\nexit 0\n');
        await chmod(script, 0o755);
        await writeFile(path.join(dir, 'dhclient.conf'), '');
        const leaseFile = path.join(dir, 'dhclient6.leases');
        const serverLogFile = path.join(dir, 'dnsmasq.log');
        const daemons: Daemon[] = [];
        try {
          daemons.push(
            startDaemon(
              server,
              'dnsmasq',
              [
                '--keep-in-foreground',
                '--conf-file=/dev/null',
                '--no-resolv',
                '--no-hosts',
                '--port=0',
                `--pid-file=${path.join(dir, 'dnsmasq.pid')}`,
                `--dhcp-leasefile=${path.join(dir, 'dnsmasq.leases')}`,
                '--interface=eth0',
                '--bind-interfaces',
                `--dhcp-range=${DHCP_PREFIX}100,${DHCP_PREFIX}1ff,64,5m`,
                '--log-dhcp',
                `--log-facility=${serverLogFile}`,
                '--user=root',
                '--group=root',
              ],
            ),
          );
          // dnsmasq is ready once it logs its DHCPv6 range.
          const ready = Date.now();
          while (!(await readFile(serverLogFile, 'utf8').catch(() => '')).includes('DHCPv6') && Date.now() - ready < 5000) await sleep(100);

          // -d: foreground (stopped below), -1: try once; -sf/-lf/-pf/-cf: everything in the temp dir.
          daemons.push(
            startDaemon(node, 'dhclient', ['-6', '-d', '-1', '-v', '-sf', script, '-lf', leaseFile, '-pf', path.join(dir, 'dhclient.pid'), '-cf', path.join(dir, 'dhclient.conf'), 'eth0']),
          );
          const started = Date.now();
          let lease: string | null = null;
          while (Date.now() - started < timeoutMs) {
            await sleep(200);
            const text = await readFile(leaseFile, 'utf8').catch(() => '');
            const match = new RegExp(`iaaddr (${DHCP_PREFIX.replace(/[.:]/g, '\\$&')}[0-9a-f]+)`).exec(text);
            if (match) {
              lease = match[1]!;
              break;
            }
          }
          const waitedMs = Date.now() - started;
          const clientLog = await daemons[1]!.stop();
          return { lease, waitedMs, clientLog, serverLog: await readFile(serverLogFile, 'utf8').catch(() => '') };
        } finally {
          for (const daemon of daemons) await daemon.stop();
        }
      }),
    ),
  );
}

const DHCP_TIMEOUT_MS = 10000;
/** Without the rule: long enough for the Solicit to be retransmitted and answered several times. */
const DHCP_SELF_TEST_MS = 7000;

for (const backend of backends) {
  await describeWithNetns(`daemons ${backend.backend}: keepalived VRRPv3 over IPv6 and dhclient -6 behind kubewall's rules`, ['ip', 'sysctl', 'keepalived', 'dnsmasq', 'dhclient', ...backend.tools], () => {
    test(`daemons ${backend.backend}: keepalived VRRPv3 over IPv6 on two control-plane nodes elects exactly one MASTER (the higher priority)`, async () => {
      const t0 = Date.now();
      const outcome = await runVrrp(backend, asRendered);
      const summary = `${outcome.samples.join('; ')} (${Date.now() - t0} ms)`;
      process.stdout.write(`\ndaemons ${backend.backend} keepalived: ${summary}\n`);
      assert.equal(outcome.masters, ['cp-2'], `expected exactly one MASTER, cp-2 (priority 120): ${summary}\n${outcome.logs}`);
    });

    test(`daemons ${backend.backend} self-test: without the VRRP link-local rule both nodes become MASTER (split brain)`, async () => {
      const t0 = Date.now();
      const outcome = await runVrrp(backend, (rules) => withoutLines(rules, VRRP_RULE));
      const summary = `${outcome.samples.join('; ')} (${Date.now() - t0} ms)`;
      process.stdout.write(`\ndaemons ${backend.backend} keepalived self-test (VRRP rule removed): ${summary}\n`);
      assert.equal(outcome.masters, ['cp-1', 'cp-2'], `the case must catch the missing rule: ${summary}\n${outcome.logs}`);
    });

    test(`daemons ${backend.backend}: dhclient -6 behind the node's rules gets a lease from dnsmasq`, async () => {
      const outcome = await runDhcp(backend, asRendered, DHCP_TIMEOUT_MS);
      process.stdout.write(`\ndaemons ${backend.backend} dhclient -6: lease ${outcome.lease ?? '(none)'} after ${outcome.waitedMs} ms\n`);
      assert.ok(outcome.lease !== null, `no lease within ${DHCP_TIMEOUT_MS} ms\n--- dhclient\n${outcome.clientLog}\n--- dnsmasq\n${outcome.serverLog}`);
    });

    test(`daemons ${backend.backend} self-test: without the DHCPv6 link-local rule dhclient -6 gets no lease, although dnsmasq answers`, async () => {
      const outcome = await runDhcp(backend, (rules) => withoutLines(rules, DHCPV6_RULE), DHCP_SELF_TEST_MS);
      const advertised = (outcome.serverLog.match(/DHCPADVERTISE/g) ?? []).length;
      process.stdout.write(`\ndaemons ${backend.backend} dhclient -6 self-test (DHCPv6 rule removed): lease ${outcome.lease ?? '(none)'} after ${outcome.waitedMs} ms; dnsmasq advertised ${advertised} times\n`);
      assert.is(outcome.lease, null, `the case must catch the missing rule\n--- dhclient\n${outcome.clientLog}`);
      assert.ok(advertised > 0, `dnsmasq never answered: the self-test proves nothing\n--- dnsmasq\n${outcome.serverLog}`);
    });
  });
}

test.run();
