import { execa } from 'execa';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { assertUfwAddress, quoteSh, ufwCommentText } from '../../src/backends/ufw/escape.js';
import { ufwBackend } from '../../src/backends/ufw/index.js';
import {
  buildUfwView,
  chunkPortRanges,
  describeLargePeerClass,
  findLargePeerClasses,
  UFW_LARGE_PEER_CLASS,
  UFW_MULTIPORT_MAX,
} from '../../src/backends/ufw/view.js';
import { applyOverrides } from '../../src/catalogue/catalogue.js';
import { loadCatalogue } from '../../src/catalogue/load-catalogue.js';
import { EMBEDDED_DEFAULT_CLUSTER } from '../../src/cluster/cluster.js';
import { parseCluster } from '../../src/cluster/load-cluster.js';
import type { Role } from '../../src/model.js';
import { planRole } from '../../src/plan/plan-role.js';
import { renderPlan } from '../../src/render/render-plan.js';
import { findGoldenCase, listGoldenCases, renderGoldenCase, rendersWith } from '../helpers/golden.js';

const catalogue = await loadCatalogue();
const EXAMPLE = `name: example
nodes:
  - { name: cp-1, addresses: [10.10.0.11, fd00:10::11], roles: [control-plane] }
  - { name: w-1, addresses: [10.10.0.21], roles: [worker] }
loadBalancers: [10.10.0.5]
adminNetworks: [10.99.0.0/24]
`;

async function plan(roles: Role[], clusterText?: string) {
  const cluster = clusterText === undefined ? EMBEDDED_DEFAULT_CLUSTER : await parseCluster(clusterText, 'cluster.yaml');
  return planRole({ catalogue: applyOverrides(catalogue, cluster.overrides, cluster.locate), cluster, roles });
}

function allLines(view: ReturnType<typeof buildUfwView>): string[] {
  return [...view.ssh, ...view.rules].flatMap((group) => group.lines);
}

test('quoteSh makes one inert word for sh', () => {
  assert.is(quoteSh('plain'), `'plain'`);
  assert.is(quoteSh(`it's $(reboot)`), `'it'\\''s $(reboot)'`);
});

test('ufwCommentText keeps only characters ufw accepts and the script can match', () => {
  assert.is(ufwCommentText('kubelet: Kubelet API (used by: Self)'), 'kubelet: Kubelet API (used by: Self)');
  assert.is(ufwCommentText(`a'b"c$d\`e\\f|g\nh`), 'a_b_c_d_e_f_g_h');
  assert.is(ufwCommentText('NodePort Services†'), 'NodePort Services_');
  assert.is(ufwCommentText(' two  spaces '), 'two spaces');
});

test('assertUfwAddress lets addresses and CIDRs through, nothing else', () => {
  for (const good of ['10.0.0.0/8', '192.0.2.1', 'fd00:10::11', 'fc00::/7']) assert.is(assertUfwAddress(good), good);
  for (const bad of ['any', '10.0.0.0/8; reboot', '$(id)', '', '/8', 'fd00::1 to any']) assert.throws(() => assertUfwAddress(bad));
});

test('chunkPortRanges: at most 15 ports a list, a range counting two', () => {
  const singles = Array.from({ length: 20 }, (_, i) => ({ from: 1000 + i * 2, to: 1000 + i * 2 }));
  const chunks = chunkPortRanges(singles);
  assert.equal(chunks.map((c) => c.length), [15, 5]);
  const ranges = Array.from({ length: 8 }, (_, i) => ({ from: 2000 + i * 10, to: 2005 + i * 10 }));
  assert.equal(chunkPortRanges(ranges).map((c) => c.length), [7, 1]);
  for (const chunk of [...chunks, ...chunkPortRanges(ranges)]) {
    assert.ok(chunk.reduce((w, r) => w + (r.from === r.to ? 1 : 2), 0) <= UFW_MULTIPORT_MAX);
  }
  assert.equal(chunkPortRanges([{ from: 30000, to: 32767 }]), [[{ from: 30000, to: 32767 }]]);
});

test('SSH from the admin networks comes first, one rule per admin network', async () => {
  const view = buildUfwView(await plan(['worker'], EXAMPLE), ['h']);
  assert.equal(view.ssh.flatMap((g) => g.lines), [
    `kw_allow 'kubewall ssh/tcp/admin port 22 from 10.99.0.0/24' proto tcp from 10.99.0.0/24 to any port 22`,
  ]);
  assert.not.ok(view.rules.some((g) => g.lines.some((l) => l.includes('port 22 '))));
});

test('one rule per (port list, peer address); rules from any address name no source; self needs none', async () => {
  const view = buildUfwView(await plan(['control-plane'], EXAMPLE), ['h']);
  const lines = allLines(view);
  assert.ok(lines.includes(`kw_allow 'kubewall kubelet/tcp/control-plane port 10250 from 10.10.0.11' proto tcp from 10.10.0.11 to any port 10250`));
  assert.ok(lines.includes(`kw_allow 'kubewall kubelet/tcp/control-plane port 10250 from fd00:10::11' proto tcp from fd00:10::11 to any port 10250`));
  assert.ok(lines.includes(`kw_allow 'kubewall kube-apiserver/tcp/any port 6443 from any' proto tcp to any port 6443`));
  assert.not.ok(lines.some((l) => / port 1025[79]$/.test(l)), 'scheduler and controller-manager are self-only: loopback covers them');
  assert.is(view.ruleCount, lines.length);
  assert.is(view.needIpv6, 'yes');
});

test('ranges use ufw syntax with a protocol', async () => {
  const lines = allLines(buildUfwView(await plan(['worker'], EXAMPLE), ['h']));
  assert.ok(lines.includes(`kw_allow 'kubewall nodeport-services/udp/any port 30000:32767 from any' proto udp to any port 30000:32767`));
});

test('plan rules that give the same ufw rule are merged: one rule, one tag naming both', async () => {
  // The embedded default gives control-plane and etcd the same private ranges.
  const view = buildUfwView(await plan(['control-plane']), ['h']);
  const lines = allLines(view);
  const etcd = lines.filter((l) => l.includes('port 2379:2380 from 10.0.0.0/8'));
  assert.equal(etcd, [
    `kw_allow 'kubewall etcd/tcp/control-plane+etcd/tcp/etcd port 2379:2380 from 10.0.0.0/8' proto tcp from 10.0.0.0/8 to any port 2379:2380`,
  ]);
  assert.ok(view.rules.some((g) => g.lines.length === 0 && g.comment.endsWith('(same ufw rules as above)')));
  const tags = lines.map((l) => /^kw_allow '([^']*)'/.exec(l)![1]);
  assert.is(new Set(tags).size, tags.length, 'every tag names one ufw rule');
});

test('an IPv4-only plan does not ask for IPV6=yes; empty peer classes open nothing', async () => {
  const view = buildUfwView(await plan(['worker'], EXAMPLE.replace(', fd00:10::11', '')), ['h']);
  assert.is(view.needIpv6, 'no');
  const lines = allLines(view);
  assert.not.ok(lines.some((l) => l.includes(':') && l.includes('from fd')));
});

test('large peer classes: warned above the threshold with the rule count, not below', async () => {
  const nodes = (n: number) =>
    Array.from({ length: n }, (_, i) => `  - { name: cp-${i}, addresses: [10.20.0.${i + 1}], roles: [control-plane] }`).join('\n');
  const cluster = (n: number) => `name: s\nnodes:\n${nodes(n)}\n  - { name: w, addresses: [10.10.0.1], roles: [worker] }\nadminNetworks: [10.99.0.0/24]\n`;
  assert.equal(findLargePeerClasses(await plan(['worker'], cluster(UFW_LARGE_PEER_CLASS))), []);
  const found = findLargePeerClasses(await plan(['worker'], cluster(UFW_LARGE_PEER_CLASS + 1)));
  const nodesClass = found.find((f) => f.peer === 'control-plane')!;
  assert.ok(nodesClass, 'a class of 51 addresses is large');
  assert.is(nodesClass.addresses, UFW_LARGE_PEER_CLASS + 1);
  const text = describeLargePeerClass(nodesClass);
  assert.match(text, `${nodesClass.addresses} addresses (more than ${UFW_LARGE_PEER_CLASS})`);
  assert.match(text, `${nodesClass.addresses * nodesClass.portRules} ufw rules`);
  // Dual-stack: a class counts its addresses of both families (each is a ufw rule).
  const dual = (n: number) => cluster(n).replace(/addresses: \[10\.20\.0\.(\d+)\]/g, 'addresses: [10.20.0.$1, fd00:20::$1]');
  assert.equal(findLargePeerClasses(await plan(['worker'], dual(25))), []);
  const dualClass = findLargePeerClasses(await plan(['worker'], dual(26))).find((f) => f.peer === 'control-plane');
  assert.is(dualClass?.addresses, 52);
});

test('the render warns about a large class in the header; capability warnings reach the header too', async () => {
  const nodes = Array.from({ length: 71 }, (_, i) => `  - { name: cp-${i}, addresses: [10.20.0.${i + 1}], roles: [control-plane] }`).join('\n');
  const large = await plan(['worker'], `name: l\nnodes:\n${nodes}\n  - { name: w, addresses: [10.10.0.1], roles: [worker] }\nadminNetworks: [10.99.0.0/24]\n`);
  const result = await renderPlan(large, 'ufw');
  const script = result.files[0]!.content;
  assert.match(script, /^# warning: ufw has no sets: peer class control-plane has 71 addresses \(more than 50\)/m);
  // Both warnings count a class the same way (its addresses of both families), so they agree.
  assert.match(script, /^# warning: ufw has no address sets: one rule per peer address \(largest peer class: control-plane, 71 addresses\)$/m);
  assert.ok(result.warnings.some((w) => w.includes('one rule per peer address')), 'the capability check reaches stderr');
});

test('the capability warning and the large-class warning give one number for a dual-stack fleet', async () => {
  const nodes = Array.from({ length: 60 }, (_, i) => `  - { name: n-${i}, addresses: [10.20.0.${i + 1}, fd00:20::${i + 1}], roles: [control-plane] }`).join('\n');
  const result = await renderPlan(await plan(['worker'], `name: d\nnodes:\n  - { name: w, addresses: [10.10.0.1], roles: [worker] }\n${nodes}\nadminNetworks: [10.99.0.0/24]\n`), 'ufw');
  const capability = result.warnings.find((w) => w.includes('no address sets'));
  const large = result.warnings.find((w) => w.includes('peer class control-plane has'));
  assert.match(capability ?? '', '(largest peer class: control-plane, 120 addresses)');
  assert.match(large ?? '', 'peer class control-plane has 120 addresses');
});

test('restricted NodePorts: the capability check warns that DNATed traffic is not filtered', async () => {
  const p = await plan(['worker'], `${EXAMPLE}overrides:\n  nodeport-services:\n    ports: 30000-30999\n    peers: [load-balancers]\n`);
  assert.ok(p.rules.some((r) => r.filterBeforeDnat && r.peer === 'load-balancers'));
  const result = await renderPlan(p, 'ufw');
  assert.ok(allLines(buildUfwView(p, ['h'])).includes(`kw_allow 'kubewall nodeport-services/tcp/load-balancers port 30000:30999 from 10.10.0.5' proto tcp from 10.10.0.5 to any port 30000:30999`));
  assert.ok(result.warnings.some((w) => w.includes("ufw cannot filter before kube-proxy's DNAT")));
});

test('backend declares what it cannot do', () => {
  assert.equal(ufwBackend.capabilities, { filterBeforeDnat: false, addressSets: false, ipProtocols: ['esp', 'vrrp'], acceptByDestination: false });
});

test('every golden ufw script is valid sh, starts with the header, and its comments stay comments', async () => {
  for (const goldenCase of (await listGoldenCases()).filter((c) => rendersWith(c, 'ufw'))) {
    const script = (await renderGoldenCase(goldenCase)).get('ufw/kubewall-ufw.sh');
    assert.ok(script, `${goldenCase.name}: no ufw output`);
    assert.ok(script!.startsWith('#!/bin/sh\n# Generated by kubewall'), `${goldenCase.name}: header first`);
    const check = await execa('sh', ['-n'], { input: script!, reject: false });
    assert.is(check.exitCode, 0, `${goldenCase.name}: sh -n: ${check.stderr}`);
    for (const line of script!.split('\n')) {
      if (line.startsWith('kw_allow ')) {
        assert.match(line, /^kw_allow '[A-Za-z0-9 ._,:/+=@-]+' (proto (tcp|udp)( from [0-9a-fA-F:./]+)? to (any|[0-9a-fA-F:.]+) port [0-9:,]+|proto (esp|vrrp)( from [0-9a-fA-F:./]+)? to (any|ff02::12))$/, line);
      }
    }
  }
});

test('hostile catalogue text reaches the script only as inert comment text', async () => {
  const goldenCase = await findGoldenCase('fragment-hostile-input');
  const script = (await renderGoldenCase(goldenCase)).get('ufw/kubewall-ufw.sh')!;
  const commentLines = script.split('\n').filter((l) => l.includes('node-exporter'));
  assert.ok(commentLines.length > 0);
  for (const line of commentLines) {
    assert.ok(line.startsWith('# ') || line.startsWith('kw_allow '), line);
    assert.not.match(line.replace(/^# /, ''), /[`$"\\]/);
  }
});

test.run();
