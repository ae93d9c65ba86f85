import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readIptablesVariant, iptablesBackend } from '../../src/backends/iptables/index.js';
import { assertIpsetName, assertIptablesChain, quoteIptablesComment, quoteShellWord } from '../../src/backends/iptables/escape.js';
import {
  buildBeforeDnatChain,
  buildInputChain,
  buildIpsetLines,
  buildIptablesView,
  buildRestoreLines,
  IPSET_MAXELEM,
  IPSET_NEW_SUFFIX,
  ipsetElements,
  ipsetName,
  portMatches,
  variantCommands,
} from '../../src/backends/iptables/view.js';
import { applyOverrides } from '../../src/catalogue/catalogue.js';
import { loadCatalogue } from '../../src/catalogue/load-catalogue.js';
import { EMBEDDED_DEFAULT_CLUSTER } from '../../src/cluster/cluster.js';
import { parseCluster } from '../../src/cluster/load-cluster.js';
import { KubewallError } from '../../src/errors.js';
import { ADDRESS_PEER_CLASSES, FAMILIES } from '../../src/model.js';
import { planRole } from '../../src/plan/plan-role.js';
import { setName, type Plan } from '../../src/plan/types.js';
import { renderPlan } from '../../src/render/render-plan.js';

const catalogue = await loadCatalogue();

async function planFor(yaml: string, roles: Parameters<typeof planRole>[0]['roles']): Promise<Plan> {
  const cluster = await parseCluster(yaml, 'c.yaml');
  return planRole({ catalogue: applyOverrides(catalogue, cluster.overrides, cluster.locate), cluster, roles });
}

const restrictedNodePorts = 'loadBalancers: [10.0.0.5, fd00::5]\nadminNetworks: [10.9.0.0/24]\noverrides:\n  nodeport-services: {peers: [load-balancers]}\n';

test('quoteIptablesComment keeps comments inert for iptables-restore and sh, within 255 bytes', () => {
  assert.is(quoteIptablesComment('kubelet: Kubelet API'), '"kubelet: Kubelet API"');
  assert.is(quoteIptablesComment('a" -j ACCEPT; "b'), '"a_ -j ACCEPT; _b"');
  assert.is(quoteIptablesComment("x\ny\\z $(reboot) `id` 'q'"), '"x_y_z _(reboot) _id_ _q_"');
  assert.is(quoteIptablesComment('NodePort Services†'), '"NodePort Services_"');
  const long = quoteIptablesComment('x'.repeat(400));
  assert.is(long.length, 257);
  assert.ok(long.endsWith('..."'));
});

test('chain and ipset names: fixed upper-case words within the kernel limits, anything else throws', () => {
  assert.is(assertIptablesChain('KUBEWALL-BEFORE-DNAT'), 'KUBEWALL-BEFORE-DNAT');
  assert.is(assertIpsetName('KUBEWALL-ADMIN-V4'), 'KUBEWALL-ADMIN-V4');
  for (const bad of ['kubewall-input', 'X; reboot', '', '-X', 'A'.repeat(29)]) assert.throws(() => assertIptablesChain(bad), bad);
  for (const bad of ['kubewall-admin-v4', 'A B', 'A'.repeat(32)]) assert.throws(() => assertIpsetName(bad), bad);
  // Every set a plan can have, with the -NEW suffix, fits IPSET_MAXNAMELEN.
  for (const peer of ADDRESS_PEER_CLASSES) {
    for (const family of FAMILIES) {
      const name = ipsetName({ name: setName(peer, family) });
      assert.ok(assertIpsetName(`${name}${IPSET_NEW_SUFFIX}`));
    }
  }
});

test('quoteShellWord leaves plain words and single-quotes the rest', () => {
  assert.is(quoteShellWord('KUBEWALL-INPUT'), 'KUBEWALL-INPUT');
  assert.is(quoteShellWord("it's $(x)"), `'it'\\''s $(x)'`);
});

test('variant commands are always named explicitly and never mix', () => {
  for (const variant of ['nft', 'legacy'] as const) {
    const c = variantCommands(variant);
    const all = [c.name, ...Object.values(c.iptables), ...Object.values(c.restore), ...Object.values(c.save)];
    assert.ok(all.every((cmd) => cmd.includes(`-${variant}`)), all.join(' '));
  }
  assert.equal(variantCommands('nft').restore, { ipv4: 'iptables-nft-restore', ipv6: 'ip6tables-nft-restore' });
  assert.equal(variantCommands('legacy').iptables, { ipv4: 'iptables-legacy', ipv6: 'ip6tables-legacy' });
});

test('port matches: one range uses --dport, several use multiport in chunks of at most 15 slots', () => {
  assert.equal(portMatches('tcp', [{ from: 6443, to: 6443 }]), ['-m tcp --dport 6443']);
  assert.equal(portMatches('udp', [{ from: 30000, to: 32767 }]), ['-m udp --dport 30000:32767']);
  assert.equal(portMatches('tcp', [{ from: 443, to: 443 }, { from: 2379, to: 2380 }]), ['-m multiport --dports 443,2379:2380']);
  // 8 ranges = 16 slots: the eighth starts a second match.
  const ranges = Array.from({ length: 8 }, (_, i) => ({ from: 1000 + i * 10, to: 1001 + i * 10 }));
  const chunks = portMatches('tcp', ranges);
  assert.is(chunks.length, 2);
  assert.is(chunks[0], `-m multiport --dports ${ranges.slice(0, 7).map((r) => `${r.from}:${r.to}`).join(',')}`);
  assert.is(chunks[1], '-m multiport --dports 1070:1071');
  // 15 single ports fit one match exactly.
  assert.is(portMatches('tcp', Array.from({ length: 15 }, (_, i) => ({ from: i + 1, to: i + 1 }))).length, 1);
});

test('ipset elements: hash:net cannot hold /0, so everyone is stored as two halves', () => {
  assert.equal(ipsetElements({ family: 'ipv4', elements: ['0.0.0.0/0'] }), ['0.0.0.0/1', '128.0.0.0/1']);
  assert.equal(ipsetElements({ family: 'ipv6', elements: ['::/0'] }), ['::/1', '8000::/1']);
  assert.equal(ipsetElements({ family: 'ipv4', elements: ['10.0.0.1', '10.9.0.0/24'] }), ['10.0.0.1', '10.9.0.0/24']);
});

test('ipset restore input: build <set>-NEW, create the live set if missing, swap, destroy; family inet6 for IPv6', async () => {
  const plan = await planFor(restrictedNodePorts, ['worker']);
  const lines = buildIpsetLines(plan);
  const block = lines.slice(lines.indexOf('# peer class load-balancers, IPv6: 1 entry'), lines.indexOf('# peer class load-balancers, IPv6: 1 entry') + 7);
  assert.equal(block, [
    '# peer class load-balancers, IPv6: 1 entry',
    `create KUBEWALL-LOAD-BALANCERS-V6-NEW hash:net family inet6 hashsize 1024 maxelem ${IPSET_MAXELEM} -exist`,
    'flush KUBEWALL-LOAD-BALANCERS-V6-NEW',
    'add KUBEWALL-LOAD-BALANCERS-V6-NEW fd00::5',
    `create KUBEWALL-LOAD-BALANCERS-V6 hash:net family inet6 hashsize 1024 maxelem ${IPSET_MAXELEM} -exist`,
    'swap KUBEWALL-LOAD-BALANCERS-V6-NEW KUBEWALL-LOAD-BALANCERS-V6',
    'destroy KUBEWALL-LOAD-BALANCERS-V6-NEW',
  ]);
  assert.is(lines.filter((l) => l.startsWith('swap ')).length, plan.sets.length);
  assert.ok(lines.some((l) => l.startsWith('create KUBEWALL-ADMIN-V4 hash:net family inet ')));
});

test('a peer set larger than maxelem is a capability error, not a half-filled set', async () => {
  const plan = await planFor('adminNetworks: [10.9.0.0/24]\n', ['worker']);
  const huge = Array.from({ length: IPSET_MAXELEM + 1 }, (_, i) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`);
  const big: Plan = { ...plan, sets: plan.sets.map((s) => (s.name === 'admin-v4' ? { ...s, elements: huge } : s)) };
  try {
    buildIpsetLines(big);
    assert.unreachable('should have thrown');
  } catch (error) {
    assert.instance(error, KubewallError);
    assert.is((error as KubewallError).code, 'CAPABILITY');
    assert.match((error as Error).message, /admin-v4: 65537 addresses/);
  }
});

test('KUBEWALL-INPUT: baseline first, allowed traffic RETURNs, a final DROP; never ACCEPT', () => {
  const plan = planRole({ catalogue, cluster: EMBEDDED_DEFAULT_CLUSTER, roles: ['worker'] });
  const v4 = buildInputChain(plan, 'ipv4').map((l) => l.replace(/ -m comment --comment "[^"]*"/, ''));
  assert.equal(v4.slice(0, 3), [
    '-A KUBEWALL-INPUT -i lo -j RETURN',
    '-A KUBEWALL-INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j RETURN',
    '-A KUBEWALL-INPUT -m conntrack --ctstate INVALID -j DROP',
  ]);
  assert.is(v4[v4.length - 1], '-A KUBEWALL-INPUT -j DROP');
  assert.ok(v4.includes('-A KUBEWALL-INPUT -p icmp -m icmp --icmp-type echo-request -j RETURN'));
  assert.ok(v4.includes('-A KUBEWALL-INPUT -p tcp -m set --match-set KUBEWALL-LOAD-BALANCERS-V4 src -m tcp --dport 10256 -j RETURN'));
  assert.ok(v4.includes('-A KUBEWALL-INPUT -p udp -m udp --dport 30000:32767 -j RETURN'), 'NodePorts open to all have no set match');
  assert.not.ok(v4.some((l) => l.includes('10259')), 'self-only ports need no rule of their own');
  assert.not.ok(v4.some((l) => /ACCEPT|icmp6|-V6/.test(l)));
  const v6 = buildInputChain(plan, 'ipv6');
  assert.ok(v6.some((l) => l.includes('-p ipv6-icmp -m icmp6 --icmpv6-type neighbour-solicitation')));
  assert.ok(v6.some((l) => l.includes('--match-set KUBEWALL-LOAD-BALANCERS-V6 src')));
  assert.not.ok(v6.some((l) => /-p icmp |-V4 /.test(l)));
});

test('KUBEWALL-BEFORE-DNAT drops restricted NodePorts from other sources, only for local destinations', async () => {
  const plan = await planFor(restrictedNodePorts, ['worker']);
  const rules = buildBeforeDnatChain(plan, 'ipv4').map((l) => l.replace(/ -m comment --comment "[^"]*"/, ''));
  assert.equal(rules, [
    '-A KUBEWALL-BEFORE-DNAT -i lo -j RETURN',
    '-A KUBEWALL-BEFORE-DNAT -m conntrack --ctstate RELATED,ESTABLISHED -j RETURN',
    '-A KUBEWALL-BEFORE-DNAT -m addrtype ! --dst-type LOCAL -j RETURN',
    '-A KUBEWALL-BEFORE-DNAT -p tcp -m set --match-set KUBEWALL-LOAD-BALANCERS-V4 src -m tcp --dport 30000:32767 -j RETURN',
    '-A KUBEWALL-BEFORE-DNAT -p udp -m set --match-set KUBEWALL-LOAD-BALANCERS-V4 src -m udp --dport 30000:32767 -j RETURN',
    '-A KUBEWALL-BEFORE-DNAT -p tcp -m tcp --dport 30000:32767 -j DROP',
    '-A KUBEWALL-BEFORE-DNAT -p udp -m udp --dport 30000:32767 -j DROP',
  ]);
  const open = planRole({ catalogue, cluster: EMBEDDED_DEFAULT_CLUSTER, roles: ['worker'] });
  assert.equal(buildBeforeDnatChain(open, 'ipv4'), [], 'NodePorts open to all: the chain is declared but empty');
});

test('restore input declares only kubewall chains (a --noflush declaration flushes), in filter and mangle', async () => {
  const plan = await planFor(restrictedNodePorts, ['control-plane', 'worker']);
  for (const family of FAMILIES) {
    const lines = buildRestoreLines(plan, family);
    assert.equal(lines.filter((l) => /^[*:]|^COMMIT$/.test(l)), ['*filter', ':KUBEWALL-INPUT - [0:0]', 'COMMIT', '*mangle', ':KUBEWALL-BEFORE-DNAT - [0:0]', 'COMMIT']);
    assert.ok(lines.filter((l) => l.startsWith('-')).every((l) => /^-A KUBEWALL-(INPUT|BEFORE-DNAT) /.test(l)), 'no rule outside kubewall chains');
  }
});

test('the view: heredocs, jumps for both families and tables, the sets to keep', async () => {
  const plan = await planFor(restrictedNodePorts, ['worker']);
  const view = buildIptablesView(plan, ['h'], 'legacy');
  assert.equal(view.restores.map((r) => r.command), ['iptables-legacy-restore -w --noflush', 'ip6tables-legacy-restore -w --noflush']);
  assert.equal(view.jumps, [
    'iptables-legacy filter INPUT KUBEWALL-INPUT',
    'iptables-legacy mangle PREROUTING KUBEWALL-BEFORE-DNAT',
    'ip6tables-legacy filter INPUT KUBEWALL-INPUT',
    'ip6tables-legacy mangle PREROUTING KUBEWALL-BEFORE-DNAT',
  ]);
  assert.equal(view.other, { name: 'iptables-nft', flag: 'nft', save4: 'iptables-nft-save', save6: 'ip6tables-nft-save' });
  assert.equal(view.sets.keep.split(' '), plan.sets.map((s) => `KUBEWALL-${s.name.toUpperCase()}`));
  for (const doc of [view.ipset, ...view.restores]) assert.not.ok(doc.lines.includes(doc.delimiter));
});

test('readIptablesVariant: nft without an option (deterministic), the given variant, a usage error otherwise', () => {
  assert.equal(readIptablesVariant({}), { variant: 'nft', source: 'the default when no variant is given' });
  assert.equal(readIptablesVariant({ iptablesVariant: 'legacy', iptablesVariantSource: 'detected' }), { variant: 'legacy', source: 'detected' });
  assert.throws(() => readIptablesVariant({ iptablesVariant: 'auto' }), /expected nft, legacy/);
});

test('rendered files: the script is self-contained and names only its variant outside the mismatch guard', async () => {
  const plan = await planFor(restrictedNodePorts, ['worker']);
  for (const variant of ['nft', 'legacy'] as const) {
    const other = variant === 'nft' ? 'legacy' : 'nft';
    const { files } = await renderPlan(plan, 'iptables', { backendOptions: { iptablesVariant: variant } });
    assert.equal(files.map((f) => [f.name, f.mode]), [['kubewall.sh', 0o755], ['kubewall.ipset', 0o644], ['kubewall.rules.v4', 0o644], ['kubewall.rules.v6', 0o644]]);
    const [script, ipset, v4, v6] = files.map((f) => f.content) as [string, string, string, string];
    assert.ok(script.startsWith('#!/bin/sh\n# Generated by kubewall'));
    assert.match(script, new RegExp(`^# variant: iptables-${variant} \\(--iptables-variant ${variant}\\)`, 'm'));
    const outsideGuard = script.split('\n').filter((l) => !/KUBEWALL_ALLOW_MIXED_IPTABLES|^\s*if \{ |^\s*echo "kubewall: this host has|^# Rules in iptables-nft and in iptables-legacy/.test(l));
    assert.not.ok(outsideGuard.some((l) => l.includes(`-${other}`)), `${variant} script names ${other} outside the guard`);
    // The split files carry exactly the heredocs' bodies.
    const body = (text: string) => text.split('\n').filter((l) => l !== '' && !l.startsWith('#'));
    const heredoc = (delimiter: string) => script.split(`<<'${delimiter}'\n`)[1]!.split(`\n${delimiter}\n`)[0]!.split('\n').filter((l) => !l.startsWith('#'));
    assert.equal(body(ipset), heredoc('KUBEWALL_IPSET'));
    assert.equal(body(v4), heredoc('KUBEWALL_RULES_V4'));
    assert.equal(body(v6), heredoc('KUBEWALL_RULES_V6'));
    // $kw_test is empty when applying and --test under --check (in a throwaway netns).
    const at = (needle: string) => {
      const index = script.indexOf(needle);
      assert.ok(index >= 0, `${variant} script has no ${JSON.stringify(needle)}`);
      return index;
    };
    assert.ok(at('ipset restore <<') < at(`iptables-${variant}-restore -w --noflush $kw_test <<`), 'sets exist before rules refer to them');
    assert.ok(at(`ip6tables-${variant}-restore -w --noflush $kw_test <<`) < at(`ensure_jump iptables-${variant} `), 'chains exist before the jumps');
  }
});

test('the backend declares what it can do: filter before DNAT, address sets', () => {
  assert.equal(iptablesBackend.capabilities, { filterBeforeDnat: true, addressSets: true, ipProtocols: ['ipip', 'esp', 'vrrp'], acceptByDestination: true });
});

test.run();
