import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseCluster } from '../../src/cluster/load-cluster.js';
import { KubewallError } from '../../src/errors.js';

async function problem(text: string): Promise<string> {
  try {
    await parseCluster(text, 'cluster.yaml');
  } catch (error) {
    assert.instance(error, KubewallError);
    assert.is((error as KubewallError).code, 'CLUSTER');
    return (error as Error).message;
  }
  throw new Error('expected the cluster file to be rejected');
}

const node = (extra = '') => `nodes:\n  - name: cp-1\n    addresses: [10.0.0.11]\n    roles: [control-plane]\n${extra}`;

test('a valid file becomes the cluster model; omitted classes stay undescribed (null)', async () => {
  const cluster = await parseCluster(`${node()}adminNetworks: [10.9.0.0/24]\nloadBalancers: []\n`, 'c.yaml');
  assert.is(cluster.source, 'c.yaml');
  assert.is(cluster.nodes?.[0]?.addresses[0]?.text, '10.0.0.11');
  assert.equal(cluster.loadBalancers, []);
  assert.is(cluster.podCIDRs, null);
  assert.equal(cluster.ssh, { enabled: true, port: 22 });
});

const cases: Array<[string, string, RegExp]> = [
  ['unknown role', `nodes:\n  - name: cp-1\n    addresses: [10.0.0.11]\n    roles: [wroker]\n`, /^cluster\.yaml:4:13: nodes\[0\]\.roles\[0\]: unknown value "wroker" \(did you mean "worker"\? expected control-plane, worker, etcd\)$/],
  ['unknown key', `${node()}adminNetwork: [10.0.0.0/8]\n`, /^cluster\.yaml:5:1: adminNetwork: unknown key "adminNetwork" \(did you mean "adminNetworks"\? expected name, nodes, loadBalancers, adminNetworks, podCIDRs, serviceCIDRs, serviceExternalIPs, kubeProxy, nodePortRange, nodeLocalDNS, ssh, profiles, overrides\)$/],
  ['invalid CIDR', `${node()}adminNetworks: [10.0.0.0/33]\n`, /^cluster\.yaml:5:17: adminNetworks\[0\]: invalid CIDR "10\.0\.0\.0\/33" \(expected a network like 10\.0\.0\.0\/24 or fd00::\/64\)$/],
  ['host bits', `${node()}podCIDRs: [10.244.1.7/16]\n`, /podCIDRs\[0\]: CIDR "10\.244\.1\.7\/16" has host bits set \(did you mean 10\.244\.0\.0\/16\?\)/],
  ['node address with prefix', `nodes:\n  - name: cp-1\n    addresses: [10.0.0.11/24]\n    roles: [worker]\n`, /nodes\[0\]\.addresses\[0\]: invalid IP address "10\.0\.0\.11\/24"/],
  ['bad override port', `${node()}overrides:\n  kube-apiserver:\n    ports: 65536\n`, /^cluster\.yaml:7:12: overrides\.kube-apiserver\.ports: port 65536 in 65536 is out of range \(expected 1-65535\)$/],
  ['unknown key in a node', `nodes:\n  - name: cp-1\n    address: [10.0.0.11]\n    roles: [worker]\n`, /^cluster\.yaml:3:5: nodes\[0\]\.address: unknown key "address" \(did you mean "addresses"\? expected name, addresses, roles\)$/m],
  ['port zero', `${node()}overrides:\n  kube-apiserver:\n    ports: 0\n`, /port 0 in 0 is out of range/],
  ['reversed range', `${node()}overrides:\n  etcd:\n    ports: "2380-2379"\n`, /overrides\.etcd\.ports: reversed port range "2380-2379"/],
  ['ssh port type', `${node()}ssh:\n  port: "22"\n`, /ssh\.port: expected number, got "22"/],
  ['missing addresses', `nodes:\n  - name: cp-1\n    roles: [worker]\n`, /nodes\[0\]\.addresses: missing required key "addresses" \(expected array\)/],
  ['bad node name', `nodes:\n  - name: CP_1\n    addresses: [10.0.0.1]\n    roles: [worker]\n`, /nodes\[0\]\.name: invalid node name/],
  ['duplicate node name', `${node()}  - name: cp-1\n    addresses: [10.0.0.12]\n    roles: [worker]\n`, /nodes\[1\]\.name: duplicate node name "cp-1", already used by nodes\[0\]/],
  ['malformed YAML', `nodes: [\n  - name: x\n`, /^cluster\.yaml:\d+:\d+: malformed YAML: /],
  ['duplicate YAML key', `${node()}ssh: {}\nssh: {}\n`, /malformed YAML: Map keys must be unique/],
  ['not a mapping', `- 1\n- 2\n`, /\(top level\): expected object/],
];
for (const [name, text, expected] of cases) {
  test(`rejected: ${name}`, async () => {
    assert.match(await problem(text), expected);
  });
}

test('every problem in a file is listed at once', async () => {
  const message = await problem(`nodes:\n  - name: cp-1\n    addresses: [10.0.0.300]\n    roles: [wroker]\nadminNetworks: [bad]\n`);
  assert.is(message.split('\n').length, 3, message);
});

test('JSON is accepted too (JSON is YAML)', async () => {
  const cluster = await parseCluster(JSON.stringify({ nodes: [{ name: 'a', addresses: ['fd00::1'], roles: ['etcd'] }] }), 'c.json');
  assert.is(cluster.nodes?.[0]?.addresses[0]?.family, 'ipv6');
});

test.run();
