// Regenerates test/fixtures/nftables/*.json: real `nft -j list ruleset`
// output for the states the diff tests need. Each state is built inside a
// throwaway network namespace (never on the host) that is deleted afterwards.
// Run as root after `npx tsc -p .`:  node dist/scripts/capture-fixtures.js [BACKEND...]
// (no BACKEND: all; firewalld's cases are in capture-firewalld-fixtures.ts).
import { execa } from 'execa';
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
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
    name: 'example-worker-policy-accept',
    description: 'applied, then the input policy set to accept by hand',
    roles: ['worker'],
    cluster: 'examples/cluster.yaml',
    applyKubewall: true,
    steps: [{ run: ['nft', 'add', 'chain', 'inet', 'kubewall', 'input', '{ policy accept; }'] }],
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

async function main(): Promise<void> {
  const backends = process.argv.slice(2);
  if (backends.length === 0 || backends.includes('firewalld')) await (await import('./capture-firewalld-fixtures.js')).captureFirewalldFixtures();
  if (backends.length > 0 && !backends.includes('nftables')) return;
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

if (process.argv[1] && import.meta.url.endsWith(path.basename(process.argv[1]))) await main();
