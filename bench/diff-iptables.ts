// The iptables diff figures, called from bench/bench.ts after the nftables
// ones: whole-process time and peak memory of `kubewall diff --backend
// iptables --from FILE`, as ratios against `node -e 0` measured in the same
// run, at the three kube-proxy sizes of bench/diff.ts (5,000 Services x 10
// endpoints is ~215,000 iptables-save lines). The dumps are real where root
// allows: kube-proxy's iptables-save is loaded with iptables-nft-restore into
// a throwaway namespace, kubewall's render applied beside it, and
// `iptables-nft-save; ip6tables-nft-save; ipset save` captured (the --from
// format; cached in the temp folder). Elsewhere kube-proxy's nat table is put
// in front of the captured fixture, which is the same text.
import { execa } from 'execa';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateKubeProxySave } from './diff.js';
import { median, runNode } from './measure.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const bin = path.join(root, 'bin', 'kubewall.js');
const CACHE = path.join(tmpdir(), 'kubewall-diff-bench');
const RUNS = Number(process.env['KUBEWALL_BENCH_DIFF_RUNS'] ?? 5);
const SIZES = [500, 1500, 5000] as const;
const ENDPOINTS = 10;
const CLUSTER = path.join(root, 'examples', 'cluster.yaml');
const DIFF_ARGS = ['diff', '--backend', 'iptables', '--role', 'worker', '--cluster', CLUSTER, '--format', 'json'];
const DUMP_COMMAND = 'iptables-nft-save; ip6tables-nft-save; ipset save';

async function canCapture(): Promise<string | undefined> {
  if (process.getuid?.() !== 0) return 'not root';
  for (const tool of ['ip', 'ipset', 'iptables-nft-restore', 'iptables-nft-save', 'ip6tables-nft-save']) {
    if ((await execa('sh', ['-c', `command -v ${tool}`], { reject: false })).exitCode !== 0) return `${tool} is not installed`;
  }
  return undefined;
}

/** kube-proxy's state and kubewall's render in a throwaway namespace, dumped in the --from format. */
async function captureDump(save: string): Promise<string> {
  const netns = `kw-diffbench-${randomBytes(4).toString('hex')}`;
  await execa('ip', ['netns', 'add', netns]);
  try {
    await execa('ip', ['netns', 'exec', netns, 'iptables-nft-restore'], { input: save });
    const render = await execa(process.execPath, [bin, 'render', '--backend', 'iptables', '--iptables-variant', 'nft', '--role', 'worker', '--cluster', CLUSTER]);
    await execa('ip', ['netns', 'exec', netns, 'sh', '-s'], { input: render.stdout });
    return (await execa('ip', ['netns', 'exec', netns, 'sh', '-c', DUMP_COMMAND], { maxBuffer: 1 << 30 })).stdout;
  } finally {
    await execa('ip', ['netns', 'del', netns], { reject: false });
  }
}

/** Without root: kube-proxy's nat table in front of the captured applied fixture (iptables-save prints nat first too). */
async function composeDump(save: string): Promise<string> {
  const fixture = await readFile(path.join(root, 'test', 'fixtures', 'iptables', 'example-worker-applied.dump'), 'utf8');
  return `${save.slice(0, save.indexOf('*filter'))}${fixture}`;
}

/** Prints the iptables diff figures; called by bench/bench.ts. */
export async function runIptablesDiffBench(): Promise<void> {
  const out = (line: string) => process.stdout.write(`${line}\n`);
  const missing = await canCapture();
  out('');
  out(`kubewall diff --backend iptables bench: --from FILE (${DUMP_COMMAND}), kube-proxy iptables mode, ${ENDPOINTS} endpoints per Service (${RUNS} runs each, medians)`);
  out(missing ? `  dumps composed from the captured fixture (${missing}: no namespace capture)` : '  dumps captured in a namespace (iptables-nft-restore of kube-proxy, kubewall applied beside it)');
  await mkdir(CACHE, { recursive: true });
  const version = missing ? 'composed' : (await execa('iptables-nft', ['--version'])).stdout.trim().replace(/\W+/g, '-');
  const files: { services: number; lines: number; bytes: number; file: string }[] = [];
  for (const services of SIZES) {
    const file = path.join(CACHE, `iptables-${services}x${ENDPOINTS}-${version}.dump`);
    if (!existsSync(file)) {
      const started = Date.now();
      const save = generateKubeProxySave(services, ENDPOINTS);
      const text = missing ? await composeDump(save) : await captureDump(save);
      await writeFile(`${file}.tmp`, text);
      await rename(`${file}.tmp`, file);
      if (!missing) out(`  captured ${path.basename(file)} in ${((Date.now() - started) / 1000).toFixed(1)} s (cached for later runs)`);
    }
    const text = await readFile(file, 'utf8');
    files.push({ services, lines: text.split('\n').length, bytes: Buffer.byteLength(text), file });
  }
  const baseline: number[] = [];
  const times = files.map(() => [] as number[]);
  for (let run = 0; run < RUNS; run++) {
    baseline.push(runNode(['-e', '0'], false).ms);
    files.forEach((file, i) => {
      const sample = runNode([bin, ...DIFF_ARGS, '--from', file.file], false);
      if (sample.status !== 0) throw new Error(`kubewall diff --backend iptables --from ${file.file} exited ${sample.status} (expected 0: kubewall's chains are in sync)`);
      times[i]!.push(sample.ms);
    });
  }
  const base = median(baseline);
  const baseRss = runNode(['-e', '0'], true).maxRssKb / 1024;
  out(`  baseline node -e 0: ${base.toFixed(0)} ms, ${baseRss.toFixed(0)} MB`);
  out('  Services   dump lines (MB)    time ms (x node -e 0)   peak RSS MB   ms per 10k lines   MB per 10k lines');
  const rows = files.map((file, i) => ({ ...file, ms: median(times[i]!), rss: runNode([bin, ...DIFF_ARGS, '--from', file.file], true).maxRssKb / 1024 }));
  for (const row of rows) {
    const per = (value: number) => (value / (row.lines / 10_000)).toFixed(1);
    out(
      `  ${String(row.services).padStart(8)}  ${String(row.lines).padStart(8)} (${(row.bytes / 1e6).toFixed(1).padStart(4)})   ${row.ms.toFixed(0).padStart(7)} (${(row.ms / base).toFixed(2)}x)   ${row.rss.toFixed(0).padStart(11)}   ${per(row.ms - base).padStart(16)}   ${per(row.rss - baseRss).padStart(16)}`,
    );
  }
  const [small, middle, large] = rows as [(typeof rows)[0], (typeof rows)[0], (typeof rows)[0]];
  const growth = (f: (r: (typeof rows)[0]) => number) => rows.map((r) => f(r).toFixed(0)).join(' → ');
  out(`  linearity (lines x${(middle.lines / small.lines).toFixed(1)}, x${(large.lines / small.lines).toFixed(1)}): time above baseline ${growth((r) => r.ms - base)} ms, memory above baseline ${growth((r) => r.rss - baseRss)} MB`);
  const met = large.ms <= 500 && large.rss <= 250;
  out(`  at ${large.lines} lines: ${large.ms.toFixed(0)} ms (${(large.ms / base).toFixed(2)}x node -e 0), ${large.rss.toFixed(0)} MB (targets: <= 500 ms, <= 250 MB) ${met ? 'met' : 'NOT met on this machine'}`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) await runIptablesDiffBench();
