import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { applyOverrides } from '../../src/catalogue/catalogue.js';
import { loadCatalogue } from '../../src/catalogue/load-catalogue.js';
import { EMBEDDED_DEFAULT_CLUSTER, type Cluster } from '../../src/cluster/cluster.js';
import { parseCluster } from '../../src/cluster/load-cluster.js';
import { KubewallError } from '../../src/errors.js';
import type { Role } from '../../src/model.js';
import { planRole } from '../../src/plan/plan-role.js';
import { networkRules, PLAN_API_VERSION, type Plan } from '../../src/plan/types.js';
import { formatPortRanges } from '../../src/ports.js';

const catalogue = await loadCatalogue();

function plan(roles: Role[], cluster: Cluster = EMBEDDED_DEFAULT_CLUSTER, allowLockout = false): Plan {
  return planRole({ catalogue: applyOverrides(catalogue, cluster.overrides, cluster.locate), cluster, roles, options: { allowLockout } });
}

const rows = (p: Plan) => p.rules.map((r) => `${formatPortRanges(r.ports)}/${r.protocol} ${r.peer}`);

// Expected rules per role, written by hand from the seed page plus the SSH baseline.
const EXPECTED: Record<string, string[]> = {
  'control-plane': [
    '22/tcp admin',
    '2379-2380/tcp control-plane',
    '2379-2380/tcp etcd',
    '6443/tcp any',
    '10250/tcp self',
    '10250/tcp control-plane',
    '10257/tcp self',
    '10259/tcp self',
    // kubeadm runs kube-proxy on every node: NodePorts are served on control-plane nodes too.
    '30000-32767/tcp any',
    '30000-32767/udp any',
  ],
  worker: ['22/tcp admin', '10250/tcp self', '10250/tcp control-plane', '10256/tcp self', '10256/tcp load-balancers', '30000-32767/tcp any', '30000-32767/udp any'],
  etcd: ['22/tcp admin', '2379-2380/tcp control-plane', '2379-2380/tcp etcd'],
};

for (const role of ['control-plane', 'worker', 'etcd'] as const) {
  test(`rules for ${role} follow the seed's "Used by"`, () => {
    assert.equal(rows(plan([role])), EXPECTED[role]);
  });
}

test('a node with several roles gets the union, each rule once', () => {
  const both = rows(plan(['worker', 'control-plane']));
  const union = [...new Set([...EXPECTED['control-plane']!, ...EXPECTED['worker']!])];
  assert.equal([...both].sort(), [...union].sort());
  assert.is(both.length, new Set(both).size);
});

test('the plan says what it is: version, roles, baseline, default drop', () => {
  const p = plan(['control-plane']);
  assert.is(p.apiVersion, PLAN_API_VERSION);
  assert.equal(p.roles, ['control-plane']);
  assert.is(p.baseline.inputPolicy, 'drop');
  assert.ok(p.baseline.icmpv6.includes('neighbour-solicitation'));
  assert.ok(p.baseline.icmpv6.includes('packet-too-big'));
  assert.ok(p.baseline.icmp.includes('destination-unreachable'));
});

test('without a cluster file every address peer class is defaulted, and the plan says so', () => {
  const p = plan(['worker']);
  assert.equal(p.defaultedPeers, ['control-plane', 'load-balancers', 'admin']);
  assert.ok(p.sets.every((s) => s.defaulted));
  assert.equal(p.sets.find((s) => s.name === 'admin-v4')!.elements, ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16']);
  assert.equal(p.sets.find((s) => s.name === 'admin-v6')!.elements, ['fc00::/7']);
  assert.match(p.warnings.join('\n'), /does not describe peer classes control-plane, load-balancers, admin: defaulted to private address space/);
});

test('restricted ports are never opened to the world by default', () => {
  for (const role of ['control-plane', 'worker', 'etcd'] as const) {
    const p = plan([role]);
    const open = networkRules(p).filter((r) => r.peer === 'any').map((r) => r.entry);
    assert.equal([...new Set(open)].sort(), role === 'control-plane' ? ['kube-apiserver', 'nodeport-services'] : role === 'worker' ? ['nodeport-services'] : []);
  }
});

const clusterText = (nodes: number) => {
  const lines = ['nodes:'];
  for (let i = 0; i < nodes; i++) {
    lines.push(`  - name: n-${i}`, `    addresses: [10.${(i >> 8) & 255}.${i & 255}.1, fd00::${i.toString(16)}:1]`, `    roles: [${i < 3 ? 'control-plane' : 'worker'}]`);
  }
  lines.push('loadBalancers: [10.255.0.5]', 'adminNetworks: [10.254.0.0/24]');
  return lines.join('\n') + '\n';
};

test('rules do not multiply with cluster size: 3 nodes and 2,000 nodes give the same rules', async () => {
  const small = plan(['control-plane', 'worker'], await parseCluster(clusterText(3), 'small.yaml'));
  const large = plan(['control-plane', 'worker'], await parseCluster(clusterText(2000), 'large.yaml'));
  assert.equal(large.rules, small.rules);
  assert.is(large.sets.find((s) => s.name === 'control-plane-v4')!.elements.length, 3);
  assert.is(large.sets.length, small.sets.length);
});

test('peer sets come from the cluster file by role, normalized', async () => {
  const cluster = await parseCluster(
    'nodes:\n  - {name: a, addresses: [10.0.0.2, fd00::2], roles: [control-plane]}\n  - {name: b, addresses: [10.0.0.1], roles: [control-plane, etcd]}\n  - {name: c, addresses: [10.0.0.3], roles: [worker]}\nadminNetworks: [10.9.0.0/16, 10.9.1.0/24]\nloadBalancers: []\n',
    'c.yaml',
  );
  const p = plan(['control-plane', 'worker'], cluster);
  const set = (name: string) => p.sets.find((s) => s.name === name)!.elements;
  assert.equal(set('control-plane-v4'), ['10.0.0.1', '10.0.0.2']);
  assert.equal(set('control-plane-v6'), ['fd00::2']);
  assert.equal(set('etcd-v4'), ['10.0.0.1']);
  assert.equal(set('admin-v4'), ['10.9.0.0/16']);
  assert.equal(set('load-balancers-v4'), []);
  assert.equal(p.defaultedPeers, []);
  assert.match(p.warnings.join('\n'), /kube-proxy \(10256\): c\.yaml has no addresses for load-balancers, so only the node itself can reach it/);
});

test('an empty admin list refuses to render: SSH would be cut', async () => {
  const cluster = await parseCluster('adminNetworks: []\n', 'c.yaml');
  try {
    plan(['worker'], cluster);
    assert.unreachable('lockout not refused');
  } catch (error) {
    assert.instance(error, KubewallError);
    assert.match((error as Error).message, /^c\.yaml:1:16: adminNetworks: empty, so this firewall would drop SSH \(port 22\/tcp\) from everywhere and lock you out \(.*--allow-lockout\)$/);
  }
});

test('--allow-lockout and ssh.enabled: false are the explicit ways to go without SSH', async () => {
  const allowed = plan(['worker'], await parseCluster('adminNetworks: []\n', 'c.yaml'), true);
  assert.not.ok(allowed.rules.some((r) => r.entry === 'ssh'));
  assert.is(allowed.ssh.enabled, false);
  assert.match(allowed.warnings.join('\n'), /--allow-lockout/);
  const disabled = plan(['worker'], await parseCluster('adminNetworks: []\nssh: {enabled: false}\n', 'c.yaml'));
  assert.not.ok(disabled.rules.some((r) => r.entry === 'ssh'));
  assert.match(disabled.warnings.join('\n'), /ssh\.enabled is false/);
});

test('the SSH port is overridable and may not collide with a catalogue port', async () => {
  const moved = plan(['worker'], await parseCluster('ssh: {port: 2222}\n', 'c.yaml'));
  assert.equal(moved.rules.find((r) => r.entry === 'ssh')!.ports, [{ from: 2222, to: 2222 }]);
  const collides = await parseCluster('ssh: {port: 10250}\n', 'c.yaml');
  assert.throws(() => plan(['worker'], collides), /SSH port 10250\/tcp overlaps catalogue entry "kubelet"/);
});

test('overrides reach the plan: API server on 443, NodePorts only from load balancers, before DNAT', async () => {
  const cluster = await parseCluster(
    'overrides:\n  kube-apiserver: {ports: 443}\n  nodeport-services: {ports: 30000-30999, peers: [load-balancers]}\n',
    'c.yaml',
  );
  const p = plan(['control-plane', 'worker'], cluster);
  assert.ok(rows(p).includes('443/tcp any'));
  assert.not.ok(rows(p).some((r) => r.startsWith('6443')));
  const nodePorts = p.rules.filter((r) => r.entry === 'nodeport-services');
  assert.equal(nodePorts.map((r) => `${formatPortRanges(r.ports)}/${r.protocol} ${r.peer} ${r.filterBeforeDnat}`), [
    '30000-30999/tcp load-balancers true',
    '30000-30999/udp load-balancers true',
  ]);
});

test('the planner is pure: same input, same plan, nothing shared', () => {
  const a = plan(['worker']);
  const b = plan(['worker']);
  assert.equal(a, b);
  assert.is.not(a.rules, b.rules);
});

test('no role is a usage error', () => {
  assert.throws(() => plan([]), (error: unknown) => error instanceof KubewallError && error.code === 'USAGE');
});


test('the lockout guard reasons per address family: admin networks in no family the nodes have is a lockout; one family missing is a warning', async () => {
  const nodes = (addresses: string) => `nodes:\n  - {name: a, addresses: [${addresses}], roles: [worker]}\n`;
  const v4Nodes = await parseCluster(`${nodes('10.0.0.2')}adminNetworks: [fd00:99::/64]\n`, 'c.yaml');
  try {
    plan(['worker'], v4Nodes);
    assert.unreachable('an IPv6-only admin list on IPv4-only nodes was not refused');
  } catch (error) {
    assert.instance(error, KubewallError);
    assert.match(
      (error as Error).message,
      /^c\.yaml:3:16: adminNetworks: only IPv6 networks, but the nodes are reached over IPv4: this firewall would drop SSH \(port 22\/tcp\) from everywhere and lock you out \(add the IPv4 networks you manage nodes from, or pass --allow-lockout\)$/,
    );
  }
  assert.match(plan(['worker'], v4Nodes, true).warnings.join('\n'), /--allow-lockout: c\.yaml:3:16: adminNetworks: only IPv6 networks/);
  // Without nodes in the file, IPv4 is assumed: the same refusal.
  const v6Admins = await parseCluster('adminNetworks: [fd00:99::/64]\n', 'c.yaml');
  assert.throws(() => plan(['worker'], v6Admins), /only IPv6 networks, but the nodes are reached over IPv4/);
  // Dual-stack nodes, IPv6 admin only: IPv4 SSH is dropped, IPv6 SSH works — a warning.
  const dual = plan(['worker'], await parseCluster(`${nodes('10.0.0.2, fd00::2')}adminNetworks: [fd00:99::/64]\n`, 'c.yaml'));
  assert.match(dual.warnings.join('\n'), /adminNetworks: no IPv4 network, so SSH \(port 22\/tcp\) over IPv4 is dropped from everywhere/);
  // IPv6-only nodes with an IPv6 admin list: nothing to say.
  const v6 = plan(['worker'], await parseCluster(`${nodes('fd00::2')}adminNetworks: [fd00:99::/64]\n`, 'c.yaml'));
  assert.not.match(v6.warnings.join('\n'), /adminNetworks/);
});

test.run();
