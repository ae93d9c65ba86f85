import { execa } from 'execa';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { applyOverrides } from '../../../src/catalogue/catalogue.js';
import { loadCatalogue } from '../../../src/catalogue/load-catalogue.js';
import { EMBEDDED_DEFAULT_CLUSTER } from '../../../src/cluster/cluster.js';
import { parseCluster } from '../../../src/cluster/load-cluster.js';
import { buildFirewalldConfig, type FirewalldZoneItem } from '../../../src/backends/firewalld/config.js';
import {
  buildFirewalldIpsetXmlView,
  buildFirewalldScriptView,
  buildFirewalldZoneXmlView,
  formatRichRule,
  formatRichRuleXml,
} from '../../../src/backends/firewalld/view.js';
import { planRole } from '../../../src/plan/plan-role.js';
import { renderPlan } from '../../../src/render/render-plan.js';
import { findGoldenCase, listGoldenCases, renderGoldenCase, rendersWith } from '../../helpers/golden.js';

const catalogue = await loadCatalogue();
const workerPlan = planRole({ catalogue, cluster: EMBEDDED_DEFAULT_CLUSTER, roles: ['worker'] });

function richRules(items: readonly FirewalldZoneItem[]): string[] {
  return items.flatMap((item) => (item.kind === 'rule' ? [formatRichRule(item.rule)] : []));
}

test('one zone holds every source, drops what no rule accepts, and forwards within itself', () => {
  const { zone } = buildFirewalldConfig(workerPlan);
  assert.is(zone.name, 'kubewall');
  assert.equal(zone.sources, ['0.0.0.0/0', '::/0']);
  assert.is(zone.target, 'DROP');
  assert.is(zone.forward, true);
});

test('one hash:net ipset per peer set, named kubewall-<set>, with the family firewalld expects', () => {
  const { ipsets } = buildFirewalldConfig(workerPlan);
  assert.equal(
    ipsets.map((i) => [i.name, i.family, i.type]),
    workerPlan.sets.map((s) => [`kubewall-${s.name}`, s.family === 'ipv4' ? 'inet' : 'inet6', 'hash:net']),
  );
  assert.equal(ipsets.map((i) => i.entries), workerPlan.sets.map((s) => s.elements));
});

test('ports open to all are zone ports; a peer class gives one rich rule per family on its ipset', () => {
  const { zone } = buildFirewalldConfig(workerPlan);
  const ports = zone.items.flatMap((item) => (item.kind === 'port' ? [`${item.port.port}/${item.port.protocol}`] : []));
  assert.equal(ports, ['30000-32767/tcp', '30000-32767/udp']);
  const rules = richRules(zone.items);
  assert.ok(rules.includes('rule family="ipv4" source ipset="kubewall-load-balancers-v4" port port="10256" protocol="tcp" accept'));
  assert.ok(rules.includes('rule family="ipv6" source ipset="kubewall-load-balancers-v6" port port="10256" protocol="tcp" accept'));
  assert.ok(rules.includes('rule family="ipv4" source ipset="kubewall-admin-v4" port port="22" protocol="tcp" accept'));
  assert.not.ok(rules.some((r) => r.includes('10259') || r.includes('10257')), 'self-only ports need no rule of their own');
});

test('ICMP: types both families need have no family; ICMPv6-only types are ipv6 rules', () => {
  const rules = richRules(buildFirewalldConfig(workerPlan).zone.items).filter((r) => r.includes('icmp-type'));
  assert.equal(rules, [
    'rule icmp-type name="echo-request" accept',
    'rule icmp-type name="destination-unreachable" accept',
    'rule icmp-type name="time-exceeded" accept',
    'rule icmp-type name="parameter-problem" accept',
    'rule family="ipv6" icmp-type name="packet-too-big" accept',
    'rule family="ipv6" icmp-type name="router-solicitation" accept',
    'rule family="ipv6" icmp-type name="router-advertisement" accept',
    'rule family="ipv6" icmp-type name="neighbour-solicitation" accept',
    'rule family="ipv6" icmp-type name="neighbour-advertisement" accept',
  ]);
});

test('a rule with several port ranges gives one rich rule per range and family', async () => {
  const cluster = await parseCluster('loadBalancers: [10.0.0.5]\noverrides:\n  kube-proxy: {ports: [10256, 10300-10301]}\n', 'c.yaml');
  const plan = planRole({ catalogue: applyOverrides(catalogue, cluster.overrides, cluster.locate), cluster, roles: ['worker'] });
  const rules = richRules(buildFirewalldConfig(plan).zone.items).filter((r) => r.includes('load-balancers'));
  assert.equal(rules, [
    'rule family="ipv4" source ipset="kubewall-load-balancers-v4" port port="10256" protocol="tcp" accept',
    'rule family="ipv4" source ipset="kubewall-load-balancers-v4" port port="10300-10301" protocol="tcp" accept',
    'rule family="ipv6" source ipset="kubewall-load-balancers-v6" port port="10256" protocol="tcp" accept',
    'rule family="ipv6" source ipset="kubewall-load-balancers-v6" port port="10300-10301" protocol="tcp" accept',
  ]);
});

test('the rich-rule text and its XML element say the same thing', () => {
  const rule = { family: 'ipv4', sourceIpset: 'kubewall-admin-v4', port: { port: '22', protocol: 'tcp' }, action: 'accept' } as const;
  assert.is(formatRichRule(rule), 'rule family="ipv4" source ipset="kubewall-admin-v4" port port="22" protocol="tcp" accept');
  assert.is(formatRichRuleXml(rule), '<rule family="ipv4"><source ipset="kubewall-admin-v4"/><port port="22" protocol="tcp"/><accept/></rule>');
  assert.is(formatRichRuleXml({ icmpType: 'echo-request', action: 'accept' }), '<rule><icmp-type name="echo-request"/><accept/></rule>');
});

test('script view: ports and rich rules each go to firewall-cmd in one call, quoted for sh', () => {
  const view = buildFirewalldScriptView(buildFirewalldConfig(workerPlan), ['header']);
  // 9 ICMP types and the link-local baseline's MLD and DHCPv6 rules.
  assert.equal(view.itemGroups.map((g) => g.items.length), [2, 11 + networkRuleCount()]);
  assert.is(view.itemGroups[0]!.items[0]!.arg, "--add-port='30000-32767/tcp'");
  assert.is(view.zone, 'kubewall');
  assert.is(view.ipsetPattern, 'kubewall-*');
  const admin = view.ipsets.find((i) => i.createArgs.startsWith('--new-ipset=kubewall-admin-v4 '))!;
  assert.is(admin.createArgs, "--new-ipset=kubewall-admin-v4 --type='hash:net' --option='family=inet'");
  assert.equal(admin.entryLines, ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16']);
  assert.is(admin.entriesArgs, '--ipset=kubewall-admin-v4 --add-entries-from-file=/dev/stdin');
});

function networkRuleCount(): number {
  // One rich rule per family for each address-peer rule of the worker plan (ssh, kubelet, kube-proxy).
  return workerPlan.rules.filter((r) => r.peer !== 'any' && r.peer !== 'self').length * 2;
}

test('an empty peer set is created without a here-document', async () => {
  const cluster = await parseCluster('nodes: [{name: w, addresses: [192.0.2.1], roles: [worker]}]\nadminNetworks: [192.0.2.0/24]\n', 'c.yaml');
  const plan = planRole({ catalogue, cluster, roles: ['worker'] });
  const view = buildFirewalldScriptView(buildFirewalldConfig(plan), []);
  const empty = view.ipsets.find((i) => i.createArgs.includes('kubewall-control-plane-v6'))!;
  assert.is(empty.entriesArgs, null);
  assert.equal(empty.entryLines, []);
});

test('an ipset entry that is not an address never reaches the here-document', () => {
  const config = buildFirewalldConfig(workerPlan);
  const bad = { ...config, ipsets: [{ ...config.ipsets[0]!, entries: ['10.0.0.1\nKUBEWALL_ENTRIES\nreboot'] }] };
  assert.throws(() => buildFirewalldScriptView(bad, []), /not an address/);
  assert.throws(() => buildFirewalldIpsetXmlView(bad.ipsets[0]!, []), /not an address/);
});

test('XML views: comments cannot end early, text is escaped', () => {
  const config = buildFirewalldConfig(workerPlan);
  const zoneView = buildFirewalldZoneXmlView(
    { ...config.zone, description: 'a <b> & "c"', items: [{ kind: 'port', comment: 'x --> <y/>', port: { port: '1', protocol: 'tcp' } }] },
    ['use --cluster FILE -'],
  );
  assert.is(zoneView.description, 'a &lt;b&gt; &amp; &quot;c&quot;');
  assert.is(zoneView.items[0]!.comment, 'x - -> <y/>');
  assert.equal(zoneView.header.lines, ['use - -cluster FILE - ']);
});

test('render: the script first (0755), then the zone and one XML file per ipset', async () => {
  const result = await renderPlan(workerPlan, 'firewalld');
  assert.equal(
    result.files.map((f) => [f.name, f.mode]),
    [
      ['kubewall.sh', 0o755],
      ['zones/kubewall.xml', 0o644],
      ...workerPlan.sets.map((s) => [`ipsets/kubewall-${s.name}.xml`, 0o644]),
    ],
  );
  for (const file of result.files.slice(1)) assert.match(file.content, /^<\?xml version="1\.0" encoding="utf-8"\?>\n<!--\n  Generated by kubewall/);
  assert.match(result.files[0]!.content, /^#!\/bin\/sh\n# Generated by kubewall/);
  assert.match(result.files[0]!.content, /\nfirewall-cmd --reload >\/dev\/null\n$/);
});

test('restricted NodePorts render (INPUT only) with a warning in stderr and in every file header', async () => {
  const cluster = await parseCluster('loadBalancers: [10.0.0.5]\noverrides:\n  nodeport-services: {peers: [load-balancers]}\n', 'c.yaml');
  const plan = planRole({ catalogue: applyOverrides(catalogue, cluster.overrides, cluster.locate), cluster, roles: ['worker'] });
  const result = await renderPlan(plan, 'firewalld');
  assert.ok(result.warnings.some((w) => /firewalld cannot filter before kube-proxy's DNAT: nodeport-services\/tcp/.test(w)));
  for (const file of result.files) assert.match(file.content, /warning: firewalld cannot filter before kube-proxy's DNAT/);
  const zone = result.files.find((f) => f.name === 'zones/kubewall.xml')!.content;
  assert.match(zone, /<rule family="ipv4"><source ipset="kubewall-load-balancers-v4"\/><port port="30000-32767" protocol="tcp"\/><accept\/><\/rule>/);
  assert.not.match(zone, /<port port="30000-32767" protocol="tcp"\/>\n/);
});

// One python3 for every XML file (a start per file took a minute); it names each file it cannot parse.
const XML_CHECK = `
import json, sys, xml.dom.minidom
docs = json.load(sys.stdin)
bad = {}
for name, content in docs:
    try:
        xml.dom.minidom.parseString(content.encode())
    except Exception as e:
        bad[name] = str(e)
print(json.dumps({"checked": len(docs), "bad": bad}))
`;

test('every golden case: the script parses as POSIX sh and every XML file is well-formed', async () => {
  const docs: [string, string][] = [];
  for (const goldenCase of (await listGoldenCases()).filter((c) => rendersWith(c, 'firewalld'))) {
    const outputs = await renderGoldenCase(goldenCase);
    const script = outputs.get('firewalld/kubewall.sh');
    assert.ok(script, `${goldenCase.name}: no firewalld script`);
    const sh = await execa('sh', ['-n'], { input: script, reject: false });
    assert.is(sh.exitCode, 0, `${goldenCase.name}: sh -n: ${sh.stderr}`);
    const xml = [...outputs].filter(([name]) => name.startsWith('firewalld/') && name.endsWith('.xml'));
    assert.ok(xml.length >= 2, `${goldenCase.name}: expected a zone and ipsets`);
    docs.push(...xml.map(([name, content]): [string, string] => [`${goldenCase.name}/${name}`, content]));
  }
  // A broken document goes along, so a checker that accepts everything fails here.
  const control: [string, string] = ['(control: not well-formed)', '<zone><rule></zone>'];
  const result = await execa('python3', ['-c', XML_CHECK], { input: JSON.stringify([...docs, control]), reject: false });
  assert.is(result.exitCode, 0, result.stderr);
  const { checked, bad } = JSON.parse(result.stdout) as { checked: number; bad: Record<string, string> };
  assert.is(checked, docs.length + 1);
  assert.equal(Object.keys(bad), [control[0]], `not well-formed XML: ${JSON.stringify(bad, null, 2)}`);
});

test('the hostile fragment stays inside comments: no command, element or entity comes from it', async () => {
  const goldenCase = await findGoldenCase('fragment-hostile-input');
  const outputs = await renderGoldenCase(goldenCase);
  const script = outputs.get('firewalld/kubewall.sh')!;
  for (const line of script.split('\n').filter((l) => l.includes('reboot'))) assert.match(line, /^# /, `not a comment: ${line}`);
  const zone = outputs.get('firewalld/zones/kubewall.xml')!;
  const hostile = zone.split('\n').filter((l) => l.includes('reboot'));
  assert.ok(hostile.length > 0, 'the hostile purpose is not in the zone file at all');
  for (const line of hostile) assert.match(line, /^ {2}<!-- [^<>]*\$\(reboot\)[^<>]* -->$/, `outside a rule comment: ${line}`);
});

test.run();
