import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Command } from 'commander';
import { applyOverrides } from '../../src/catalogue/catalogue.js';
import { loadCatalogue } from '../../src/catalogue/load-catalogue.js';
import { EMBEDDED_DEFAULT_CLUSTER, type Cluster } from '../../src/cluster/cluster.js';
import { buildNftablesView } from '../../src/backends/nftables/view.js';
import { buildRestoreLines } from '../../src/backends/iptables/view.js';
import { registerApply } from '../../src/cli/commands/apply.js';
import { registerDiff } from '../../src/cli/commands/diff.js';
import { registerPlan } from '../../src/cli/commands/plan.js';
import { registerRender } from '../../src/cli/commands/render.js';
import { addPlanOptions } from '../../src/cli/options.js';
import { planRole } from '../../src/plan/plan-role.js';

const catalogue = await loadCatalogue();
const narrowed = { 'nodeport-services': { ports: '30000-30999', peers: ['load-balancers' as const] } };

function cluster(extra: Partial<Cluster>): Cluster {
  return { ...EMBEDDED_DEFAULT_CLUSTER, ...extra };
}

test('a narrowed NodePort entry leaves the rest of nodePortRange dropped before DNAT, on control-plane nodes too', () => {
  const c = cluster({ overrides: narrowed });
  const plan = planRole({ catalogue: applyOverrides(catalogue, narrowed, () => 'x'), cluster: c, roles: ['control-plane'] });
  assert.equal(plan.kubeProxy.closedNodePorts, [
    { protocol: 'tcp', ports: [{ from: 31000, to: 32767 }] },
    { protocol: 'udp', ports: [{ from: 31000, to: 32767 }] },
  ]);
  const nft = buildNftablesView(plan, []).chains.find((ch) => ch.name === 'before-dnat')!.rules;
  assert.ok(nft.some((r) => r.startsWith('tcp dport 31000-32767 drop')), nft.join('\n'));
  assert.ok(buildRestoreLines(plan, 'ipv4').some((l) => l.includes('--dport 31000:32767') && l.endsWith('-j DROP')));
});

test('etcd-only nodes run no kube-proxy: nothing about NodePorts', () => {
  const plan = planRole({ catalogue, cluster: EMBEDDED_DEFAULT_CLUSTER, roles: ['etcd'] });
  assert.equal(plan.kubeProxy.closedNodePorts, []);
});

test('ipvs: Service CIDRs and external IPs accepted on input (nftables, iptables), also ahead of the before-DNAT drops', () => {
  const c = cluster({ kubeProxy: { mode: 'ipvs', where: 'test' }, overrides: narrowed });
  const plan = planRole({ catalogue: applyOverrides(catalogue, narrowed, () => 'x'), cluster: c, roles: ['worker'] });
  assert.equal(plan.kubeProxy.serviceDestinations.ipv4, ['10.96.0.0/12']);
  assert.ok(plan.warnings.some((w) => w.includes('names no serviceCIDRs')));
  const view = buildNftablesView(plan, []);
  for (const chain of view.chains) assert.ok(chain.rules.some((r) => r.startsWith('ip daddr { 10.96.0.0/12 } accept')), chain.name);
  assert.ok(buildRestoreLines(plan, 'ipv4').some((l) => l.startsWith('-A KUBEWALL-INPUT -d 10.96.0.0/12 ')));
});

test('none: a restricted NodePort is refused, pointing to the CNI host policies; an open one only warns', () => {
  const c = cluster({ kubeProxy: { mode: 'none', where: '--kube-proxy' }, overrides: narrowed });
  assert.throws(
    () => planRole({ catalogue: applyOverrides(catalogue, narrowed, () => 'x'), cluster: c, roles: ['worker'] }),
    /--kube-proxy: kubeProxy none: .*nodeport-services restricted to load-balancers.*Cilium: host firewall.*Calico: host endpoints/,
  );
  const open = planRole({ catalogue, cluster: cluster({ kubeProxy: { mode: 'none', where: '--kube-proxy' } }), roles: ['worker'] });
  assert.ok(open.warnings.some((w) => w.includes('translated in eBPF')));
});

test('nodePortRange moves the default NodePort entry', () => {
  const plan = planRole({ catalogue, cluster: cluster({ nodePortRange: { from: 20000, to: 22767 } }), roles: ['worker'] });
  assert.equal(plan.rules.find((r) => r.entry === 'nodeport-services')!.ports, [{ from: 20000, to: 22767 }]);
  assert.equal(plan.kubeProxy.closedNodePorts, []);
});

test('every command that builds a plan takes every plan option (declared once in addPlanOptions)', () => {
  const planOptions = addPlanOptions(new Command('x')).options.map((o) => o.long);
  assert.ok(planOptions.includes('--kube-proxy') && planOptions.includes('--cni'));
  const program = new Command();
  for (const register of [registerRender, registerPlan, registerApply, registerDiff]) register(program);
  for (const name of ['render', 'plan', 'apply', 'diff']) {
    const command = program.commands.find((c) => c.name() === name)!;
    const longs = command.options.map((o) => o.long);
    assert.equal(planOptions.filter((o) => !longs.includes(o)), [], `${name} lacks plan options`);
  }
});

test.run();
