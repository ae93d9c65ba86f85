import { execa } from 'execa';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { generateKubeProxySave } from '../../bench/diff.js';
import { planFromFiles } from '../../src/load-plan.js';
import { renderPlan } from '../../src/render/render-plan.js';
import { describeWithNetns, inNetns, withNetns } from '../helpers/netns.js';
import { BIN, REPO_ROOT } from '../helpers/paths.js';

// Live, on a busy node: a namespace holding kube-proxy's iptables-mode rules
// for 5,000 Services x 10 endpoints (~215,000 lines, loaded with
// iptables-nft-restore) beside kubewall's rules. A whole-ruleset dump takes
// tens of seconds there (nft -j list ruleset ~40 s, iptables-nft-save ~18 s),
// so the diff must succeed within its default timeout by reading only
// kubewall's own table or chains and the base chains that could shadow
// them. The assertions are on the commands run, through logging wrappers
// first on PATH; the time goes in `npm run bench`.

const SERVICES = 5000;
const ENDPOINTS = 10;
const TOOLS = ['nft', 'iptables', 'iptables-nft', 'ip6tables-nft', 'iptables-nft-save', 'ip6tables-nft-save', 'iptables-legacy', 'ip6tables-legacy', 'iptables-legacy-save', 'ip6tables-legacy-save', 'ipset', 'cat', 'firewall-cmd', 'ufw'];

/** A folder of wrappers that log each command line to `log` and run the real tool. */
async function loggingTools(dir: string, log: string): Promise<void> {
  for (const tool of TOOLS) {
    const found = await execa('sh', ['-c', `command -v ${tool}`], { reject: false });
    if (found.exitCode !== 0) continue;
    await writeFile(path.join(dir, tool), `#!/bin/sh\nprintf '%s\\n' "${tool} $*" >> '${log}'\nexec '${found.stdout.trim()}' "$@"\n`);
    await chmod(path.join(dir, tool), 0o755);
  }
}

async function diffLogged(netns: string, args: readonly string[]): Promise<{ exitCode: number | undefined; stdout: string; stderr: string; commands: string[] }> {
  const dir = await mkdtemp(path.join(tmpdir(), 'kw-busy-tools-'));
  try {
    const log = path.join(dir, 'commands.log');
    await writeFile(log, '');
    await loggingTools(dir, log);
    const env: Record<string, string> = {};
    for (const [key, value] of Object.entries(process.env)) if (value !== undefined && key !== 'FORCE_COLOR') env[key] = value;
    // No --timeout: the default must do.
    const result = await execa('ip', ['netns', 'exec', netns, process.execPath, BIN, 'diff', ...args], {
      cwd: REPO_ROOT,
      reject: false,
      env: { ...env, NO_COLOR: '1', PATH: `${dir}:${env['PATH'] ?? ''}` },
      extendEnv: false,
    });
    const commands = (await readFile(log, 'utf8')).split('\n').filter(Boolean);
    return { exitCode: result.exitCode, stdout: String(result.stdout), stderr: String(result.stderr), commands };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** A command that would read kube-proxy's rules: its nat table, or a dump of everything. */
function readsKubeProxy(command: string): boolean {
  return /list ruleset|list tables|list table ip nat|-t nat|^ip6?tables-(nft|legacy)-save$|chain ip nat /.test(command);
}

const KUBE_PROXY = generateKubeProxySave(SERVICES, ENDPOINTS);

async function render(backend: 'nftables' | 'iptables'): Promise<string> {
  const plan = await planFromFiles({ roles: ['worker'], clusterFile: 'examples/cluster.yaml', cwd: REPO_ROOT });
  return (await renderPlan(plan, backend, { backendOptions: { iptablesVariant: 'nft' } })).files[0]!.content;
}

await describeWithNetns('kubewall diff on a busy node (kube-proxy, 5,000 Services x 10 endpoints)', ['nft', 'iptables-nft-restore', 'iptables-nft', 'ipset'], () => {
  test('the busy namespace really holds kube-proxy\'s rules (the test would prove nothing on an empty one)', async () => {
    assert.ok(KUBE_PROXY.split('\n').length > 200_000, 'the generated dump is ~215,000 lines');
    await withNetns('diff-busy-check', async (netns) => {
      await inNetns(netns, 'iptables-nft-restore', [], { input: KUBE_PROXY });
      const chain = (await inNetns(netns, 'iptables-nft', ['-t', 'nat', '-S', 'KUBE-SVC-XXXXXXXXXXXXXXXX'])).stdout;
      assert.match(chain, /-A KUBE-SVC-XXXXXXXXXXXXXXXX .* -j KUBE-SEP-/);
    });
  });

  test('nftables: the live diff succeeds with the default timeout, in sync, and never lists kube-proxy\'s tables', async () => {
    await withNetns('diff-busy-nft', async (netns) => {
      await inNetns(netns, 'iptables-nft-restore', [], { input: KUBE_PROXY });
      await inNetns(netns, 'nft', ['-f', '-'], { input: await render('nftables') });
      // A shadowing drop in another table's base chain must still be found.
      await inNetns(netns, 'iptables-nft', ['-t', 'filter', '-I', 'INPUT', '-p', 'tcp', '--dport', '10250', '-j', 'DROP']);
      const result = await diffLogged(netns, ['--backend', 'nftables', '--role', 'worker', '--cluster', 'examples/cluster.yaml', '--format', 'json']);
      assert.is(result.exitCode, 0, `${result.stderr}\n${result.commands.join('\n')}`);
      const report = JSON.parse(result.stdout) as { summary: Record<string, number>; warnings: { code: string; message: string }[] };
      assert.ok(report.warnings.some((w) => w.code === 'shadowing-drop' && /table ip filter chain INPUT/.test(w.message)), JSON.stringify(report.warnings));
      assert.ok(result.commands.includes('nft -j list table inet kubewall'), result.commands.join('\n'));
      assert.ok(result.commands.includes('nft -j list chain ip filter INPUT'), result.commands.join('\n'));
      for (const command of result.commands) assert.not.ok(readsKubeProxy(command), `ran ${command}`);
    });
  });

  test('iptables: the live diff succeeds with the default timeout, in sync, and never reads the nat table', async () => {
    await withNetns('diff-busy-ipt', async (netns) => {
      await inNetns(netns, 'iptables-nft-restore', [], { input: KUBE_PROXY });
      await inNetns(netns, 'sh', ['-s'], { input: await render('iptables') });
      const result = await diffLogged(netns, ['--backend', 'iptables', '--iptables-variant', 'nft', '--role', 'worker', '--cluster', 'examples/cluster.yaml', '--format', 'json']);
      assert.is(result.exitCode, 0, `${result.stderr}\n${result.commands.join('\n')}`);
      assert.ok(result.commands.includes('iptables-nft -t filter -S KUBEWALL-INPUT'), result.commands.join('\n'));
      for (const command of result.commands) assert.not.ok(readsKubeProxy(command), `ran ${command}`);
    });
  });
});

test.run();
