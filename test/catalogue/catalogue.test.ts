import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { applyOverrides, buildCatalogue, entriesForRoles, type CatalogueFragment } from '../../src/catalogue/catalogue.js';
import { loadCatalogue } from '../../src/catalogue/load-catalogue.js';
import { KubewallError } from '../../src/errors.js';
import { formatPortRanges } from '../../src/ports.js';

// The seed page, transcribed by hand (DOMAIN.md §1): a catalogue bug cannot pass its own test.
const SEED = [
  { id: 'kube-apiserver', ports: '6443', protocols: 'tcp', roles: 'control-plane', peers: 'any', usedBy: 'All' },
  { id: 'etcd', ports: '2379-2380', protocols: 'tcp', roles: 'control-plane,etcd', peers: 'control-plane,etcd', usedBy: 'kube-apiserver, etcd' },
  { id: 'kubelet', ports: '10250', protocols: 'tcp', roles: 'control-plane,worker', peers: 'self,control-plane', usedBy: 'Self, Control plane' },
  { id: 'kube-scheduler', ports: '10259', protocols: 'tcp', roles: 'control-plane', peers: 'self', usedBy: 'Self' },
  { id: 'kube-controller-manager', ports: '10257', protocols: 'tcp', roles: 'control-plane', peers: 'self', usedBy: 'Self' },
  { id: 'kube-proxy', ports: '10256', protocols: 'tcp', roles: 'worker', peers: 'self,load-balancers', usedBy: 'Self, Load balancers' },
  { id: 'nodeport-services', ports: '30000-32767', protocols: 'tcp,udp', roles: 'control-plane,worker', peers: 'any', usedBy: 'All' },
];

const builtin = await loadCatalogue();

test('the shipped catalogue is exactly the seed page', () => {
  const actual = builtin.entries.map((e) => ({
    id: e.id,
    ports: formatPortRanges(e.ports),
    protocols: e.protocols.join(','),
    roles: e.roles.join(','),
    peers: e.peers.join(','),
    usedBy: e.usedBy,
  }));
  assert.equal(actual, SEED);
});

test('every shipped entry carries provenance: document, section, origin', () => {
  for (const entry of builtin.entries) {
    assert.match(entry.source.document, /Ports and Protocols/);
    assert.match(entry.source.section, /table/);
    assert.match(entry.origin, /^catalogue\/kubernetes\.yaml: entries\[\d+\]$/);
  }
  assert.ok(builtin.entries.find((e) => e.id === 'nodeport-services')!.dnatByKubeProxy);
});

test('shipped provenance names the public page and its language edition, never a file the package does not ship', () => {
  for (const entry of builtin.entries) {
    assert.is(entry.source.url, 'https://kubernetes.io/id/docs/reference/networking/ports-and-protocols/', entry.id);
    assert.match(entry.source.document, /Indonesian edition/, entry.id);
    assert.not.match(entry.source.document, /seeds\/|\.txt/, entry.id);
  }
});

test('roles compose entries: a multi-role node gets the union, once each', () => {
  assert.equal(entriesForRoles(builtin, ['etcd']).map((e) => e.id), ['etcd']);
  const both = entriesForRoles(builtin, ['worker', 'control-plane']).map((e) => e.id);
  assert.equal(both, SEED.map((s) => s.id));
});

function fragment(file: string, entries: object[]): CatalogueFragment {
  return { file, entries: entries as CatalogueFragment['entries'], locate: () => file };
}

const base = {
  purpose: 'x',
  protocols: ['tcp'],
  roles: ['worker'],
  peers: ['nodes'],
  usedBy: 'Nodes',
  source: { document: 'd', section: 's' },
};

test('overlapping ports for one role and protocol is an error naming both entries', () => {
  try {
    buildCatalogue([fragment('a.yaml', [{ ...base, id: 'one', ports: '9000-9010' }]), fragment('b.yaml', [{ ...base, id: 'two', ports: 9005 }])]);
    assert.unreachable('no conflict reported');
  } catch (error) {
    assert.instance(error, KubewallError);
    const message = (error as Error).message;
    assert.match(message, /catalogue conflict for role worker: "one" \(a\.yaml: entries\[0\]\) ports 9000-9010\/tcp overlaps "two" \(b\.yaml: entries\[0\]\) ports 9005\/tcp/);
  }
});

test('the same port on another protocol or for another role is no conflict', () => {
  const catalogue = buildCatalogue([
    fragment('a.yaml', [{ ...base, id: 'one', ports: 9000 }]),
    fragment('b.yaml', [{ ...base, id: 'two', ports: 9000, protocols: ['udp'] }, { ...base, id: 'three', ports: 9000, roles: ['etcd'] }]),
  ]);
  assert.is(catalogue.entries.length, 3);
});

test('a duplicate id is an error naming both places', () => {
  assert.throws(
    () => buildCatalogue([fragment('a.yaml', [{ ...base, id: 'one', ports: 1 }]), fragment('b.yaml', [{ ...base, id: 'one', ports: 2 }])]),
    /duplicate catalogue id "one", already defined at a\.yaml: entries\[0\]/,
  );
});

test('overrides move ports and change peers; the origin says so', () => {
  const locate = (p: readonly PropertyKey[]) => `cluster.yaml:${p.join('.')}`;
  const moved = applyOverrides(builtin, { 'kube-apiserver': { ports: 443 }, 'nodeport-services': { ports: '31000-31999', peers: ['load-balancers'] } }, locate);
  const api = moved.entries.find((e) => e.id === 'kube-apiserver')!;
  assert.equal(api.ports, [{ from: 443, to: 443 }]);
  assert.match(api.origin, /overridden in the cluster file: overrides\.kube-apiserver/);
  const nodePorts = moved.entries.find((e) => e.id === 'nodeport-services')!;
  assert.equal(nodePorts.peers, ['load-balancers']);
  assert.match(nodePorts.usedBy, /load-balancers \(cluster override; catalogue: All\)/);
});

test('an override onto another entry\'s port is a conflict', () => {
  assert.throws(
    () => applyOverrides(builtin, { 'kube-apiserver': { ports: 10250 } }, () => 'cluster.yaml'),
    /catalogue conflict for role control-plane: "kube-apiserver" .* overlaps "kubelet"/,
  );
});

test('an override of an unknown entry lists the valid ids', () => {
  assert.throws(
    () => applyOverrides(builtin, { 'kube-apiservr': { ports: 443 } }, () => 'cluster.yaml:3:3'),
    /cluster\.yaml:3:3: overrides\.kube-apiservr: unknown catalogue entry "kube-apiservr" \(expected one of etcd, kube-apiserver,/,
  );
});

test('fragments load with fast-glob; a pattern matching nothing is an error', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'kubewall-cat-'));
  await writeFile(
    path.join(dir, 'extra.yaml'),
    'entries:\n  - id: node-exporter\n    purpose: Prometheus node exporter\n    protocols: [tcp]\n    ports: 9100\n    roles: [worker]\n    peers: [nodes]\n    usedBy: Prometheus\n    source: { document: site policy, section: monitoring }\n',
  );
  await writeFile(path.join(dir, 'more.json'), JSON.stringify({ entries: [{ ...base, id: 'json-entry', ports: 9200 }] }));
  const loaded = await loadCatalogue({ patterns: ['*.{yaml,json}'], cwd: dir });
  assert.equal(loaded.files.slice(-2), ['extra.yaml', 'more.json']);
  assert.ok(loaded.entries.some((e) => e.id === 'node-exporter'));
  try {
    await loadCatalogue({ patterns: ['ports.d/*.yaml'], cwd: dir });
    assert.unreachable();
  } catch (error) {
    assert.match((error as Error).message, /--catalogue "ports\.d\/\*\.yaml": no files match/);
  }
});

test('a fragment with bad ports names file, line, path and value', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'kubewall-cat-'));
  await writeFile(
    path.join(dir, 'bad.yaml'),
    'entries:\n  - id: bad\n    purpose: bad\n    protocols: [tcp]\n    ports: 10-5\n    roles: [worker]\n    peers: [nodes]\n    usedBy: x\n    source: { document: d, section: s }\n',
  );
  try {
    await loadCatalogue({ patterns: ['bad.yaml'], cwd: dir });
    assert.unreachable();
  } catch (error) {
    assert.is((error as KubewallError).code, 'CATALOGUE');
    assert.match((error as Error).message, /^bad\.yaml:5:12: entries\[0\]\.ports: reversed port range "10-5"/);
  }
});

/** Loads one fragment whose only entry has these protocol and port lines; returns the error message. */
async function fragmentError(lines: string, extra = ''): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'kubewall-cat-'));
  await writeFile(
    path.join(dir, 'ip.yaml'),
    `entries:\n  - id: tunnel\n    purpose: a tunnel\n${lines}    roles: [worker]\n    peers: [nodes]\n    usedBy: x\n    source: { document: d, section: s }\n${extra}`,
  );
  try {
    await loadCatalogue({ patterns: ['ip.yaml'], cwd: dir });
  } catch (error) {
    assert.instance(error, KubewallError);
    return (error as Error).message;
  }
  throw new Error('the fragment loaded');
}

test('IP-protocol entries: no ports, their own entry, known names; errors name file, line, path and value', async () => {
  assert.match(await fragmentError('    protocols: [vrrp]\n    ports: 112\n'), /^ip\.yaml:5:12: entries\[0\]\.ports: IP protocol vrrp has no ports \(remove ports\)$/);
  assert.match(
    await fragmentError('    protocols: [udp, esp]\n    ports: 4500\n'),
    /^ip\.yaml:4:16: entries\[0\]\.protocols: udp take ports and esp has none: give the IP protocol an entry of its own/,
  );
  assert.match(await fragmentError('    protocols: [tcp]\n'), /^ip\.yaml:\d+:\d+: entries\[0\]\.ports: missing required key "ports" for tcp/);
  assert.match(await fragmentError('    protocols: [gre]\n'), /entries\[0\]\.protocols\[0\]: unknown value "gre" \(expected tcp, udp, ipip, esp, vrrp\)/);
  assert.match(
    await fragmentError('    protocols: [esp]\n', 'overrides:\n  tunnel:\n    ports: 50\n'),
    /overrides\.tunnel\.ports: entry "tunnel" is IP protocol esp, which has no ports/,
  );
});

test('an IP-protocol entry loads without ports; two entries for one IP protocol on one role conflict', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'kubewall-cat-'));
  const entry = (id: string) =>
    `  - id: ${id}\n    purpose: ESP\n    protocols: [esp]\n    roles: [worker]\n    peers: [nodes]\n    usedBy: x\n    source: { document: d, section: s }\n`;
  await writeFile(path.join(dir, 'one.yaml'), `entries:\n${entry('ipsec')}`);
  const one = await loadCatalogue({ patterns: ['one.yaml'], cwd: dir });
  const ipsec = one.entries.find((e) => e.id === 'ipsec')!;
  assert.equal([ipsec.protocols, ipsec.ports, ipsec.ipProtocols], [[], [], ['esp']]);
  await writeFile(path.join(dir, 'two.yaml'), `entries:\n${entry('ipsec-a')}${entry('ipsec-b')}`);
  try {
    await loadCatalogue({ patterns: ['two.yaml'], cwd: dir });
    assert.unreachable();
  } catch (error) {
    assert.match((error as Error).message, /catalogue conflict for role worker: "ipsec-a" \(two\.yaml: entries\[0\]\) IP protocol esp overlaps "ipsec-b"/);
  }
});

test.run();
