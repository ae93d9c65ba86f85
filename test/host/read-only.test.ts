import { readFileSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { nftablesHostReader } from '../../src/backends/nftables/host-read.js';
import { nftablesBackend } from '../../src/backends/nftables/index.js';
import { firewalldHostReader } from '../../src/backends/firewalld/host-read.js';
import { iptablesHostReader } from '../../src/backends/iptables/host-read.js';
import { ufwHostReader } from '../../src/backends/ufw/host-read.js';
import { diffHost, diffWithReader } from '../../src/diff/diff-host.js';
import { isKubewallError } from '../../src/errors.js';
import { guardReadOnly, isReadOnlyCommand } from '../../src/host/read-only.js';
import type { CommandOutcome, CommandRunner, HostReader } from '../../src/host/types.js';
import { planFromFiles } from '../../src/load-plan.js';
import { listChainArgs, listChainFromSave } from '../helpers/fake-iptables.js';
import { FIXTURES_DIR, REPO_ROOT } from '../helpers/paths.js';

/** A fake host: answers each command from a table and records every command it was asked to run. */
function recordingRunner(answer: (command: string, args: readonly string[]) => CommandOutcome): CommandRunner & { calls: string[][] } {
  const calls: string[][] = [];
  return {
    calls,
    async run(command, args) {
      calls.push([command, ...args]);
      return answer(command, args);
    },
  };
}

const ok = (stdout: string): CommandOutcome => ({ status: 'exited', exitCode: 0, stdout, stderr: '' });
const failed = (exitCode: number, stderr: string): CommandOutcome => ({ status: 'exited', exitCode, stdout: '', stderr });
const APPLIED = readFileSync(`${FIXTURES_DIR}nftables/example-worker-applied.json`, 'utf8');

const ALLOWED = [
  'nft -j list ruleset',
  'nft list ruleset',
  'iptables-save',
  'ip6tables-legacy-save -t filter',
  'ipset save',
  'firewall-cmd --state',
  'firewall-cmd --permanent --info-zone=public',
  'firewall-cmd --permanent --list-all-zones',
  'firewall-cmd --permanent --info-ipset=kubewall-admin-v4',
  'firewall-cmd --get-ipsets',
  'firewall-cmd --version',
  'cat /etc/firewalld/firewalld.conf',
  'ufw status verbose',
  'ufw show added',
  'cat /proc/net/ip_tables_names',
  'iptables -V',
  'iptables-nft-save',
  'ip6tables-nft-save',
  'cat /etc/default/ufw',
  'cat /etc/ufw/user.rules',
  'cat /etc/ufw/user6.rules',
  // kubewall detect
  'ip -d -j addr show',
  'ss -H -lntuwp',
  'nft -j list tables',
  'iptables-nft -t nat -S KUBE-SERVICES 1',
  'ip6tables-nft -t nat -S KUBE-SERVICES 1',
  'iptables-legacy -t nat -S KUBE-SERVICES 1',
  'ip6tables-legacy -t nat -S KUBE-SERVICES 1',
  // kubewall diff, live
  'nft -j list table inet kubewall',
  'nft -j list chains',
  'nft -j list chain ip filter INPUT',
  'nft -j list chain inet kube-proxy filter-input',
  'iptables-nft -t filter -S INPUT',
  'ip6tables-legacy -t mangle -S KUBEWALL-BEFORE-DNAT',
];
const REFUSED = [
  'ip link set eth0 down',
  'ip addr add 10.0.0.1/32 dev lo',
  'ip -d -j addr show ; ip link del eth0',
  'ip netns exec x nft flush ruleset',
  'ss -K -lntuwp',
  'ss -H -lntuwp -K',
  'iptables-nft -t nat -F KUBE-SERVICES',
  'iptables-nft -t nat -S',
  'iptables-legacy -t nat -N KUBE-SERVICES',
  'ip6tables-legacy -t nat -X KUBE-SERVICES',
  'nft flush ruleset',
  'nft -f /tmp/x.nft',
  'nft -j list ruleset ; nft flush ruleset',
  'nft add rule inet kubewall input accept',
  'nft delete table inet kubewall',
  'iptables -F',
  'iptables-restore',
  'iptables-save -t filter -F',
  'ipset flush',
  'firewall-cmd --reload',
  'firewall-cmd --state --add-port=22/tcp',
  'firewall-cmd',
  'firewall-cmd --runtime-to-permanent',
  'firewall-cmd --complete-reload',
  'firewall-cmd --panic-on',
  'firewall-cmd --set-default-zone=trusted',
  'firewall-cmd --permanent --new-ipset=x --type=hash:net',
  'firewall-cmd --permanent --delete-zone=kubewall',
  'firewall-cmd --zone=kubewall --add-rich-rule=rule',
  'firewall-cmd --zone=kubewall --remove-source=0.0.0.0/0',
  'firewall-cmd --ipset=kubewall-admin-v4 --add-entry=10.0.0.1',
  'firewall-cmd --permanent --ipset=kubewall-admin-v4 --remove-entries-from-file=/tmp/x',
  'firewall-cmd --permanent --zone=kubewall --set-target=ACCEPT',
  'firewall-cmd --direct --passthrough ipv4 -F',
  'firewall-cmd --reset-to-defaults',
  'firewall-cmd --lockdown-on',
  'firewall-cmd --set-log-denied=all',
  'firewall-cmd --list-all-zones --reload',
  'cat /etc/firewalld/zones/kubewall.xml',
  'ufw enable',
  'ufw status ; ufw disable',
  'cat /etc/shadow',
  'cat /etc/ufw/user.rules /etc/shadow',
  'cat /etc/ufw/../shadow',
  'iptables -V -F',
  'iptables -S',
  'ipset destroy',
  'ipset restore',
  'ufw reload',
  'ufw allow 22/tcp',
  'sh -c nft',
  'rm -rf /',
  'nft -j list chain ip filter INPUT;flush',
  'nft -j list chain ip filter -f',
  'nft -j list table ip nat',
  'nft -j list chain ip filter',
  'nft list chain ip filter INPUT flush ruleset',
  'iptables-nft -t filter -F INPUT',
  'iptables-nft -t nat -S',
  'iptables-nft -t filter -S',
  'iptables-nft -t filter -S INPUT -Z',
  'ip6tables-legacy -t filter -D INPUT 1',
];
for (const line of ALLOWED) test(`read-only: allows ${line}`, () => assert.ok(isReadOnlyCommand(line.split(' ')[0]!, line.split(' ').slice(1))));
for (const line of REFUSED) test(`read-only: refuses ${line}`, () => assert.not.ok(isReadOnlyCommand(line.split(' ')[0]!, line.split(' ').slice(1))));

test('guardReadOnly refuses before the command reaches the runner', async () => {
  const inner = recordingRunner(() => ok(''));
  const guarded = guardReadOnly(inner);
  try {
    await guarded.run('nft', ['flush', 'ruleset']);
    assert.unreachable('should have refused');
  } catch (error) {
    assert.ok(isKubewallError(error) && error.code === 'HOST_READ');
    assert.match((error as Error).message, /refusing to run nft flush ruleset/);
  }
  assert.equal(inner.calls, []);
  await guarded.run('nft', ['-j', 'list', 'ruleset']);
  assert.equal(inner.calls, [['nft', '-j', 'list', 'ruleset']]);
});

/** Every way the host can answer, per command: success with odd output, failures, missing tools, timeouts. */
const ANSWERS: CommandOutcome[] = [
  ok(APPLIED),
  ok(''),
  ok('filter\nnat\n'),
  ok('*filter\n:INPUT DROP [0:0]\n-A INPUT -j ACCEPT\nCOMMIT\n'),
  ok('running\n'),
  ok('Status: active\n'),
  failed(1, 'Error: Could not process rule: Operation not permitted'),
  failed(252, 'not running'),
  { status: 'not-found' },
  { status: 'timed-out', timeoutMs: 10_000 },
];

test('the nftables reader never runs a command that changes state, whatever the host answers (recording runner, no guard)', async () => {
  let runs = 0;
  for (let seed = 0; seed < ANSWERS.length ** 2; seed++) {
    // Two answer streams: one for the ruleset dump, one cycling through every probe.
    const runner = recordingRunner((command, args) => {
      const index = command === 'nft' ? seed % ANSWERS.length : (Math.floor(seed / ANSWERS.length) + args.length + command.length) % ANSWERS.length;
      return ANSWERS[index]!;
    });
    // Unguarded on purpose: the recorder must see every command the reader tries.
    await Promise.resolve()
      .then(async () => nftablesHostReader.parse(await nftablesHostReader.gather(runner)))
      .catch((error: unknown) => {
        if (!isKubewallError(error) || error.code !== 'HOST_READ') throw error;
      });
    for (const call of runner.calls) assert.ok(isReadOnlyCommand(call[0]!, call.slice(1)), `ran ${call.join(' ')}`);
    assert.equal(runner.calls[0], ['nft', '-j', 'list', 'table', 'inet', 'kubewall']);
    assert.not.ok(runner.calls.some((call) => call.join(' ').includes('list ruleset')), 'never the whole ruleset');
    runs += runner.calls.length;
  }
  assert.ok(runs > ANSWERS.length ** 2, 'the probes ran too');
});

test('diff runs every reader behind the guard: a reader that tries to write is refused before the command starts', async () => {
  const plan = await planFromFiles({ roles: ['worker'], clusterFile: 'examples/cluster.yaml', cwd: REPO_ROOT });
  const writer: HostReader = {
    ...nftablesHostReader,
    async gather(runner) {
      await runner.run('nft', ['flush', 'ruleset']);
      return nftablesHostReader.gather(runner);
    },
  };
  const runner = recordingRunner(() => ok(APPLIED));
  try {
    await diffWithReader(plan, nftablesBackend, writer, { kind: 'live', runner });
    assert.unreachable('should have refused');
  } catch (error) {
    assert.ok(isKubewallError(error) && error.code === 'HOST_READ', String(error));
    assert.match((error as Error).message, /refusing to run nft flush ruleset/);
  }
  assert.equal(runner.calls, []);
  const honest = recordingRunner((command) => (command === 'nft' ? ok(APPLIED) : { status: 'not-found' }));
  const report = await diffHost(plan, 'nftables', { kind: 'live', runner: honest });
  assert.ok(report.result.inSync);
  assert.equal(honest.calls[0], ['nft', '-j', 'list', 'table', 'inet', 'kubewall']);
});

const FAILURES: [string, CommandOutcome, RegExp][] = [
  ['nft not installed', { status: 'not-found' }, /^nft -j list table inet kubewall: nft is not installed \(install nftables, or diff against a saved dump with --from FILE\)$/],
  ['not root', failed(1, 'netlink: Error: cache initialization failed: Operation not permitted'), /permission denied, reading the ruleset needs root/],
  ['timeout', { status: 'timed-out', timeoutMs: 10_000 }, /no answer within 10 s/],
  ['other failure', failed(1, 'Error: JSON support not compiled-in'), /failed with exit code 1: Error: JSON support not compiled-in/],
  ['unparsable output', ok('Error: nonsense'), /cannot parse the nftables ruleset/],
];
for (const [name, outcome, pattern] of FAILURES) {
  test(`gather: ${name} is one clear HOST_READ error`, async () => {
    const runner = recordingRunner((command) => (command === 'nft' ? outcome : { status: 'not-found' }));
    try {
      nftablesHostReader.parse(await nftablesHostReader.gather(guardReadOnly(runner)));
      assert.unreachable('should have thrown');
    } catch (error) {
      assert.ok(isKubewallError(error) && error.code === 'HOST_READ', String(error));
      assert.match((error as Error).message, pattern);
    }
  });
}

test('probes: firewalld running, ufw active and iptables-legacy rules become warnings; missing tools are skipped', async () => {
  const runner = recordingRunner((command, args) => {
    if (command === 'nft') return ok(APPLIED);
    if (command === 'firewall-cmd') return ok('running\n');
    if (command === 'ufw') return ok('Status: active\n');
    if (command === 'cat') return args[0] === '/proc/net/ip_tables_names' ? ok('filter\n') : ok('');
    if (command === 'iptables-legacy-save') return ok('*filter\n:INPUT DROP [0:0]\n-A INPUT -p tcp --dport 22 -j ACCEPT\nCOMMIT\n');
    return { status: 'not-found' };
  });
  const host = nftablesHostReader.parse(await nftablesHostReader.gather(guardReadOnly(runner)));
  assert.equal(host.warnings.map((w) => w.code), ['firewalld-active', 'ufw-active', 'iptables-legacy']);
  assert.match(host.warnings[2]!.message, /iptables-legacy-save shows 1 rule and 1 DROP policy/);
  assert.not.ok(runner.calls.some((c) => c[0] === 'ip6tables-legacy-save'), 'no ip6 legacy tables loaded, so not dumped');

  const quiet = recordingRunner((command) => (command === 'nft' ? ok(APPLIED) : { status: 'not-found' }));
  assert.equal(nftablesHostReader.parse(await nftablesHostReader.gather(quiet)).warnings, []);
});

/** firewalld's answers: its outputs as captured, odd ones, and every way firewall-cmd fails. */
const FIREWALLD_DUMP = readFileSync(`${FIXTURES_DIR}firewalld/runtime-only-changes.txt`, 'utf8');
const FIREWALLD_ANSWERS: CommandOutcome[] = [
  ok(FIREWALLD_DUMP.split('==> ')[1]!.replace(/^[^\n]*\n/, '')),
  ok('kubewall-admin-v4 kubewall-x;rm kubewall-$(reboot) other\n'),
  ok('kubewall-admin-v4\n  type: hash:net\n  options: family=inet\n  entries: 10.0.0.1\n'),
  ok('1.3.3\n'),
  ok('*nat\n-A PREROUTING -j KUBE-SERVICES\nCOMMIT\n'),
  ok(''),
  failed(252, 'not running'),
  failed(11, 'Authorization failed.\nError: NOT_AUTHORIZED'),
  failed(135, 'Error: INVALID_IPSET: x'),
  { status: 'not-found' },
  { status: 'timed-out', timeoutMs: 10_000 },
];

test('the firewalld reader never runs a command that changes state, whatever the host answers (recording runner, no guard)', async () => {
  let runs = 0;
  const n = FIREWALLD_ANSWERS.length;
  for (let seed = 0; seed < n ** 2; seed++) {
    const runner = recordingRunner((command, args) => {
      const index = args[0] === '--list-all-zones' ? seed % n : (Math.floor(seed / n) + args.join(' ').length + command.length) % n;
      return FIREWALLD_ANSWERS[index]!;
    });
    // Unguarded on purpose: the recorder must see every command the reader tries.
    await Promise.resolve()
      .then(async () => firewalldHostReader.parse(await firewalldHostReader.gather(runner)))
      .catch((error: unknown) => {
        if (!isKubewallError(error) || error.code !== 'HOST_READ') throw error;
      });
    for (const call of runner.calls) assert.ok(isReadOnlyCommand(call[0]!, call.slice(1)), `ran ${call.join(' ')}`);
    assert.equal(runner.calls[0], ['firewall-cmd', '--list-all-zones']);
    runs += runner.calls.length;
  }
  assert.ok(runs > n ** 2 * 3, 'the later commands and probes ran too');
});

// The iptables and ufw readers, likewise: every answer to every command, with and without --iptables-variant.
const IPTABLES_APPLIED = readFileSync(`${FIXTURES_DIR}iptables/example-worker-applied.dump`, 'utf8');
const UFW_APPLIED = readFileSync(`${FIXTURES_DIR}ufw/example-worker-applied.dump`, 'utf8');
const MORE_ANSWERS: CommandOutcome[] = [
  ...ANSWERS,
  ok(IPTABLES_APPLIED),
  ok(UFW_APPLIED),
  ok('iptables v1.8.9 (legacy)\n'),
  ok('create KUBEWALL-A-V4 hash:net family inet\n'),
  ok('filter\nmangle\nnat\n'),
  ok('-P INPUT DROP\n-A INPUT -j KUBEWALL-INPUT\n'),
];
const READERS: [string, HostReader, Record<string, string>[]][] = [
  ['iptables', iptablesHostReader, [{}, { iptablesVariant: 'nft' }, { iptablesVariant: 'legacy' }, { iptablesVariant: 'auto' }]],
  ['ufw', ufwHostReader, [{}]],
];
for (const [name, reader, optionSets] of READERS) {
  test(`the ${name} reader never runs a command that changes state, whatever the host answers (recording runner, no guard)`, async () => {
    const ran = new Set<string>();
    for (const options of optionSets) {
      for (let seed = 0; seed < MORE_ANSWERS.length ** 2; seed++) {
        const runner = recordingRunner((command, args) => {
          const main = /^ip6?tables-(nft|legacy)$/.test(command) || (command === 'ufw' && args[0] === 'status');
          const index = main ? seed % MORE_ANSWERS.length : (Math.floor(seed / MORE_ANSWERS.length) + args.length + command.length) % MORE_ANSWERS.length;
          return MORE_ANSWERS[index]!;
        });
        await Promise.resolve()
          .then(async () => reader.parse(await reader.gather(runner, options)))
          .catch((error: unknown) => {
            if (!isKubewallError(error) || error.code !== 'HOST_READ') throw error;
          });
        for (const call of runner.calls) {
          assert.ok(isReadOnlyCommand(call[0]!, call.slice(1)), `ran ${call.join(' ')}`);
          ran.add(call.join(' '));
        }
      }
    }
    const expected =
      name === 'ufw'
        ? ['ufw status verbose', 'cat /etc/ufw/user.rules']
        : ['iptables -V', 'iptables-nft -t filter -S INPUT', 'ip6tables-nft -t mangle -S KUBEWALL-BEFORE-DNAT', 'iptables-legacy -t filter -S KUBEWALL-INPUT', 'iptables-legacy-save -t filter', 'ipset save'];
    for (const command of expected) assert.ok(ran.has(command), `never ran ${command}: ${[...ran].join(', ')}`);
    // kube-proxy's nat table is never read, and no whole-ruleset dump (18 s on a busy node).
    for (const command of ran) assert.not.ok(/nat|^ip6?tables-(nft|legacy)-save$/.test(command), `ran ${command}`);
  });
}

test('iptables: the variant is --iptables-variant when given, else what iptables -V says; only kubewall\'s chains and the built-ins that jump to them are listed', async () => {
  const answer = (version: string) => (command: string, args: readonly string[]) =>
    command === 'iptables'
      ? ok(version)
      : command === 'ipset' || command.endsWith('-save')
        ? ok('')
        : command === 'cat'
          ? ok('filter\nmangle\nnat\n')
          : listChainArgs(args)
            ? listChainFromSave(IPTABLES_APPLIED, listChainArgs(args)!.table, listChainArgs(args)!.chain)
            : ({ status: 'not-found' } as CommandOutcome);
  const legacy = recordingRunner(answer('iptables v1.8.9 (legacy)'));
  await iptablesHostReader.gather(guardReadOnly(legacy), {});
  assert.equal(legacy.calls[0], ['iptables', '-V']);
  const lists = (calls: string[][], tool: string) => calls.filter((c) => c[0] === tool).map((c) => c.slice(1).join(' ')).sort();
  const OWN = ['-t filter -S INPUT', '-t filter -S KUBEWALL-INPUT', '-t mangle -S KUBEWALL-BEFORE-DNAT', '-t mangle -S PREROUTING'];
  assert.equal(lists(legacy.calls, 'iptables-legacy'), OWN);
  assert.equal(lists(legacy.calls, 'ip6tables-legacy'), OWN);
  const forced = recordingRunner(answer('iptables v1.8.9 (legacy)'));
  await iptablesHostReader.gather(guardReadOnly(forced), { iptablesVariant: 'nft' });
  assert.equal(lists(forced.calls, 'iptables-nft'), OWN);
  assert.equal(lists(forced.calls, 'ip6tables-nft'), OWN);
  assert.not.ok(forced.calls.some((c) => c[0] === 'iptables'));
  // On a legacy host the other variant's filter table is dumped for the mixed-rules warning, never the legacy tables twice.
  assert.ok(legacy.calls.some((c) => c.join(' ') === 'iptables-nft-save -t filter'));
  assert.not.ok(legacy.calls.some((c) => c[0] === 'iptables-legacy-save' && legacy.calls.filter((d) => d[0] === 'iptables-legacy-save').length > 3));
  // A legacy table that is not loaded is not named (naming it would load its module).
  const bare = recordingRunner((command, args) => (command === 'cat' ? ok('filter\n') : answer('iptables v1.8.9 (legacy)')(command, args)));
  await iptablesHostReader.gather(guardReadOnly(bare), { iptablesVariant: 'legacy' });
  assert.not.ok(bare.calls.some((c) => c[0]!.startsWith('ip') && c.includes('mangle')), bare.calls.map((c) => c.join(' ')).join('\n'));
});

const BACKEND_FAILURES: [string, HostReader, string, CommandOutcome, RegExp][] = [
  ['iptables', iptablesHostReader, 'iptables-nft', { status: 'not-found' }, /^iptables-nft -t \w+ -S [\w-]+: iptables-nft is not installed \(install iptables, or diff against a saved dump with --from FILE\)$/],
  ['iptables', iptablesHostReader, 'ipset', { status: 'not-found' }, /^ipset save: ipset is not installed \(install ipset/],
  ['iptables', iptablesHostReader, 'iptables-nft', failed(4, 'iptables v1.8.9 (nf_tables): Could not fetch rule set generation id: Permission denied (you must be root)'), /permission denied, reading the ruleset needs root/],
  ['iptables', iptablesHostReader, 'ip6tables-nft', { status: 'timed-out', timeoutMs: 10_000 }, /^ip6tables-nft -t \w+ -S [\w-]+: no answer within 10 s/],
  ['iptables', iptablesHostReader, 'iptables-nft', ok('Bad output\n'), /cannot parse the iptables ruleset: iptables-nft -t \w+ -S [\w-]+: line 1: not iptables -S output/],
  ['ufw', ufwHostReader, 'ufw', { status: 'not-found' }, /^ufw status verbose: ufw is not installed \(install ufw/],
  ['ufw', ufwHostReader, 'ufw', failed(1, 'ERROR: You need to be root to run this script'), /permission denied, reading the ruleset needs root/],
  ['ufw', ufwHostReader, 'ufw', { status: 'timed-out', timeoutMs: 10_000 }, /^ufw status verbose: no answer within 10 s/],
  ['ufw', ufwHostReader, 'cat', failed(1, 'cat: /etc/ufw/user.rules: Permission denied'), /^cat \/etc\/ufw\/user.rules: permission denied/],
  ['ufw', ufwHostReader, 'cat', ok('garbage\n*filter\n'), /no COMMIT/],
];
for (const [name, reader, failing, outcome, pattern] of BACKEND_FAILURES) {
  test(`${name} gather: ${failing} ${outcome.status === 'exited' ? `exit ${outcome.exitCode}` : outcome.status} is one clear HOST_READ error`, async () => {
    const runner = recordingRunner((command) => {
      if (command === failing) return outcome;
      if (command === 'ufw') return ok('Status: active\n');
      if (command === 'cat') return ok(UFW_APPLIED);
      if (command.endsWith('-save') || command === 'ipset') return ok('');
      if (/^ip6?tables-nft$/.test(command)) return ok('');
      return { status: 'not-found' };
    });
    try {
      await reader.parse(await reader.gather(guardReadOnly(runner), { iptablesVariant: 'nft' }));
      assert.unreachable('should have thrown');
    } catch (error) {
      assert.ok(isKubewallError(error) && error.code === 'HOST_READ', String(error));
      assert.match((error as Error).message, pattern);
    }
  });
}

test('diff runs the iptables and ufw readers behind the guard, and in sync against their applied fixtures', async () => {
  const plan = await planFromFiles({ roles: ['worker'], clusterFile: 'examples/cluster.yaml', cwd: REPO_ROOT });
  const ipv6At = IPTABLES_APPLIED.indexOf('# Generated by ip6tables');
  const setsAt = IPTABLES_APPLIED.indexOf('create ');
  const [v4, v6, sets] = [IPTABLES_APPLIED.slice(0, ipv6At), IPTABLES_APPLIED.slice(ipv6At, setsAt), IPTABLES_APPLIED.slice(setsAt)];
  const iptables = recordingRunner((command, args) => {
    const list = listChainArgs(args);
    if (list && command === 'iptables-nft') return listChainFromSave(v4, list.table, list.chain);
    if (list && command === 'ip6tables-nft') return listChainFromSave(v6, list.table, list.chain);
    return command === 'ipset' ? ok(sets) : { status: 'not-found' };
  });
  assert.ok((await diffHost(plan, 'iptables', { kind: 'live', runner: iptables }, { iptablesVariant: 'nft' })).result.inSync);
  const ufw = recordingRunner((command) => (command === 'ufw' || command === 'cat' ? ok(UFW_APPLIED) : { status: 'not-found' }));
  const report = await diffHost(plan, 'ufw', { kind: 'live', runner: ufw });
  assert.ok(report.result.inSync, JSON.stringify(report.result));
});

test.run();
