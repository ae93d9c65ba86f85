import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Role } from '../../src/index.js';
import type { ConformanceAdapter } from '../conformance/adapter.js';
import { iptablesAdapter } from '../conformance/adapters/iptables.js';
import { nftablesAdapter } from '../conformance/adapters/nftables.js';
import { formatCaseSummary, HARNESS_TOOLS, loadClusterContext, runConformanceCase } from '../conformance/harness.js';
import { describeWithNetns } from '../helpers/netns.js';
import { runCli } from '../helpers/run-cli.js';

/**
 * The generated Ansible role, applied by `ansible-playbook -c local` inside
 * the conformance lab's node namespace, then judged like a backend: the
 * reachability matrix, NodePorts before DNAT, coexistence with kube-proxy's
 * state, a re-run changing nothing, and re-runs under traffic. Files the role
 * writes go below the case's scratch folder (kubewall_root), never /etc.
 */

const CLUSTER = 'examples/cluster.yaml';
const ROLES: Role[] = ['control-plane'];
/** One ansible-playbook run takes seconds: the re-run loop must fit at least two. */
const LOOP_MS = 12_000;

function viaAnsibleRole(base: ConformanceAdapter): ConformanceAdapter {
  const site = (workDir: string) => path.join(workDir, 'site');
  return {
    backend: base.backend,
    tools: [...base.tools, 'ansible-playbook'],
    renderArgs: base.renderArgs,
    knownGaps: base.knownGaps,
    async setup(ctx) {
      await base.setup?.(ctx);
      const args = ['render', '--backend', base.backend, '--role', ROLES.join(','), '--cluster', CLUSTER, ...(base.renderArgs ?? []), '--format', 'ansible', '--out-dir', site(ctx.workDir)];
      const result = await runCli(args);
      if (result.exitCode !== 0) throw new Error(`kubewall ${args.join(' ')}: ${result.stderr}`);
    },
    async apply(ctx, output) {
      // The role ships exactly what render prints for the same inputs.
      const shipped = await readFile(path.join(site(ctx.workDir), 'roles/kubewall/files/all', output.main.name), 'utf8');
      if (shipped !== output.main.content) throw new Error(`the role's files/all/${output.main.name} is not what kubewall render prints`);
      const scratch = (name: string) => path.join(ctx.workDir, name);
      await ctx.exec(
        'ansible-playbook',
        ['-i', 'localhost,', '-c', 'local', '-e', `kubewall_root=${scratch('root')}`, '-e', 'ansible_become=false', path.join(site(ctx.workDir), 'playbook.yml')],
        {
          env: { ANSIBLE_LOCAL_TEMP: scratch('ansible-tmp'), ANSIBLE_HOME: scratch('ansible-home'), ANSIBLE_NOCOLOR: '1', ANSIBLE_PYTHON_INTERPRETER: 'auto_silent', HOME: ctx.workDir },
          timeoutMs: 180_000,
        },
      );
    },
    snapshot: (ctx) => base.snapshot(ctx),
    ...(base.teardown ? { teardown: base.teardown } : {}),
  };
}

for (const base of [nftablesAdapter, iptablesAdapter]) {
  const adapter = viaAnsibleRole(base);
  await describeWithNetns(`the ${base.backend} Ansible role, then the conformance matrix`, [...HARNESS_TOOLS, ...adapter.tools], () => {
    test(`${base.backend}: ansible-playbook applies the role in the node namespace; every conformance assertion holds`, async () => {
      const report = await runConformanceCase(adapter, await loadClusterContext(CLUSTER), ROLES, { replaceLoopMs: LOOP_MS });
      process.stdout.write(`\n(ansible role) ${formatCaseSummary(report)}\n`);
      for (const note of report.notes) process.stdout.write(`  note: ${note}\n`);
      assert.equal(report.failures, [], report.failures.map((f) => `[${f.assertion}] ${f.message}`).join('\n'));
      assert.ok(report.cellsAsserted > 100, `only ${report.cellsAsserted} cells asserted`);
    });
  });
}

test.run();
