import { suite, test } from 'uvu';
import * as assert from 'uvu/assert';
import { describeWithNetns } from '../helpers/netns.js';
import { ADAPTERS } from './adapters/index.js';
import { HARNESS_TOOLS } from './harness.js';
import { runTrafficCases, trafficRenderArgs, TRAFFIC_CASES, TRAFFIC_CLUSTER, withTrafficLab } from './cluster-traffic.js';

/**
 * The cluster-traffic lab on every backend (see cluster-traffic.ts): the
 * node is a control-plane node of test/conformance/cluster-traffic.yaml,
 * rendered with kube-proxy ipvs where the backend can express it. The four
 * labs are independent and run at the same time; each test waits for its own.
 */

const TOOLS = [...HARNESS_TOOLS, 'python3', ...new Set(ADAPTERS.flatMap((a) => a.tools))];

await describeWithNetns('cluster traffic', TOOLS, () => {
  // Started by the first test that runs, not at import: uvu imports every
  // file before running any, and labs started then would run beside other
  // files' timing-sensitive tests.
  let started: Map<string, ReturnType<typeof startRun>> | undefined;
  const runs = () => (started ??= new Map(ADAPTERS.map((adapter) => [adapter.backend, startRun(adapter)] as const)));
  function startRun(adapter: (typeof ADAPTERS)[number]) {
    const lines: string[] = [];
    return withTrafficLab(adapter, (line) => lines.push(line), async (lab) => {
      const output = await lab.render(trafficRenderArgs(adapter.backend), 'all');
      await lab.apply(output);
      return runTrafficCases(lab);
    }).then(
      (value) => ({ value, error: null, lines }),
      (error: unknown) => ({ value: null, error, lines }),
    );
  }
  const traffic = suite('cluster traffic');
  for (const adapter of ADAPTERS) {
    const cases = TRAFFIC_CASES.filter((c) => c.skip(adapter.backend) === null).map((c) => c.id);
    traffic(`${adapter.backend}: ${cases.join(', ')} (${TRAFFIC_CLUSTER}, control-plane${trafficRenderArgs(adapter.backend).length > 0 ? ', kube-proxy ipvs' : ''})`, async () => {
      const { value, error, lines } = await runs().get(adapter.backend)!;
      if (error) throw error;
      const { failures, skipped } = value!;
      for (const line of skipped) process.stdout.write(`\n  ${adapter.backend} does not run ${line}`);
      const text = [...failures].map(([id, found]) => `${id}:\n    ${found.join('\n    ')}`).join('\n  ');
      assert.is(failures.size, 0, `${adapter.backend}: cases that do not hold:\n  ${text}\n${lines.join('\n')}`);
    });
  }
  traffic.run();
});

// describeWithNetns registers its CI failure on the default suite.
test.run();
