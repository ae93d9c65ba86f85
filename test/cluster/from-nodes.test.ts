import { readFileSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { clusterFromNodes } from '../../src/cluster/from-nodes.js';
import { parseCluster } from '../../src/cluster/load-cluster.js';
import { isKubewallError } from '../../src/errors.js';
import { FIXTURES_DIR } from '../helpers/paths.js';

// Hand-written in the shape of `kubectl get nodes -o json` (kubeadm 1.31, dual-stack): no cluster runs here to capture one.
const NODES = readFileSync(`${FIXTURES_DIR}from-nodes/nodes.json`, 'utf8');

test('from-nodes: InternalIPs, roles from node-role labels, podCIDRs, sorted by name', async () => {
  const { yaml, notes } = await clusterFromNodes(NODES, 'nodes.json');
  const cluster = await parseCluster(yaml, 'converted.yaml');
  assert.equal(
    cluster.nodes?.map((n) => [n.name, n.addresses.map((a) => a.text), n.roles]),
    [
      ['cp-1', ['10.10.0.11', 'fd00:10::11'], ['control-plane']],
      ['cp-2', ['10.10.0.12'], ['control-plane', 'etcd']],
      ['edge-1', ['10.10.0.41'], ['worker']],
      ['etcd-1', ['10.10.0.31'], ['etcd']],
      ['worker-1', ['10.10.0.21'], ['worker']],
      ['worker-2', ['10.10.0.22', 'fd00:10::22'], ['worker']],
    ],
  );
  assert.equal(cluster.podCIDRs?.map((n) => n.text), ['10.244.0.0/24', '10.244.1.0/24', '10.244.3.0/24', '10.244.4.0/24', '10.244.5.0/24', 'fd00:244::/64', 'fd00:244:0:4::/64']);
  assert.ok(!yaml.includes('203.0.113.12'), 'ExternalIPs are not node addresses');
  assert.equal(notes, [
    'node "edge-1": label node-role.kubernetes.io/ingress names no kubewall role (expected control-plane, master, etcd or worker); ignored',
    'node "edge-1": no control-plane, master, etcd or worker label: a worker',
  ]);
});

test('from-nodes: deterministic, whatever order the API server lists the nodes in', async () => {
  const doc = JSON.parse(NODES) as { items: unknown[] };
  const reversed = JSON.stringify({ ...doc, items: [...doc.items].reverse() });
  assert.is((await clusterFromNodes(reversed, 'nodes.json')).yaml, (await clusterFromNodes(NODES, 'nodes.json')).yaml);
});

test('from-nodes: one Node (kubectl get node NAME -o json) works too; no podCIDRs gives a note', async () => {
  const one = JSON.stringify({ kind: 'Node', metadata: { name: 'solo' }, status: { addresses: [{ type: 'InternalIP', address: '192.168.1.5' }] } });
  const { yaml, notes } = await clusterFromNodes(one, 'solo.json');
  assert.match(yaml, /- name: solo\n {4}addresses: \[192\.168\.1\.5\]\n {4}roles: \[worker\]\n/);
  assert.ok(!yaml.includes('podCIDRs'));
  assert.match(notes[0]!, /no node has spec\.podCIDRs/);
});

const node = (over: Record<string, unknown>) => ({
  kind: 'Node',
  metadata: { name: 'n1', labels: {} },
  status: { addresses: [{ type: 'InternalIP', address: '10.0.0.1' }] },
  ...over,
});
const list = (...items: unknown[]) => JSON.stringify({ kind: 'List', items });

test('from-nodes: bad input names the file, the path and the value', async () => {
  const cases: [string, RegExp][] = [
    ['nope', /^nodes\.json: not JSON \(expected the output of kubectl get nodes -o json\)/],
    ['[]', /^nodes\.json: \(top level\): expected a JSON object/],
    ['{"kind":"Pod"}', /^nodes\.json: kind: "Pod" has no items/],
    [list(), /^nodes\.json: items: no nodes/],
    [list({ kind: 'Pod' }), /^nodes\.json: items\[0\]: expected a Node, got "Pod"/],
    [list(node({ metadata: { name: 'Bad_Name' } })), /^nodes\.json: items\[0\]\.metadata\.name: invalid node name "Bad_Name" \(expected a DNS-1123 name/],
    [list(node({}), node({})), /^nodes\.json: items\[1\]\.metadata\.name: duplicate node name "n1", already at items\[0\]\.metadata\.name/],
    [list(node({ status: { addresses: [{ type: 'Hostname', address: 'n1' }] } })), /^nodes\.json: items\[0\]\.status\.addresses: node "n1" has no InternalIP \(found Hostname;/],
    [list(node({ status: { addresses: [{ type: 'InternalIP', address: '10.0.0.300' }] } })), /^nodes\.json: items\[0\]\.status\.addresses: node "n1": InternalIP invalid IP address "10\.0\.0\.300"/],
    [list(node({ spec: { podCIDRs: ['10.244.0.1/24'] } })), /^nodes\.json: items\[0\]\.spec\.podCIDRs\[0\]: node "n1": .*10\.244\.0\.1\/24/],
  ];
  for (const [text, pattern] of cases) {
    try {
      await clusterFromNodes(text, 'nodes.json');
      assert.unreachable(text);
    } catch (error) {
      assert.ok(isKubewallError(error), String(error));
      assert.is((error as { code: string }).code, 'CLUSTER');
      assert.match((error as Error).message, pattern);
    }
  }
});

test.run();
