import { suite, test } from 'uvu';
import { describeWithNetns } from '../helpers/netns.js';
import type { ConformanceAdapter } from './adapter.js';
import { firewalldFilesAdapter } from './adapters/firewalld.js';
import { ADAPTERS } from './adapters/index.js';
import { casesFor, ENCAPSULATION_CLUSTER } from './encapsulation.js';
import {
  formatEncapsulationSummary,
  kernelHasGeneve,
  loadEncapsulationContext,
  runEncapsulationCase,
  type EncapsulationContext,
  type EncapsulationReport,
} from './encapsulation-run.js';

/**
 * Conformance with the CNI's encapsulation really running: per backend and
 * per CNI mode, two node namespaces with kubewall's rules for their roles,
 * a tunnel between them, and an outsider whose tunnel traffic must not get
 * through. nftables and iptables run every case; ufw and firewalld one per
 * CNI (`everyBackend`), since their applies take seconds to minutes.
 * firewalld applies its XML files and reloads (the documented file apply):
 * the firewall-cmd script is the main suite's to judge, and its ~30 Python
 * starts per node made a case take over a minute on a loaded machine.
 * KUBEWALL_CONFORMANCE_BACKENDS=nftables,iptables narrows the backends,
 * KUBEWALL_ENCAPSULATION_CNIS=flannel,cilium:geneve+wireguard the cases.
 */

/** Besides each adapter's: the lab (ip, bridge), the probes (socat), conntrack -F between directions. */
const TOOLS = ['ip', 'bridge', 'socat', 'conntrack'] as const;

const wanted = process.env['KUBEWALL_CONFORMANCE_BACKENDS']?.split(',').map((b) => b.trim()).filter(Boolean);
const adapters = ADAPTERS.filter((a) => !wanted || wanted.includes(a.backend)).map((a) => (a.backend === 'firewalld' ? firewalldFilesAdapter : a));
const wantedCnis = process.env['KUBEWALL_ENCAPSULATION_CNIS']?.split(',').map((c) => c.trim()).filter(Boolean);

const contexts = new Map<string, Promise<EncapsulationContext>>();
function contextFor(cni: string): Promise<EncapsulationContext> {
  let context = contexts.get(cni);
  if (!context) {
    context = loadEncapsulationContext(ENCAPSULATION_CLUSTER, cni);
    contexts.set(cni, context);
  }
  return context;
}

let geneve: Promise<boolean> | undefined;
const reports: EncapsulationReport[] = [];

type EncapsulationCase = ReturnType<typeof casesFor>[number];
type CaseRun = Promise<{ report: EncapsulationReport; error: null } | { report: null; error: unknown }>;
const registered: { adapter: ConformanceAdapter; kase: EncapsulationCase; title: string }[] = [];
let runs: Map<string, CaseRun> | undefined;

/**
 * Each backend's cases run one after another in a lane of their own, beside
 * the other backends' lanes: a case is mostly waiting (probes that must not
 * get through), and every case has its own namespaces, so the lanes share
 * nothing (as in conformance.test.ts and the cluster-traffic suite). The
 * lanes start with the file's first test, not at import: uvu imports every
 * test file before it runs any. KUBEWALL_ENCAPSULATION_LANES=1 runs every
 * case one after another.
 */
function startLanes(): Map<string, CaseRun> {
  const oneLane = process.env['KUBEWALL_ENCAPSULATION_LANES'] === '1';
  const tails = new Map<string, Promise<unknown>>();
  const started = new Map<string, CaseRun>();
  for (const { adapter, kase, title } of registered) {
    const lane = oneLane ? 'one' : adapter.backend;
    const run: CaseRun = (tails.get(lane) ?? Promise.resolve())
      .then(async () => {
        geneve ??= kernelHasGeneve();
        return runEncapsulationCase(adapter, await contextFor(kase.cni), kase, { kernelHasGeneve: await geneve });
      })
      .then(
        (report) => ({ report, error: null }),
        (error: unknown) => ({ report: null, error }),
      );
    tails.set(lane, run);
    started.set(title, run);
  }
  return started;
}

function registerBackend(adapter: ConformanceAdapter): void {
  const backendSuite = suite(`encapsulation ${adapter.backend}`);
  for (const kase of casesFor(adapter.backend).filter((c) => !wantedCnis || wantedCnis.includes(c.cni))) {
    const title = `${adapter.backend} --cni ${kase.cni}`;
    registered.push({ adapter, kase, title });
    backendSuite(title, async () => {
      const { report, error } = await (runs ??= startLanes()).get(title)!;
      if (error) throw error;
      reports.push(report!);
      process.stdout.write(`\n${formatEncapsulationSummary(report!)}\n`);
      for (const note of report!.notes) process.stdout.write(`  note: ${note}\n`);
      if (report!.failures.length > 0) throw new Error(`${report!.title}: ${report!.failures.length} probe(s) wrong\n  ${report!.failures.join('\n  ')}`);
    });
  }
  backendSuite.after(() => {
    const mine = reports.filter((r) => r.title.startsWith(`${adapter.backend} `));
    if (mine.length === 0) return;
    const wall = mine.reduce((n, r) => n + r.wallMs, 0);
    const checks = mine.reduce((n, r) => n + r.checks, 0);
    process.stdout.write(
      `\nencapsulation ${adapter.backend}: ${mine.length} cases (${mine.map((r) => r.title.split('--cni ')[1]).join(', ')}), ${checks} probes judged, wall time ${(wall / 1000).toFixed(1)} s\n`,
    );
  });
  backendSuite.run();
}

for (const adapter of adapters) {
  await describeWithNetns(`encapsulation ${adapter.backend}`, [...TOOLS, ...adapter.tools], () => registerBackend(adapter));
}

// describeWithNetns registers its CI failure on the default suite.
test.run();
