// Fleet rendering (issue 7): `render --inventory` for 5,000 hosts in one
// process, whole-process time and peak memory as ratios to `node -e 0`
// measured in the same run. Plugged into `npm run bench` by bench/bench.ts.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));
const bin = path.join(root, 'bin', 'kubewall.js');
const RUNS = Number(process.env['KUBEWALL_BENCH_FLEET_RUNS'] ?? 5);
const HOSTS = 5000;
const MAXRSS_HOOK = `data:text/javascript,import{writeSync}from'node:fs';process.on('exit',()=>writeSync(2,'\\nKUBEWALL_MAXRSS_KB='+process.resourceUsage().maxRSS+'\\n'))`;

/** A kubespray-style INI inventory: 3 control-plane nodes (also etcd), the rest workers, dual-stack. */
export function generateInventory(hosts: number): string {
  const lines = ['[kube_control_plane]'];
  for (let i = 0; i < 3; i++) lines.push(`cp-${i} ip=10.0.0.${i + 1} ip6=fd00::${i + 1}`);
  lines.push('[etcd:children]', 'kube_control_plane', '[kube_node]');
  for (let i = 0; i < hosts - 3; i++) {
    const hi = (i >> 8) & 255;
    const lo = i & 255;
    lines.push(`node-${i} ip=10.1.${hi}.${lo} ip6=fd00:1:${hi.toString(16)}:${lo.toString(16)}::10`);
  }
  return `${lines.join('\n')}\n`;
}

function runOnce(args: readonly string[]): { ms: number; rssMb: number } {
  const started = process.hrtime.bigint();
  const result = spawnSync(process.execPath, ['--import', MAXRSS_HOOK, ...args], { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  if (result.status !== 0) throw new Error(`node ${args.join(' ')} exited ${result.status}: ${result.stderr}`);
  const rss = /KUBEWALL_MAXRSS_KB=(\d+)/.exec(result.stderr);
  return { ms, rssMb: rss ? Number(rss[1]) / 1024 : NaN };
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[values.length >> 1]!;

export async function runFleetBench(): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), 'kubewall-bench-fleet-'));
  try {
    const inventory = path.join(dir, 'hosts.ini');
    const peers = path.join(dir, 'peers.yaml');
    writeFileSync(inventory, generateInventory(HOSTS));
    writeFileSync(peers, 'loadBalancers: [10.255.0.5]\nadminNetworks: [10.254.0.0/24]\npodCIDRs: [10.244.0.0/16]\n');
    // A fresh output folder each run: deleting 5,000 files just before writing as many
    // costs the file system more than the writes themselves (discards), so all go at the end.
    const subjects: Record<string, string[]> = {
      files: [bin, 'render', '-b', 'nftables', '-i', inventory, '-c', peers, '--out-dir'],
      ansible: [bin, 'render', '-b', 'nftables', '-i', inventory, '-c', peers, '--format', 'ansible', '--out-dir'],
      script: [bin, 'render', '-b', 'iptables', '--iptables-variant', 'nft', '-i', inventory, '-c', peers, '--format', 'script', '--out-dir'],
    };
    const samples: Record<string, { ms: number; rssMb: number }[]> = { baseline: [] };
    for (const name of Object.keys(subjects)) samples[name] = [];
    for (let i = 0; i < RUNS; i++) {
      samples['baseline']!.push(runOnce(['-e', '0']));
      for (const [name, args] of Object.entries(subjects)) samples[name]!.push(runOnce([...args, path.join(dir, `out-${name}-${i}`)]));
    }
    const ms = (name: string) => median(samples[name]!.map((s) => s.ms));
    const rss = (name: string) => median(samples[name]!.map((s) => s.rssMb));
    const base = ms('baseline');
    const baseRss = rss('baseline');
    const out2 = (line: string) => process.stdout.write(`${line}\n`);
    out2(`\nkubewall fleet bench: render --inventory, ${HOSTS} hosts (3 control-plane+etcd, ${HOSTS - 3} workers, dual-stack), ${RUNS} runs each, medians, interleaved`);
    out2(`  baseline  node -e 0                                  ${base.toFixed(1)} ms, ${baseRss.toFixed(0)} MB peak RSS`);
    for (const [name, label] of [
      ['files', 'nftables, one kubewall.nft per host (--out-dir)'],
      ['ansible', 'nftables --format ansible (role + files/<host>/)'],
      ['script', 'iptables --format script (one script per host)'],
    ] as const) {
      out2(`  ${label.padEnd(52)} ${(ms(name) / base).toFixed(2)}x time (${ms(name).toFixed(0)} ms), ${(rss(name) / baseRss).toFixed(2)}x peak memory (${rss(name).toFixed(0)} MB)`);
    }
    out2('  (2 distinct plans rendered once each; every host gets its own file, written atomically)');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
