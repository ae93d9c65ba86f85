// The firewalld diff figures, called from bench/bench.ts after the nftables
// ones: whole-process time and peak memory of `kubewall diff --backend
// firewalld --from FILE`, as ratios against `node -e 0` measured in the same
// run. kube-proxy's rules are outside firewalld's zones, so what grows on a
// firewalld host is an ipset: the dumps are the captured fixture
// (test/fixtures/firewalld/example-worker-applied*) with 1,000 to 35,000
// extra entries in kubewall-load-balancers-v4 (firewalld #1462 broke at 35k),
// in both --from forms: firewall-cmd output and the XML files.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { median, runNode } from './measure.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const bin = path.join(root, 'bin', 'kubewall.js');
const FIXTURES = path.join(root, 'test', 'fixtures', 'firewalld');
const RUNS = Number(process.env['KUBEWALL_BENCH_DIFF_RUNS'] ?? 5);
const EXTRA = [0, 1_000, 10_000, 35_000] as const;
const SET = 'kubewall-load-balancers-v4';
const DIFF_ARGS = ['diff', '--backend', 'firewalld', '--role', 'worker', '--cluster', path.join(root, 'examples', 'cluster.yaml'), '--format', 'json'];

function extraEntries(count: number): string[] {
  return Array.from({ length: count }, (_, i) => `10.200.${i >> 8}.${i & 255}`);
}

/** The firewall-cmd dump with `count` more entries in SET, runtime and permanent alike. */
function growRuntimeDump(text: string, count: number): string {
  const extra = extraEntries(count).join(' ');
  return text.replace(new RegExp(`(==> firewall-cmd (?:--permanent )?--info-ipset=${SET} <==\\n[^]*?  entries: [^\\n]*)`, 'g'), (section) => (count === 0 ? section : `${section} ${extra}`));
}

/** The XML dump with `count` more `<entry>` lines in SET's file. */
function growXmlDump(text: string, count: number): string {
  const extra = extraEntries(count).map((e) => `  <entry>${e}</entry>\n`).join('');
  return text.replace(new RegExp(`(==> [^\\n]*ipsets/${SET}\\.xml <==\\n[^]*?)(</ipset>)`), (_m, head: string, close: string) => `${head}${extra}${close}`);
}

export async function runFirewalldDiffBench(): Promise<void> {
  const out = (line: string) => process.stdout.write(`${line}\n`);
  out('');
  out(`kubewall diff bench, firewalld: --from FILE, ${SET} grown by N entries (${RUNS} runs each, medians)`);
  const runtime = await readFile(path.join(FIXTURES, 'example-worker-applied.txt'), 'utf8');
  const xml = await readFile(path.join(FIXTURES, 'example-worker-applied.xml.txt'), 'utf8');
  const dir = await mkdtemp(path.join(tmpdir(), 'kw-bench-fwd-'));
  try {
    const cases: { label: string; extra: number; file: string; bytes: number }[] = [];
    for (const extra of EXTRA) {
      for (const [form, text] of [['firewall-cmd', growRuntimeDump(runtime, extra)], ['XML', growXmlDump(xml, extra)]] as const) {
        const file = path.join(dir, `${form}-${extra}.txt`);
        await writeFile(file, text);
        cases.push({ label: form, extra, file, bytes: text.length });
      }
    }
    const base: number[] = [];
    const times = cases.map(() => [] as number[]);
    for (let run = 0; run < RUNS; run++) {
      base.push(runNode(['-e', '0'], false).ms);
      cases.forEach((c, i) => {
        const sample = runNode([bin, ...DIFF_ARGS, '--from', c.file], false);
        const expected = c.extra === 0 ? 0 : 2;
        if (sample.status !== expected) throw new Error(`kubewall diff --from ${c.file} exited ${sample.status} (expected ${expected})`);
        times[i]!.push(sample.ms);
      });
    }
    const baseline = median(base);
    out(`  baseline node -e 0: ${baseline.toFixed(0)} ms, ${(runNode(['-e', '0'], true).maxRssKb / 1024).toFixed(0)} MB`);
    out('  form           extra entries   dump KB   time ms (x node -e 0)   peak RSS MB');
    cases.forEach((c, i) => {
      const ms = median(times[i]!);
      const rss = runNode([bin, ...DIFF_ARGS, '--from', c.file], true).maxRssKb / 1024;
      out(`  ${c.label.padEnd(13)}  ${String(c.extra).padStart(13)}   ${(c.bytes / 1024).toFixed(0).padStart(7)}   ${ms.toFixed(0).padStart(7)} (${(ms / baseline).toFixed(2)}x)   ${rss.toFixed(0).padStart(11)}`);
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) await runFirewalldDiffBench();
