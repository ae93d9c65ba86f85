// Regenerates test/fixtures/<backend>/*: real host dumps for the states the
// diff tests need: `nft -j list ruleset` (nftables), `iptables-nft-save;
// ip6tables-nft-save; ipset save` (iptables), `ufw status verbose; cat
// /etc/default/ufw /etc/ufw/user.rules /etc/ufw/user6.rules` (ufw): the
// formats `kubewall diff --from` reads. Each state is built inside a
// throwaway network namespace (never on the host) that is deleted afterwards;
// ufw gets its own /etc/ufw and /etc/default through /etc/netns/<ns>/.
// Run as root after `npx tsc -p .`:  node dist/scripts/capture-fixtures.js [nftables|iptables|ufw|firewalld]...
// (no argument: all; firewalld's cases are in capture-firewalld-fixtures.ts).
import { execa } from 'execa';
import { randomBytes } from 'node:crypto';
import { copyFile, cp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { planFromFiles } from '../src/load-plan.js';
import type { Role } from '../src/model.js';
import { PACKAGE_PATHS } from '../src/paths.js';
import { renderPlan } from '../src/render/render-plan.js';

const OUT = path.join(PACKAGE_PATHS.root, 'test', 'fixtures', 'nftables');

/** One captured state: what kubewall rendered (if anything) and what was done by hand afterwards. */
export interface FixtureCase {
  readonly name: string;
  readonly description: string;
  readonly roles: readonly Role[];
  /** Relative to the repository root. */
  readonly cluster?: string;
  readonly applyKubewall: boolean;
  /** Steps after applying, run in the namespace: [command, ...args] with optional stdin. */
  readonly steps: readonly { readonly run: readonly string[]; readonly input?: string }[];
}

/** kube-proxy's iptables mode, trimmed: nat DNAT chains and its filter jumps (the DROP sits in a non-base chain). */
const KUBE_PROXY_IPTABLES = `*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:KUBE-SERVICES - [0:0]
:KUBE-NODEPORTS - [0:0]
:KUBE-SVC-ECHO - [0:0]
:KUBE-SEP-ECHO - [0:0]
-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS
-A KUBE-NODEPORTS -p tcp -m comment --comment "default/echo" -m tcp --dport 30080 -j KUBE-SVC-ECHO
-A KUBE-SVC-ECHO -m comment --comment "default/echo -> 10.244.1.10:8080" -j KUBE-SEP-ECHO
-A KUBE-SEP-ECHO -p tcp -m tcp -j DNAT --to-destination 10.244.1.10:8080
COMMIT
*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:KUBE-FIREWALL - [0:0]
:KUBE-NODEPORTS - [0:0]
-A INPUT -m comment --comment "kubernetes health check service ports" -j KUBE-NODEPORTS
-A INPUT -j KUBE-FIREWALL
-A KUBE-FIREWALL ! -s 127.0.0.0/8 -d 127.0.0.0/8 -m comment --comment "block incoming localnet connections" -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP
COMMIT
`;

/** kube-proxy's nftables mode, trimmed: its reject sits in a regular chain reached by jump. */
const KUBE_PROXY_NFT = `table ip kube-proxy {
  set cluster-ips {
    type ipv4_addr
    elements = { 10.96.0.1, 10.96.0.10 }
  }
  map no-endpoint-services {
    type ipv4_addr . inet_proto . inet_service : verdict
    elements = { 10.96.0.99 . tcp . 80 : goto reject-chain }
  }
  chain reject-chain {
    reject
  }
  chain service-endpoints-check {
    ip daddr . meta l4proto . th dport vmap @no-endpoint-services
  }
  chain filter-input {
    type filter hook input priority -110; policy accept;
    ct state new jump service-endpoints-check
  }
  chain nat-prerouting {
    type nat hook prerouting priority dstnat; policy accept;
    tcp dport 30080 dnat to 10.244.1.10:8080
  }
}
table inet kw-cni {
  chain forward {
    type filter hook forward priority filter; policy accept;
    ip saddr 10.244.0.0/16 accept
  }
}
`;

/** What a second firewall would leave: a drop policy and a drop rule on the input hook, firewalld's table, ufw's chains. */
const OTHER_MANAGERS_NFT = `table inet other-fw {
  chain input {
    type filter hook input priority 10; policy drop;
    tcp dport 23 drop comment "telnet, { braces } and [brackets] in a comment"
  }
}
table inet firewalld {
  chain filter_INPUT {
    type filter hook input priority filter + 10; policy accept;
    reject with icmpx admin-prohibited
  }
}
`;

export const FIXTURE_CASES: readonly FixtureCase[] = [
  { name: 'empty', description: 'a host with no rules at all', roles: ['worker'], applyKubewall: false, steps: [] },
  { name: 'example-worker-applied', description: 'render applied as is', roles: ['worker'], cluster: 'examples/cluster.yaml', applyKubewall: true, steps: [] },
  {
    name: 'nodeports-applied',
    description: 'render with a before-dnat chain applied as is',
    roles: ['control-plane', 'worker'],
    cluster: 'examples/nodeports-from-load-balancers.yaml',
    applyKubewall: true,
    steps: [],
  },
  {
    name: 'example-worker-drift',
    description: 'applied, then by hand: the ipv4 kubelet rule deleted, 10.10.0.12 deleted from control-plane-v4, 10.10.0.99 added to load-balancers-v4, a tcp dport 8080 counter accept appended',
    roles: ['worker'],
    cluster: 'examples/cluster.yaml',
    applyKubewall: true,
    steps: [
      { run: ['delete-rule', 'input', 'ip saddr @control-plane-v4 tcp dport 10250 accept'] },
      { run: ['nft', 'delete', 'element', 'inet', 'kubewall', 'control-plane-v4', '{ 10.10.0.12 }'] },
      { run: ['nft', 'add', 'element', 'inet', 'kubewall', 'load-balancers-v4', '{ 10.10.0.99 }'] },
      { run: ['nft', 'add', 'rule', 'inet', 'kubewall', 'input', 'tcp', 'dport', '8080', 'counter', 'accept'] },
    ],
  },
  {
    name: 'example-worker-policy-drop',
    description: 'applied, then the input policy set to drop: the ruleset kubewall rendered before its base chains took policy accept (a reload dropped new connections)',
    roles: ['worker'],
    cluster: 'examples/cluster.yaml',
    applyKubewall: true,
    steps: [{ run: ['nft', 'add', 'chain', 'inet', 'kubewall', 'input', '{ policy drop; }'] }],
  },
  {
    name: 'example-worker-no-final-drop',
    description: 'applied, then the explicit final drop deleted by hand: the input chain accepts what no rule accepts',
    roles: ['worker'],
    cluster: 'examples/cluster.yaml',
    applyKubewall: true,
    steps: [{ run: ['delete-rule', 'input', 'drop comment "baseline: explicit final drop'] }],
  },
  {
    name: 'kube-proxy-coexist',
    description: 'applied beside kube-proxy in iptables mode (iptables-nft) and nftables mode, and a CNI table',
    roles: ['worker'],
    cluster: 'examples/cluster.yaml',
    applyKubewall: true,
    steps: [{ run: ['iptables-nft-restore'], input: KUBE_PROXY_IPTABLES }, { run: ['nft', '-f', '-'], input: KUBE_PROXY_NFT }],
  },
  {
    name: 'other-managers',
    description: "applied beside another table dropping on the input hook, firewalld's table and ufw's chains (made by hand, not by firewalld or ufw)",
    roles: ['worker'],
    cluster: 'examples/cluster.yaml',
    applyKubewall: true,
    steps: [
      { run: ['nft', '-f', '-'], input: OTHER_MANAGERS_NFT },
      { run: ['iptables-nft', '-N', 'ufw-before-input'] },
      { run: ['iptables-nft', '-A', 'INPUT', '-j', 'ufw-before-input'] },
    ],
  },
  {
    name: 'ip-protocols-drift',
    description: 'calico:ipip and keepalived applied, then by hand: the ipv6 VRRP rule deleted, an ESP accept appended (nft prints IP protocols by /etc/protocols name: ipencap, vrrp, esp)',
    roles: ['control-plane'],
    cluster: 'test/golden/calico-ipip-keepalived-control-plane/inputs/cluster.yaml',
    applyKubewall: true,
    steps: [
      { run: ['delete-rule', 'input', 'ip6 saddr @control-plane-v6 meta l4proto vrrp accept'] },
      { run: ['nft', 'add', 'rule', 'inet', 'kubewall', 'input', 'meta', 'l4proto', 'esp', 'accept'] },
    ],
  },
];

async function inNetns(netns: string, command: readonly string[], input = '') {
  return execa('ip', ['netns', 'exec', netns, ...command], { input });
}

/** Deletes the one rule of `chain` whose listing contains `text`, by its handle. */
async function deleteRule(netns: string, chain: string, text: string): Promise<void> {
  const listing = (await inNetns(netns, ['nft', '-a', 'list', 'chain', 'inet', 'kubewall', chain])).stdout;
  const line = listing.split('\n').find((l) => l.includes(text));
  const handle = line && /# handle (\d+)/.exec(line)?.[1];
  if (!handle) throw new Error(`no rule "${text}" in chain ${chain}`);
  await inNetns(netns, ['nft', 'delete', 'rule', 'inet', 'kubewall', chain, 'handle', handle]);
}

/** Builds a case's state in a fresh namespace and returns `nft -j list ruleset`. */
export async function captureCase(fixture: FixtureCase): Promise<string> {
  const netns = `kw-capture-${randomBytes(4).toString('hex')}`;
  await execa('ip', ['netns', 'add', netns]);
  try {
    if (fixture.applyKubewall) {
      const plan = await planFromFiles({ roles: fixture.roles, clusterFile: fixture.cluster, cwd: PACKAGE_PATHS.root });
      const [script] = (await renderPlan(plan, 'nftables')).files;
      await inNetns(netns, ['nft', '-f', '-'], script!.content);
    }
    for (const step of fixture.steps) {
      if (step.run[0] === 'delete-rule') await deleteRule(netns, step.run[1]!, step.run[2]!);
      else await inNetns(netns, step.run, step.input);
    }
    return (await inNetns(netns, ['nft', '-j', 'list', 'ruleset'])).stdout;
  } finally {
    await execa('ip', ['netns', 'del', netns], { reject: false });
  }
}

async function captureNftables(): Promise<void> {
  await mkdir(OUT, { recursive: true });
  const index: Record<string, unknown>[] = [];
  for (const fixture of FIXTURE_CASES) {
    const json = await captureCase(fixture);
    await writeFile(path.join(OUT, `${fixture.name}.json`), `${json.trim()}\n`);
    const { steps, ...rest } = fixture;
    index.push({ ...rest, steps: steps.map((s) => s.run.join(' ')) });
    process.stdout.write(`captured ${fixture.name}\n`);
  }
  const version = (await execa('nft', ['--version'])).stdout.trim();
  await writeFile(path.join(OUT, 'cases.json'), `${JSON.stringify({ capturedWith: version, cases: index }, null, 2)}\n`);
}

// --- iptables and ufw: the same cases, applied with their own backend's render ---

/** One captured state of the iptables or ufw backend: steps run in the namespace after applying. */
export interface BackendFixtureCase {
  readonly name: string;
  readonly description: string;
  readonly roles: readonly Role[];
  readonly cluster?: string;
  readonly applyKubewall: boolean;
  /** Run before kubewall's render is applied (kube-proxy's state is there first on a real node). */
  readonly before?: readonly { readonly run: readonly string[]; readonly input?: string }[];
  readonly steps: readonly { readonly run: readonly string[]; readonly input?: string }[];
}

/** The documented `--from` format of the iptables backend, run in the namespace. */
export const IPTABLES_DUMP_COMMAND = 'iptables-nft-save; ip6tables-nft-save; ipset save';
/** The documented `--from` format of the ufw backend, run in the namespace. */
export const UFW_DUMP_COMMAND = 'ufw status verbose; cat /etc/default/ufw /etc/ufw/user.rules /etc/ufw/user6.rules';

const KUBELET_V4 = '-p tcp -m set --match-set KUBEWALL-CONTROL-PLANE-V4 src -m tcp --dport 10250';

export const IPTABLES_FIXTURE_CASES: readonly BackendFixtureCase[] = [
  { name: 'empty', description: 'a host with no rules and no ipsets', roles: ['worker'], applyKubewall: false, steps: [] },
  { name: 'example-worker-applied', description: 'render (iptables-nft) applied as is', roles: ['worker'], cluster: 'examples/cluster.yaml', applyKubewall: true, steps: [] },
  {
    name: 'nodeports-applied',
    description: 'render with a KUBEWALL-BEFORE-DNAT chain that drops restricted NodePorts, applied as is',
    roles: ['control-plane', 'worker'],
    cluster: 'examples/nodeports-from-load-balancers.yaml',
    applyKubewall: true,
    steps: [],
  },
  {
    name: 'example-worker-drift',
    description: 'applied, then by hand: the ipv4 kubelet rule deleted, 10.10.0.12 deleted from KUBEWALL-CONTROL-PLANE-V4, 10.10.0.99 added to KUBEWALL-LOAD-BALANCERS-V4, a tcp 8080 ACCEPT appended',
    roles: ['worker'],
    cluster: 'examples/cluster.yaml',
    applyKubewall: true,
    steps: [
      { run: ['delete-iptables-rule', 'iptables-nft', 'KUBEWALL-INPUT', KUBELET_V4] },
      { run: ['ipset', 'del', 'KUBEWALL-CONTROL-PLANE-V4', '10.10.0.12'] },
      { run: ['ipset', 'add', 'KUBEWALL-LOAD-BALANCERS-V4', '10.10.0.99'] },
      { run: ['iptables-nft', '-A', 'KUBEWALL-INPUT', '-p', 'tcp', '-m', 'tcp', '--dport', '8080', '-j', 'ACCEPT'] },
    ],
  },
  {
    name: 'missing-jump',
    description: 'applied, then the ipv6 INPUT -> KUBEWALL-INPUT jump deleted by hand',
    roles: ['worker'],
    cluster: 'examples/cluster.yaml',
    applyKubewall: true,
    steps: [{ run: ['ip6tables-nft', '-D', 'INPUT', '-j', 'KUBEWALL-INPUT'] }],
  },
  {
    name: 'kube-proxy-coexist',
    description: 'kube-proxy in iptables mode (iptables-nft) first, then the render applied beside it',
    roles: ['worker'],
    cluster: 'examples/cluster.yaml',
    applyKubewall: true,
    before: [{ run: ['iptables-nft-restore'], input: KUBE_PROXY_IPTABLES }],
    steps: [],
  },
  {
    name: 'other-managers',
    description: "applied, then by hand: a DROP ahead of kubewall's jump in INPUT, an ACCEPT ahead of it, a jump to ufw's chain after it, INPUT policy DROP",
    roles: ['worker'],
    cluster: 'examples/cluster.yaml',
    applyKubewall: true,
    steps: [
      { run: ['iptables-nft', '-I', 'INPUT', '1', '-p', 'tcp', '--dport', '23', '-j', 'DROP'] },
      { run: ['iptables-nft', '-I', 'INPUT', '1', '-s', '192.0.2.0/24', '-j', 'ACCEPT'] },
      { run: ['iptables-nft', '-N', 'ufw-before-input'] },
      { run: ['iptables-nft', '-A', 'INPUT', '-j', 'ufw-before-input'] },
      { run: ['iptables-nft', '-P', 'INPUT', 'DROP'] },
    ],
  },
];

const UFW_TAG_10_10_0_99 = 'kubewall kubelet/tcp/control-plane port 10250 from 10.10.0.99';

export const UFW_FIXTURE_CASES: readonly BackendFixtureCase[] = [
  { name: 'fresh', description: "ufw as the package ships it: inactive, no rules", roles: ['worker'], applyKubewall: false, steps: [] },
  { name: 'example-worker-applied', description: 'render applied as is (ufw enabled by the script)', roles: ['worker'], cluster: 'examples/cluster.yaml', applyKubewall: true, steps: [] },
  {
    name: 'example-worker-drift',
    description: 'applied, then by hand: the rule from 10.10.0.12 deleted, the one from 10.10.0.13 changed to 10.10.0.99 (same tag form), an untagged 8080/tcp rule added',
    roles: ['worker'],
    cluster: 'examples/cluster.yaml',
    applyKubewall: true,
    steps: [
      { run: ['ufw', 'delete', 'allow', 'from', '10.10.0.12', 'to', 'any', 'port', '10250', 'proto', 'tcp'] },
      { run: ['ufw', 'delete', 'allow', 'from', '10.10.0.13', 'to', 'any', 'port', '10250', 'proto', 'tcp'] },
      { run: ['ufw', 'allow', 'from', '10.10.0.99', 'to', 'any', 'port', '10250', 'proto', 'tcp', 'comment', UFW_TAG_10_10_0_99] },
      { run: ['ufw', 'allow', '8080/tcp'] },
    ],
  },
  { name: 'disabled', description: 'applied, then ufw disable', roles: ['worker'], cluster: 'examples/cluster.yaml', applyKubewall: true, steps: [{ run: ['ufw', 'disable'] }] },
];

/** Deletes the rule of `chain` whose `-S` line contains `text`, by its number. */
async function deleteIptablesRule(netns: string, tool: string, chain: string, text: string): Promise<void> {
  const lines = (await inNetns(netns, [tool, '-S', chain])).stdout.split('\n');
  // -S prints `-N CHAIN` first, so a rule's line index is its number.
  const index = lines.findIndex((l) => l.includes(text));
  if (index < 1) throw new Error(`no rule "${text}" in ${chain}`);
  await inNetns(netns, [tool, '-D', chain, String(index)]);
}

/**
 * A private /etc/ufw and /etc/default for the namespace (bind-mounted by ip
 * netns exec): Debian's shipped ufw configuration, IPV6=yes and
 * DEFAULT_FORWARD_POLICY="ACCEPT" as the ufw script's header asks.
 */
export async function setUpUfwEtc(netns: string): Promise<string> {
  const etc = `/etc/netns/${netns}`;
  await mkdir(etc, { recursive: true });
  await cp('/etc/ufw', `${etc}/ufw`, { recursive: true, preserveTimestamps: true });
  await cp('/etc/default', `${etc}/default`, { recursive: true, preserveTimestamps: true });
  for (const name of ['before.rules', 'before6.rules', 'after.rules', 'after6.rules', 'user.rules', 'user6.rules']) {
    await copyFile(`/usr/share/ufw/iptables/${name}`, `${etc}/ufw/${name}`);
  }
  await copyFile('/usr/share/ufw/ufw.conf', `${etc}/ufw/ufw.conf`);
  let defaults = await readFile(`${etc}/default/ufw`, 'utf8');
  defaults = defaults.replace(/^IPV6=.*$/m, 'IPV6=yes').replace(/^DEFAULT_FORWARD_POLICY=.*$/m, 'DEFAULT_FORWARD_POLICY="ACCEPT"');
  await writeFile(`${etc}/default/ufw`, defaults);
  return etc;
}

async function runSteps(netns: string, steps: BackendFixtureCase['steps']): Promise<void> {
  for (const step of steps) {
    if (step.run[0] === 'delete-iptables-rule') await deleteIptablesRule(netns, step.run[1]!, step.run[2]!, step.run[3]!);
    else await inNetns(netns, step.run, step.input);
  }
}

/** Builds an iptables or ufw case's state in a fresh namespace and returns the backend's `--from` dump. */
export async function captureBackendCase(backend: 'iptables' | 'ufw', fixture: BackendFixtureCase): Promise<string> {
  const netns = `kw-capture-${randomBytes(4).toString('hex')}`;
  await execa('ip', ['netns', 'add', netns]);
  let etc: string | undefined;
  try {
    await inNetns(netns, ['ip', 'link', 'set', 'lo', 'up']);
    if (backend === 'ufw') etc = await setUpUfwEtc(netns);
    await runSteps(netns, fixture.before ?? []);
    if (fixture.applyKubewall) {
      const plan = await planFromFiles({ roles: fixture.roles, clusterFile: fixture.cluster, cwd: PACKAGE_PATHS.root });
      const [script] = (await renderPlan(plan, backend, { backendOptions: { iptablesVariant: 'nft' } })).files;
      await inNetns(netns, ['sh', '-s'], script!.content);
    }
    await runSteps(netns, fixture.steps);
    return (await inNetns(netns, ['sh', '-c', backend === 'ufw' ? UFW_DUMP_COMMAND : IPTABLES_DUMP_COMMAND])).stdout;
  } finally {
    await execa('ip', ['netns', 'del', netns], { reject: false });
    if (etc) await rm(etc, { recursive: true, force: true });
  }
}

async function captureBackend(backend: 'iptables' | 'ufw', cases: readonly BackendFixtureCase[]): Promise<void> {
  const out = path.join(PACKAGE_PATHS.root, 'test', 'fixtures', backend);
  await mkdir(out, { recursive: true });
  const index: Record<string, unknown>[] = [];
  for (const fixture of cases) {
    const dump = await captureBackendCase(backend, fixture);
    await writeFile(path.join(out, `${fixture.name}.dump`), `${dump.trim()}\n`);
    const { steps, before, ...rest } = fixture;
    index.push({ ...rest, before: (before ?? []).map((s) => s.run.join(' ')), steps: steps.map((s) => s.run.join(' ')) });
    process.stdout.write(`captured ${backend}/${fixture.name}\n`);
  }
  const version = (await execa(backend === 'ufw' ? 'ufw' : 'iptables-nft', ['--version'])).stdout.split('\n')[0]!.trim();
  const dumpedWith = backend === 'ufw' ? UFW_DUMP_COMMAND : IPTABLES_DUMP_COMMAND;
  await writeFile(path.join(out, 'cases.json'), `${JSON.stringify({ capturedWith: version, dumpedWith, cases: index }, null, 2)}\n`);
}

async function main(backends: readonly string[]): Promise<void> {
  const all = backends.length === 0;
  if (all || backends.includes('firewalld')) await (await import('./capture-firewalld-fixtures.js')).captureFirewalldFixtures();
  if (all || backends.includes('nftables')) await captureNftables();
  if (all || backends.includes('iptables')) await captureBackend('iptables', IPTABLES_FIXTURE_CASES);
  if (all || backends.includes('ufw')) await captureBackend('ufw', UFW_FIXTURE_CASES);
}

if (process.argv[1] && import.meta.url.endsWith(path.basename(process.argv[1]))) await main(process.argv.slice(2));
