// Regenerates test/fixtures/firewalld/: for each state the diff tests need,
// a real firewalld runs inside a throwaway network namespace on a private
// D-Bus (test/helpers/firewalld.ts), kubewall's script is applied, the
// changes are made by hand with firewall-cmd, and two dumps are saved in the
// `--from` format: NAME.txt (what `kubewall diff` gathers live: firewall-cmd
// runtime and --permanent output) and NAME.xml.txt (the permanent XML files
// as `tail -v -n +1` prints them). Never on the host.
// Run as root after `npx tsc -p .`:  node dist/scripts/capture-fixtures.js firewalld
import { execa } from 'execa';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { firewalldHostReader, FIREWALLD_SAVE_XML, formatFirewalldDump } from '../src/backends/firewalld/host-read.js';
import type { CommandRunner } from '../src/host/types.js';
import { planFromFiles } from '../src/load-plan.js';
import type { Role } from '../src/model.js';
import { PACKAGE_PATHS } from '../src/paths.js';
import { renderPlan } from '../src/render/render-plan.js';
import { withFirewalld, type FirewalldDaemon } from '../test/helpers/firewalld.js';
import { uniqueNetnsName } from '../test/helpers/netns.js';

const OUT = path.join(PACKAGE_PATHS.root, 'test', 'fixtures', 'firewalld');

export interface FirewalldFixtureCase {
  readonly name: string;
  readonly description: string;
  readonly roles: readonly Role[];
  /** Relative to the repository root. */
  readonly cluster?: string;
  readonly applyKubewall: boolean;
  /** Run in the namespace after applying, with the private bus: [command, ...args] and optional stdin. */
  readonly steps: readonly { readonly run: readonly string[]; readonly input?: string }[];
}

/** kube-proxy's iptables mode, trimmed: what firewalld before 2.0 flushes on reload. */
const KUBE_PROXY_IPTABLES = `*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:KUBE-SERVICES - [0:0]
:KUBE-NODEPORTS - [0:0]
-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-A KUBE-SERVICES -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS
-A KUBE-NODEPORTS -p tcp -m tcp --dport 30080 -j DNAT --to-destination 10.244.1.10:8080
COMMIT
`;
const CNI_TABLE = 'table inet kw-cni-like {\n chain forward { type filter hook forward priority filter; ip saddr 10.244.0.0/16 accept; }\n}\n';

const fw = (...args: string[]) => ({ run: ['firewall-cmd', ...args] });
const EXAMPLE = { roles: ['worker'] as const, cluster: 'examples/cluster.yaml' };

export const FIREWALLD_FIXTURE_CASES: readonly FirewalldFixtureCase[] = [
  { name: 'empty', description: 'firewalld with its default zones, kubewall not applied', ...EXAMPLE, applyKubewall: false, steps: [] },
  { name: 'example-worker-applied', description: "kubewall's script applied as is", ...EXAMPLE, applyKubewall: true, steps: [] },
  {
    name: 'example-worker-drift',
    description:
      'applied, then by hand (--permanent, then --reload): the ipv4 kubelet rich rule removed, 10.10.0.12 removed from kubewall-control-plane-v4, 10.10.0.99 added to kubewall-load-balancers-v4, port 8080/tcp and a reject rich rule added',
    ...EXAMPLE,
    applyKubewall: true,
    steps: [
      fw('--permanent', '--zone=kubewall', '--remove-rich-rule=rule family="ipv4" source ipset="kubewall-control-plane-v4" port port="10250" protocol="tcp" accept'),
      fw('--permanent', '--ipset=kubewall-control-plane-v4', '--remove-entry=10.10.0.12'),
      fw('--permanent', '--ipset=kubewall-load-balancers-v4', '--add-entry=10.10.0.99'),
      fw('--permanent', '--zone=kubewall', '--add-port=8080/tcp'),
      fw('--permanent', '--zone=kubewall', '--add-rich-rule=rule family="ipv4" source address="192.0.2.0/24" service name="ssh" log prefix="kw" level="info" reject'),
      fw('--reload'),
    ],
  },
  {
    name: 'runtime-only-changes',
    description: 'applied, then runtime-only changes (no --permanent): service http added to zone kubewall, 192.0.2.1 added to kubewall-admin-v4',
    ...EXAMPLE,
    applyKubewall: true,
    steps: [fw('--zone=kubewall', '--add-service=http'), fw('--ipset=kubewall-admin-v4', '--add-entry=192.0.2.1')],
  },
  {
    name: 'other-zones',
    description: 'applied, then sources bound to zone home (checked before kubewall by name) and trusted (after), --permanent and reloaded',
    ...EXAMPLE,
    applyKubewall: true,
    steps: [fw('--permanent', '--zone=home', '--add-source=192.168.0.0/16'), fw('--permanent', '--zone=trusted', '--add-source=198.51.100.0/24'), fw('--reload')],
  },
  {
    name: 'kube-proxy-coexist',
    description: "applied, then kube-proxy's iptables-mode nat rules (iptables-nft) and a CNI's nftables table added",
    ...EXAMPLE,
    applyKubewall: true,
    steps: [{ run: ['iptables-nft-restore'], input: KUBE_PROXY_IPTABLES }, { run: ['nft', '-f', '-'], input: CNI_TABLE }],
  },
];

/** The reader's own gather, over the daemon's namespace and private bus. */
function daemonRunner(daemon: FirewalldDaemon): CommandRunner {
  return {
    async run(command, args) {
      const result = await daemon.exec(command, args, { reject: false, timeoutMs: 60_000 });
      return { status: 'exited', exitCode: result.exitCode, stdout: `${result.stdout}\n`, stderr: result.stderr };
    },
  };
}

export async function captureFirewalldCase(fixture: FirewalldFixtureCase): Promise<{ live: string; xml: string }> {
  const netns = uniqueNetnsName('capture');
  await execa('ip', ['netns', 'add', netns]);
  try {
    await execa('ip', ['netns', 'exec', netns, 'ip', 'link', 'set', 'lo', 'up']);
    return await withFirewalld(netns, async (daemon) => {
      if (fixture.applyKubewall) {
        const plan = await planFromFiles({ roles: fixture.roles, clusterFile: fixture.cluster, cwd: PACKAGE_PATHS.root });
        const [script] = (await renderPlan(plan, 'firewalld')).files;
        await daemon.exec('sh', ['-c', script!.content], { timeoutMs: 300_000 });
      }
      for (const step of fixture.steps) await daemon.exec(step.run[0]!, step.run.slice(1), { input: step.input ?? '' });
      const live = formatFirewalldDump(await firewalldHostReader.gather(daemonRunner(daemon)));
      const xml = (await daemon.exec('sh', ['-c', FIREWALLD_SAVE_XML], { reject: false })).stdout;
      return { live, xml: `${xml.trimEnd()}\n` };
    });
  } finally {
    await execa('ip', ['netns', 'del', netns], { reject: false });
  }
}

export async function captureFirewalldFixtures(): Promise<void> {
  await mkdir(OUT, { recursive: true });
  const index: Record<string, unknown>[] = [];
  for (const fixture of FIREWALLD_FIXTURE_CASES) {
    const { live, xml } = await captureFirewalldCase(fixture);
    await writeFile(path.join(OUT, `${fixture.name}.txt`), live);
    await writeFile(path.join(OUT, `${fixture.name}.xml.txt`), xml);
    const { steps, ...rest } = fixture;
    index.push({ ...rest, steps: steps.map((s) => s.run.join(' ')) });
    process.stdout.write(`captured firewalld ${fixture.name}\n`);
  }
  const version = (await execa('firewall-offline-cmd', ['--version'], { reject: false })).stdout.trim();
  await writeFile(path.join(OUT, 'cases.json'), `${JSON.stringify({ capturedWith: `firewalld ${version}`, cases: index }, null, 2)}\n`);
}
