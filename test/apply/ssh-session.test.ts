import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { checkSshSession, describeDroppedSession, parseSshConnection } from '../../src/apply/ssh-session.js';
import { isKubewallError } from '../../src/errors.js';
import type { Plan, PlanRule } from '../../src/plan/types.js';

function rule(id: string, peer: PlanRule['peer'], from: number, to = from, protocol: PlanRule['protocol'] = 'tcp'): PlanRule {
  return { id, entry: id, purpose: id, protocol, ports: [{ from, to }], peer, action: 'accept', filterBeforeDnat: false, usedBy: '', source: { document: 'test' }, comment: id } as unknown as PlanRule;
}

function plan(rules: PlanRule[], admin: string[] = ['10.99.0.0/24', 'fd00:99::/64'], sshPort = 22): Plan {
  return {
    rules,
    ssh: { enabled: true, port: sshPort },
    sets: [
      { name: 'admin-v4', peer: 'admin', family: 'ipv4', elements: admin.filter((a) => !a.includes(':')), defaulted: false },
      { name: 'admin-v6', peer: 'admin', family: 'ipv6', elements: admin.filter((a) => a.includes(':')), defaulted: false },
      { name: 'nodes-v4', peer: 'nodes', family: 'ipv4', elements: ['10.10.0.11', '10.10.0.21'], defaulted: false },
    ],
  } as unknown as Plan;
}

const SSH = rule('ssh/tcp/admin', 'admin', 22);
const session = (value: string) => parseSshConnection(value)!;

test('SSH_CONNECTION: unset or empty is not an SSH session', () => {
  assert.is(parseSshConnection(undefined), undefined);
  assert.is(parseSshConnection('  '), undefined);
});

test('SSH_CONNECTION: the four fields; IPv4-mapped clients and zone ids are unwrapped', () => {
  assert.equal(parseSshConnection('10.99.0.5 50122 10.10.0.11 22'), { clientAddress: '10.99.0.5', clientPort: 50122, serverAddress: '10.10.0.11', serverPort: 22 });
  assert.is(session('::ffff:10.99.0.5 50122 ::ffff:10.10.0.11 2222').clientAddress, '10.99.0.5');
  assert.is(session('fe80::1%eth0 50122 fe80::2%eth0 22').clientAddress, 'fe80::1');
});

test('SSH_CONNECTION: anything else is a usage error that shows the expected form', () => {
  for (const bad of ['10.99.0.5 50122 10.10.0.11', 'host 1 10.0.0.1 22', '10.99.0.5 50122 10.10.0.11 70000', '10.99.0.5 x 10.10.0.11 22', '10.99.0.5 1 10.10.0.11 22 extra']) {
    try {
      parseSshConnection(bad);
      assert.unreachable(bad);
    } catch (error) {
      assert.ok(isKubewallError(error) && error.code === 'USAGE', bad);
      assert.match((error as Error).message, /expected "client-address client-port server-address server-port"/);
    }
  }
});

test('kept: the client is in the admin set on the SSH port (IPv4 and IPv6)', () => {
  const verdict = checkSshSession(plan([SSH]), session('10.99.0.5 50122 10.10.0.11 22'));
  assert.is(verdict.kind, 'kept');
  assert.match(verdict.kind === 'kept' ? verdict.reason : '', /ssh\/tcp\/admin accepts admin \(10\.99\.0\.0\/24 in admin-v4\)/);
  assert.is(checkSshSession(plan([SSH]), session('fd00:99::7 50122 fd00:10::11 22')).kind, 'kept');
});

test('dropped: the client is outside every set that reaches the port', () => {
  assert.is(checkSshSession(plan([SSH]), session('203.0.113.9 50122 10.10.0.11 22')).kind, 'dropped');
  // An IPv6 client is never matched against IPv4 sets.
  assert.is(checkSshSession(plan([SSH], ['10.99.0.0/24']), session('fd00:99::7 50122 fd00:10::11 22')).kind, 'dropped');
});

test('dropped: sshd listens on another port than the plan opens', () => {
  const verdict = checkSshSession(plan([SSH]), session('10.99.0.5 50122 10.10.0.11 2222'));
  assert.is(verdict.kind, 'dropped');
  assert.match(describeDroppedSession(session('10.99.0.5 50122 10.10.0.11 2222'), plan([SSH])), /set ssh\.port to 2222/);
});

test('kept: any rule whose port range covers the SSH port counts, from any peer class or everyone', () => {
  assert.is(checkSshSession(plan([rule('wide/tcp/nodes', 'nodes', 1, 1024)]), session('10.10.0.21 50122 10.10.0.11 22')).kind, 'kept');
  assert.is(checkSshSession(plan([rule('open/tcp/any', 'any', 22)]), session('203.0.113.9 50122 10.10.0.11 22')).kind, 'kept');
  assert.is(checkSshSession(plan([rule('udp/any', 'any', 22, 22, 'udp')]), session('203.0.113.9 50122 10.10.0.11 22')).kind, 'dropped');
  assert.is(checkSshSession(plan([rule('self', 'self', 22)]), session('203.0.113.9 50122 10.10.0.11 22')).kind, 'dropped');
});

test('kept: a loopback client (ssh localhost) is accepted by the baseline', () => {
  assert.is(checkSshSession(plan([]), session('127.0.0.1 50122 127.0.0.1 22')).kind, 'kept');
  assert.is(checkSshSession(plan([]), session('::1 50122 ::1 22')).kind, 'kept');
});

test('the refusal names the client, the port and the way out', () => {
  const message = describeDroppedSession(session('203.0.113.9 50122 10.10.0.11 22'), plan([SSH]));
  assert.match(message, /drop new SSH connections from 203\.0\.113\.9 to port 22/);
  assert.match(message, /adminNetworks/);
  assert.match(message, /--allow-dropping-ssh-session/);
  assert.not.match(message, /ssh\.port/);
});

test.run();
