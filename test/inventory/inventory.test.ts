import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { KubewallError } from '../../src/errors.js';
import { DEFAULT_GROUP_ROLES, fleetFromInventory, parseGroupRoleFlags } from '../../src/inventory/fleet-hosts.js';
import { expandHostPattern, splitHostPort } from '../../src/inventory/host-patterns.js';
import { clusterWithFleet, loadInventory, parseInventory } from '../../src/inventory/load-inventory.js';
import { parseIniInventory, splitShellWords } from '../../src/inventory/parse-ini.js';
import { parseYamlInventory } from '../../src/inventory/parse-yaml.js';
import { EMBEDDED_DEFAULT_CLUSTER } from '../../src/cluster/cluster.js';
import { REPO_ROOT } from '../helpers/paths.js';

function throwsKubewall(fn: () => unknown, pattern: RegExp, code = 'INVENTORY'): void {
  try {
    fn();
  } catch (error) {
    assert.instance(error, KubewallError);
    assert.is((error as KubewallError).code, code);
    assert.match((error as Error).message, pattern);
    return;
  }
  assert.unreachable(`expected an error matching ${pattern}`);
}

const hostsOf = (text: string, file = 'hosts.ini') => {
  const inventory = parseInventory(text, file);
  return Object.fromEntries(fleetFromInventory(inventory).hosts.map((h) => [h.name, { roles: h.roles.join(','), addresses: h.addresses.join(',') }]));
};

test('host ranges: numeric with and without padding, letters, strides, several ranges', () => {
  assert.equal(expandHostPattern('node[01:03]'), ['node01', 'node02', 'node03']);
  assert.equal(expandHostPattern('node[8:10]'), ['node8', 'node9', 'node10']);
  assert.equal(expandHostPattern('node[1:9:4]'), ['node1', 'node5', 'node9']);
  assert.equal(expandHostPattern('rack-[a:b]-[1:2].example'), ['rack-a-1.example', 'rack-a-2.example', 'rack-b-1.example', 'rack-b-2.example']);
  assert.equal(expandHostPattern('plain'), ['plain']);
  assert.match(expandHostPattern('node[3:1]') as string, /runs backwards/);
  assert.match(expandHostPattern('node[1]') as string, /must be \[start:end\]/);
  assert.match(expandHostPattern('node[a:9]') as string, /numbers .* or single letters/);
  assert.match(expandHostPattern('node[1:5:0]') as string, /stride/);
  assert.match(expandHostPattern('n[0:999999]') as string, /more than/);
});

test('host:port, [ipv6]:port and bare IPv6 are split as Ansible does', () => {
  assert.equal(splitHostPort('node1:2222'), { host: 'node1', port: '2222' });
  assert.equal(splitHostPort('[fd00::1]:22'), { host: 'fd00::1', port: '22' });
  assert.equal(splitHostPort('fd00::1'), { host: 'fd00::1' });
  assert.equal(splitHostPort('node[1:3]'), { host: 'node[1:3]' });
  assert.equal(splitHostPort('node[1:3]:22'), { host: 'node[1:3]', port: '22' });
});

test('host lines split like a shell: quotes, escapes, comments', () => {
  assert.equal(splitShellWords(`h1 a=1 b="two words" c='x y' # comment`), ['h1', 'a=1', 'b=two words', 'c=x y']);
  assert.equal(splitShellWords('h1 tag=a#b'), ['h1', 'tag=a#b']);
  assert.equal(splitShellWords('h1 a=\\"q'), ['h1', 'a="q']);
  assert.is(splitShellWords('h1 a="open'), 'unterminated double quote');
});

test('INI: groups, children, vars sections, hosts listed twice, ungrouped hosts', () => {
  const inventory = parseIniInventory(
    [
      'lonely ansible_host=10.0.0.99',
      '[kube_control_plane]',
      'cp-[1:2] ansible_user=x',
      '[kube_control_plane:vars]',
      'ip = "10.0.0.1"',
      '[etcd:children]',
      'kube_control_plane',
      '[kube_node]',
      'w1 ip=10.0.1.1',
      '; a comment',
      '[kube_control_plane]',
      'cp-2 ip=10.0.0.2',
    ].join('\n'),
    'hosts.ini',
  );
  assert.equal([...inventory.hosts.keys()].sort(), ['cp-1', 'cp-2', 'lonely', 'w1']);
  assert.equal(inventory.groups.get('kube_control_plane')!.hosts, ['cp-1', 'cp-2']);
  assert.equal(inventory.groups.get('etcd')!.children, ['kube_control_plane']);
  assert.equal(inventory.groups.get('ungrouped')!.hosts, ['lonely']);
  assert.is(inventory.hosts.get('cp-2')!.vars.get('ip')!.value, '10.0.0.2');
  assert.is(inventory.hosts.get('cp-2')!.vars.get('ip')!.where, 'hosts.ini:12');
  assert.is(inventory.groups.get('kube_control_plane')!.vars.get('ip')!.value, '10.0.0.1');
  const fleet = fleetFromInventory(inventory);
  const byName = Object.fromEntries(fleet.hosts.map((h) => [h.name, h]));
  // cp-1 has no ip of its own: the group's ip applies (as in Ansible), and etcd comes through the children section.
  assert.equal(byName['cp-1']!.addresses, ['10.0.0.1']);
  assert.equal(byName['cp-1']!.roles, ['control-plane', 'etcd']);
  assert.equal(byName['cp-2']!.addresses, ['10.0.0.2']);
  assert.equal(byName['w1']!.roles, ['worker']);
  assert.equal(fleet.skipped, ['lonely']);
});

test('INI errors name the file, the line, the value and what is valid', () => {
  throwsKubewall(() => parseIniInventory('[kube_node]\nw1 ip=10.0.0.1 junk', 'inv.ini'), /^inv\.ini:2: host w1: expected key=value after the host name, got "junk"$/);
  throwsKubewall(() => parseIniInventory('[kube_node:var]\n', 'inv.ini'), /^inv\.ini:1: section \[kube_node:var\]: unknown section type "var" \(expected \[group\], \[group:vars\] or \[group:children\]\)$/);
  throwsKubewall(() => parseIniInventory('[kube node]\n', 'inv.ini'), /^inv\.ini:1: invalid section header/);
  throwsKubewall(() => parseIniInventory('[x:vars]\nnot a var\n', 'inv.ini'), /^inv\.ini:2: \[x:vars\]: expected key=value, got "not a var"$/);
  throwsKubewall(() => parseIniInventory('[x:children]\na b\n', 'inv.ini'), /^inv\.ini:2: \[x:children\]: expected one group name per line/);
  throwsKubewall(() => parseIniInventory('[x]\nn[5:1]\n', 'inv.ini'), /^inv\.ini:2: host range \[5:1\] in "n\[5:1\]" runs backwards/);
});

test('YAML: nested children, host vars, group vars, ranges, hosts named in several places', () => {
  const hosts = hostsOf(
    [
      'all:',
      '  children:',
      '    k8s_cluster:',
      '      children:',
      '        kube_control_plane:',
      '          hosts:',
      '            cp1: { ansible_host: cp1.example.com, ip: 10.0.0.1, access_ip: 192.0.2.1 }',
      '        kube_node:',
      '          hosts:',
      '            node[1:2]:',
      '          vars: { ansible_user: k }',
      '        etcd:',
      '          children: { kube_control_plane: }',
      '  hosts:',
      '    node1: { ansible_host: 10.0.1.1 }',
      '    node2: { ip6: "fd00::2", ip: 10.0.1.2 }',
    ].join('\n'),
    'inv.yaml',
  );
  assert.equal(hosts, {
    cp1: { roles: 'control-plane,etcd', addresses: '10.0.0.1,192.0.2.1' },
    node1: { roles: 'worker', addresses: '10.0.1.1' },
    node2: { roles: 'worker', addresses: '10.0.1.2,fd00::2' },
  });
});

test('YAML errors name file:line:col, the path and the value', () => {
  throwsKubewall(() => parseYamlInventory('all:\n  host:\n    a:\n', 'inv.yml'), /^inv\.yml:2:3: all\.host: unknown key "host" in group "all" \(expected hosts, vars, children\)$/);
  throwsKubewall(() => parseYamlInventory('all:\n  hosts: [a, b]\n', 'inv.yml'), /^inv\.yml:2:10: all\.hosts: expected a mapping of host names/);
  throwsKubewall(() => parseYamlInventory('- a\n', 'inv.yml'), /expected a mapping of group names/);
  throwsKubewall(() => parseYamlInventory('all: [\n', 'inv.yml'), /^inv\.yml:\d+:\d+: malformed YAML/);
});

test('addresses: ip/access_ip first, ansible_host only without them, the host name when it is an address', () => {
  assert.equal(hostsOf('[kube_node]\nw1 ansible_host=10.0.0.9 ip=10.0.0.1'), { w1: { roles: 'worker', addresses: '10.0.0.1' } });
  assert.equal(hostsOf('[kube_node]\nw1 ansible_host=10.0.0.9'), { w1: { roles: 'worker', addresses: '10.0.0.9' } });
  assert.equal(hostsOf('[agent]\n10.0.0.7\nfd00::7'), { '10.0.0.7': { roles: 'worker', addresses: '10.0.0.7' }, 'fd00::7': { roles: 'worker', addresses: 'fd00::7' } });
  // A DNS ansible_host is where to SSH, not an address kubewall can filter on.
  throwsKubewall(() => hostsOf('[kube_node]\nw1 ansible_host=w1.example.com'), /^hosts\.ini:2: host w1: no address \(expected ip, access_ip, ip6, access_ip6 or ansible_host to be an IP address/);
  throwsKubewall(() => hostsOf('[kube_node]\nw1 ip=10.0.0.300'), /^hosts\.ini:2: host w1: ip: "10\.0\.0\.300" is not an IP address \(expected an IPv4 address/);
  throwsKubewall(() => hostsOf('[kube_node]\nw1 ip="{{ lookup(\'x\') }}"'), /host w1: ip: .* is a Jinja template, which kubewall does not evaluate/);
});

test('group → role mapping: defaults (kubespray, k3s-ansible), --group-role additions, overrides and none', () => {
  assert.equal(DEFAULT_GROUP_ROLES.get('kube_control_plane'), ['control-plane']);
  assert.equal(DEFAULT_GROUP_ROLES.get('server'), ['control-plane']);
  assert.equal(DEFAULT_GROUP_ROLES.get('agent'), ['worker']);
  const roles = parseGroupRoleFlags(['masters=control-plane,etcd', 'etcd=none', 'kube_node=worker']);
  assert.equal(roles.get('masters'), ['control-plane', 'etcd']);
  assert.equal(roles.get('etcd'), []);
  const inventory = parseInventory('[masters]\nm1 ip=10.0.0.1\n[etcd]\ne1 ip=10.0.0.2\n', 'hosts');
  const fleet = fleetFromInventory(inventory, roles);
  assert.equal(fleet.hosts.map((h) => [h.name, h.roles.join(',')]), [['m1', 'control-plane,etcd']]);
  assert.equal(fleet.skipped, ['e1']);
  throwsKubewall(() => parseGroupRoleFlags(['masters=boss']), /--group-role masters=boss: unknown role "boss" \(expected control-plane, worker, etcd or none\)/, 'USAGE');
  throwsKubewall(() => parseGroupRoleFlags(['masters']), /expected GROUP=ROLE\[,ROLE\] or GROUP=none/, 'USAGE');
  throwsKubewall(() => fleetFromInventory(parseInventory('[web]\nw ip=10.0.0.1\n', 'hosts')), /^hosts: no host is in a group mapped to a role \(groups here: web; mapped: .*map yours with --group-role GROUP=ROLE\)$/);
});

test('inventory nodes join a cluster; a node named in both is an error', async () => {
  const fleet = fleetFromInventory(parseInventory('[kube_node]\nw1 ip=10.0.0.1 ip6=fd00::1\n', 'hosts'));
  const cluster = clusterWithFleet(EMBEDDED_DEFAULT_CLUSTER, fleet.hosts, 'hosts');
  assert.equal(cluster.nodes!.map((n) => [n.name, n.roles, n.addresses.map((a) => a.text)]), [['w1', ['worker'], ['10.0.0.1', 'fd00::1']]]);
  assert.is(cluster.source, 'inventory hosts');
  assert.is(cluster.adminNetworks, null);
  const withNodes = { ...EMBEDDED_DEFAULT_CLUSTER, source: 'c.yaml', nodes: [{ name: 'w1', roles: ['worker' as const], addresses: [] }], locate: () => 'c.yaml:3:5' };
  throwsKubewall(() => clusterWithFleet(withNodes, fleet.hosts, 'hosts'), /^hosts:2: host w1 is also nodes\[0\] in c\.yaml:3:5/);
});

test('the example inventories parse: kubespray INI and k3s-ansible YAML', async () => {
  const ini = fleetFromInventory(await loadInventory('examples/inventory/kubespray.ini', REPO_ROOT));
  assert.equal(ini.hosts.map((h) => `${h.name}:${h.roles.join('+')}:${h.addresses.join('|')}`), [
    'cp-1:control-plane+etcd:10.10.0.11|fd00:10::11',
    'cp-2:control-plane+etcd:10.10.0.12|fd00:10::12',
    'cp-3:control-plane+etcd:10.10.0.13|fd00:10::13',
    'worker-01:worker:10.10.0.21|fd00:10::21',
    'worker-02:worker:10.10.0.22|fd00:10::22',
    'worker-03:worker:10.10.0.23',
  ]);
  assert.equal(ini.skipped, ['bastion-1']);
  const yaml = fleetFromInventory(await loadInventory('examples/inventory/k3s.yaml', REPO_ROOT));
  assert.equal(yaml.hosts.map((h) => `${h.name}:${h.roles.join('+')}:${h.addresses.join('|')}`), [
    '10.20.0.11:control-plane:10.20.0.11',
    '10.20.0.12:control-plane:10.20.0.12',
    '10.20.0.13:control-plane:10.20.0.13',
    'agent-01:worker:10.20.0.21',
    'agent-02:worker:10.20.0.22',
    'agent-03:worker:10.20.0.23',
    'agent-04:worker:10.20.0.24',
  ]);
});

test.run();
