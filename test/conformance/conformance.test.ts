import fg from 'fast-glob';
import { suite, test } from 'uvu';
import type { Role } from '../../src/index.js';
import { describeWithNetns } from '../helpers/netns.js';
import { EXAMPLES_DIR } from '../helpers/paths.js';
import type { ConformanceAdapter } from './adapter.js';
import { ADAPTERS } from './adapters/index.js';
import {
  formatCaseSummary,
  HARNESS_TOOLS,
  loadClusterContext,
  rolesKey,
  ROLE_SETS,
  runConformanceCase,
  type CaseReport,
  type ClusterContext,
} from './harness.js';

/**
 * The conformance suite: every backend adapter × every cluster (the embedded
 * default and each examples/*.yaml) × every role set, on a real kernel in
 * network namespaces. KUBEWALL_CONFORMANCE_BACKENDS=nftables,iptables narrows
 * the backends.
 */

const wanted = process.env['KUBEWALL_CONFORMANCE_BACKENDS']?.split(',').map((b) => b.trim()).filter(Boolean);
const adapters = ADAPTERS.filter((a) => !wanted || wanted.includes(a.backend));

const clusterFiles: (string | null)[] = [
  null,
  ...(await fg('*.yaml', { cwd: EXAMPLES_DIR })).sort().map((name) => `examples/${name}`),
];

const contexts = new Map<string | null, Promise<ClusterContext>>();
function clusterContext(file: string | null): Promise<ClusterContext> {
  let context = contexts.get(file);
  if (!context) {
    context = loadClusterContext(file);
    contexts.set(file, context);
  }
  return context;
}

const reports: CaseReport[] = [];

function formatFailure(report: CaseReport): string {
  return [
    `${report.title}: ${report.failures.length} assertion(s) failed`,
    ...report.failures.map((f) => `[${f.assertion}] ${f.message}`),
    ...report.notes.map((n) => `note: ${n}`),
  ].join('\n');
}

/**
 * Clusters that run on some backends only. examples/kubespray-ipvs.yaml:
 * firewalld and ufw refuse kube-proxy ipvs (it needs an accept by
 * destination address; src/backends/capabilities.ts), and its own traffic
 * (pods to Service IPs) is proven on nftables and iptables by
 * cluster-traffic.test.ts; here its matrix runs on nftables, which keeps the
 * suite's time in bounds.
 */
const ONLY_ON: Readonly<Record<string, readonly string[]>> = { 'examples/kubespray-ipvs.yaml': ['nftables'] };

/** The clusters one backend runs: every example, less those it is not meant for (ONLY_ON). */
function clustersFor(adapter: ConformanceAdapter): (string | null)[] {
  return clusterFiles.filter((f) => f === null || (ONLY_ON[f] ?? [adapter.backend]).includes(adapter.backend));
}

function caseTitle(adapter: ConformanceAdapter, file: string | null, roles: readonly string[]): string {
  return `${adapter.backend} ${file ?? '(embedded default)'} ${rolesKey(roles as Role[])}`;
}

type CaseRun = Promise<{ report: CaseReport; error: null } | { report: null; error: unknown }>;

/**
 * firewalld's cases take longer than the other three backends' together (its
 * daemon starts and reloads for every case, 27 s a case against 6-10 s), and
 * much of every case is waiting (daemons, probe timeouts), not CPU. So the
 * other backends run in one lane and firewalld's cases share the remaining
 * lanes, taken in turn: the suite takes the longest lane's time instead of
 * the sum. Within a lane cases run one after another. Every case has its own
 * namespaces (uniqueNetnsName) and firewalld its own private D-Bus, so the
 * lanes share nothing; the cluster-traffic suite runs all four backends at
 * once the same way. KUBEWALL_CONFORMANCE_LANES sets the number of lanes
 * (default 3: the others, and two for firewalld); 1 runs everything in one.
 */
function startLanes(runnable: readonly ConformanceAdapter[]): Map<string, CaseRun> {
  const requested = Number.parseInt(process.env['KUBEWALL_CONFORMANCE_LANES'] ?? '3', 10);
  const lanes = Number.isInteger(requested) && requested > 1 ? requested : 1;
  const runs = new Map<string, CaseRun>();
  const tails: Promise<unknown>[] = Array.from({ length: lanes }, () => Promise.resolve());
  let firewalldCases = 0;
  for (const adapter of runnable) {
    for (const file of clustersFor(adapter)) {
      for (const roles of ROLE_SETS) {
        const lane = lanes > 1 && adapter.backend === 'firewalld' ? 1 + (firewalldCases++ % (lanes - 1)) : 0;
        const run: CaseRun = tails[lane]!.then(async () => runConformanceCase(adapter, await clusterContext(file), roles as Role[])).then(
          (report) => ({ report, error: null }),
          (error: unknown) => ({ report: null, error }),
        );
        tails[lane] = run;
        runs.set(caseTitle(adapter, file, roles), run);
      }
    }
  }
  return runs;
}

function registerBackend(adapter: ConformanceAdapter, lanes: () => ReadonlyMap<string, CaseRun>): void {
  const backendSuite = suite(`conformance ${adapter.backend}`);
  for (const file of clustersFor(adapter)) {
    for (const roles of ROLE_SETS) {
      const title = caseTitle(adapter, file, roles);
      backendSuite(title, async () => {
        const { report, error } = await lanes().get(title)!;
        if (error) throw error;
        reports.push(report!);
        process.stdout.write(`\n${formatCaseSummary(report!)}\n`);
        for (const note of report!.notes) process.stdout.write(`  note: ${note}\n`);
        for (const gap of report!.knownGaps) process.stdout.write(`  KNOWN GAP: ${gap}\n`);
        if (report!.failures.length > 0) throw new Error(formatFailure(report!));
      });
    }
  }
  backendSuite.after(() => {
    const mine = reports.filter((r) => r.title.startsWith(`${adapter.backend} `));
    if (mine.length === 0) return;
    const cells = mine.reduce((n, r) => n + r.cellsAsserted, 0);
    const wall = mine.reduce((n, r) => n + r.wallMs, 0);
    const slowest = Math.max(...mine.map((r) => r.wallMs));
    const byRole = ROLE_SETS.map((roles) => {
      const cases = mine.filter((r) => r.title.endsWith(` · ${rolesKey(roles)}`));
      return `${rolesKey(roles)} ${cases.map((r) => r.cellsAsserted).join('/')} (${(cases.reduce((n, r) => n + r.wallMs, 0) / 1000).toFixed(1)} s)`;
    });
    process.stdout.write(`\nconformance ${adapter.backend} cells per role, one number per cluster (${clusterFiles.map((f) => f ?? 'default').join(', ')}): ${byRole.join('; ')}`);
    process.stdout.write(
      `\nconformance ${adapter.backend}: ${mine.length} cases, ${cells} cells asserted, harness wall time ${(wall / 1000).toFixed(1)} s (slowest case ${(slowest / 1000).toFixed(1)} s)\n`,
    );
  });
  backendSuite.run();
}

// Every backend's tools are checked before any case starts, so the lanes know all their cases.
const runnable: ConformanceAdapter[] = [];
for (const adapter of adapters) {
  await describeWithNetns(`conformance ${adapter.backend}`, [...HARNESS_TOOLS, ...adapter.tools], () => runnable.push(adapter));
}
// Started by the first case that runs, not here: uvu imports every test file
// before it runs any, and lanes started at import would run beside every
// other file's tests (timing-sensitive labs among them) for the whole suite.
let runs: Map<string, CaseRun> | undefined;
const lanes = () => (runs ??= startLanes(runnable));
for (const adapter of runnable) registerBackend(adapter, lanes);

// describeWithNetns registers its CI failure on the default suite.
test.run();
