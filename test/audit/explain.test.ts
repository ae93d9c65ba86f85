import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { addressIn, explainRecord, type ExplainInputs, type ProfileCandidate } from '../../src/audit/explain.js';
import { profileCandidates } from '../../src/audit/run-audit.js';
import type { AuditRecord } from '../../src/audit/types.js';
import { loadInputs } from '../../src/load-plan.js';
import type { Role } from '../../src/model.js';
import { planRole } from '../../src/plan/plan-role.js';
import { REPO_ROOT } from '../helpers/paths.js';

/** The cluster-traffic lab's cluster (the audit live test's), without NodeLocal DNSCache. */
async function inputs(roles: Role[], addons = ['metrics-server', 'keepalived']): Promise<ExplainInputs> {
  const { catalogue, cluster } = await loadInputs({ clusterFile: 'test/conformance/cluster-traffic.yaml', profiles: { addons }, cwd: REPO_ROOT });
  const plan = planRole({ catalogue, cluster, roles, options: { allowLockout: false } });
  return { plan, catalogue: catalogue.entries, candidates: await profileCandidates(catalogue) };
}

const record = (source: string, protocol: string, port: number | null, family: 'ipv4' | 'ipv6' = 'ipv4'): AuditRecord => ({
  family,
  source,
  protocol,
  port,
  packets: 1,
  expiresInSeconds: null,
});

test('a port of this role whose peer class lacks the source: add the source to that class', async () => {
  const cp = await inputs(['control-plane']);
  const nodePort = explainRecord(record('10.1.2.3', 'tcp', 30080), cp);
  assert.is(nodePort.kind, 'peer-missing');
  assert.is(nodePort.entry, 'nodeport-services');
  assert.is(nodePort.fix, 'add 10.1.2.3 to loadBalancers');
  assert.match(nodePort.explanation, /^30080\/tcp is catalogue entry nodeport-services \(.*\), open to load-balancers; 10\.1\.2\.3 is in none of them$/);
  const etcd = explainRecord(record('10.40.0.21', 'tcp', 2379), cp);
  assert.is(etcd.kind, 'peer-missing');
  assert.match(etcd.explanation, /it is in nodes\)$/);
  assert.is(etcd.fix, 'add 10.40.0.21 to nodes (as a node with role control-plane), or to nodes (as a node with role etcd)');
  const v6 = explainRecord(record('fd00:1::3', 'tcp', 30080, 'ipv6'), cp);
  assert.is(v6.fix, 'add fd00:1::3 to loadBalancers');
});

test('a port of a shipped profile that is not selected: the flag that selects it', async () => {
  const cp = await inputs(['control-plane']);
  const dns = explainRecord(record('10.244.1.5', 'udp', 53), cp);
  assert.is(dns.kind, 'profile');
  assert.is(dns.fix, '--addon node-local-dns');
  assert.match(dns.explanation, /of profile addon node-local-dns, which is not selected/);
  // The file's CNI is flannel (vxlan): calico's BGP and flannel's WireGuard are other profiles and modes.
  assert.is(explainRecord(record('10.40.0.12', 'tcp', 179), cp).fix, '--cni calico');
  const wireguard = explainRecord(record('10.40.0.12', 'udp', 51820), cp);
  assert.is(wireguard.kind, 'profile');
  assert.match(wireguard.fix, /--cni flannel:wireguard/);
  assert.is(explainRecord(record('10.40.0.12', 'esp', null), cp).kind, 'profile');
});

test('a port only another role serves, a closed NodePort, ICMP, and a port nothing knows', async () => {
  const worker = await inputs(['worker']);
  const etcd = explainRecord(record('10.40.0.11', 'tcp', 2379), worker);
  assert.is(etcd.kind, 'other-role');
  assert.match(etcd.explanation, /etcd .* for control-plane, etcd, not for worker/);
  assert.match(etcd.fix, /^if this node is also control-plane or etcd: --role worker,control-plane;/);
  const cp = await inputs(['control-plane']);
  const closed = explainRecord(record('10.1.2.3', 'tcp', 31500), cp);
  assert.is(closed.kind, 'nodeport');
  assert.match(closed.explanation, /NodePort \(nodePortRange 30000-32767\) no catalogue entry opens/);
  assert.is(explainRecord(record('10.1.2.3', 'icmp', null), cp).kind, 'baseline');
  const unknown = explainRecord(record('10.40.0.21', 'tcp', 9100), cp);
  assert.is(unknown.kind, 'no-entry');
  assert.is(unknown.traffic, '9100/tcp');
  assert.match(unknown.fix, /^a catalogue fragment with an entry for 9100\/tcp /);
  assert.is(explainRecord(record('10.40.0.21', '47', null), cp).kind, 'no-entry');
});

test('what this plan accepts is a record from other inputs; the same port to another address is NodeLocal DNS\'s destination', async () => {
  const cp = await inputs(['control-plane']);
  const api = explainRecord(record('10.1.2.3', 'tcp', 6443), cp);
  assert.is(api.kind, 'allowed-now');
  const withDns = await inputs(['control-plane'], ['node-local-dns', 'metrics-server', 'keepalived']);
  const dns = explainRecord(record('10.244.1.5', 'udp', 53), withDns);
  assert.is(dns.kind, 'destination');
  assert.match(dns.explanation, /but only to 169\.254\.20\.10/);
  const outsiderDns = explainRecord(record('10.1.2.3', 'udp', 53), withDns);
  assert.is(outsiderDns.kind, 'peer-missing');
  assert.is(outsiderDns.fix, 'add 10.1.2.3 to podCIDRs');
});

test('explainRecord is pure: synthetic candidates only, no files', async () => {
  const cp = await inputs(['control-plane']);
  const candidate: ProfileCandidate = { flag: '--addon node-exporter', profile: 'addon node-exporter', entry: 'node-exporter', purpose: 'metrics', protocols: ['tcp'], ports: [{ from: 9100, to: 9100 }], roles: ['worker'], peers: ['nodes'] };
  const found = explainRecord(record('10.40.0.21', 'tcp', 9100), { ...cp, candidates: [candidate] });
  assert.is(found.fix, '--addon node-exporter');
});

test('addressIn: addresses and CIDRs of one family', () => {
  assert.ok(addressIn('10.1.2.3', ['10.0.0.0/8']));
  assert.ok(addressIn('10.40.0.5', ['10.40.0.5']));
  assert.not.ok(addressIn('10.40.0.6', ['10.40.0.5', 'fd00::/8']));
  assert.ok(addressIn('fd00:40::5', ['fd00:40::/64']));
  assert.not.ok(addressIn('not-an-address', ['0.0.0.0/0']));
});

test.run();
