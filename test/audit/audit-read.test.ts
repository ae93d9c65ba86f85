import { readFileSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseIpsetAudit, iptablesAudit } from '../../src/backends/iptables/audit-read.js';
import { nftablesAudit, parseNftAudit } from '../../src/backends/nftables/audit-read.js';
import { isReadOnlyCommand } from '../../src/host/read-only.js';
import type { CommandOutcome, CommandRunner } from '../../src/host/types.js';
import { FIXTURES_DIR } from '../helpers/paths.js';

const fixture = (name: string) => readFileSync(`${FIXTURES_DIR}audit/${name}`, 'utf8');

test('nft: the records of audit-v4 and audit-v6 in nft -j list set output, one document a line', () => {
  const { records, notes } = parseNftAudit(fixture('nft-audit.json'), 'node-1.audit');
  assert.equal(notes, []);
  assert.equal(records.length, 5);
  assert.equal(records[0], { family: 'ipv4', source: '10.1.2.3', protocol: 'tcp', port: 30080, packets: 3, expiresInSeconds: 3500 });
  assert.equal(records[3], { family: 'ipv4', source: '10.40.0.21', protocol: 'esp', port: null, packets: 2, expiresInSeconds: 3000 });
  assert.equal(records[4]!.family, 'ipv6');
});

test('nft: nft -j list ruleset works too; other tables\' sets named audit-v4 are ignored', () => {
  const ruleset = JSON.stringify({
    nftables: [
      { set: { family: 'inet', table: 'other', name: 'audit-v4', elem: [{ elem: { val: { concat: ['10.9.9.9', 'tcp', 1] } } }] } },
      { set: { family: 'inet', table: 'kubewall', name: 'audit-v4', elem: [{ elem: { val: { concat: ['10.1.1.1', 'udp', 123] }, counter: { packets: 4, bytes: 1 } } }] } },
      { set: { family: 'inet', table: 'kubewall', name: 'audit-v6' } },
    ],
  });
  const { records, notes } = parseNftAudit(ruleset, 'ruleset.json');
  assert.equal(records, [{ family: 'ipv4', source: '10.1.1.1', protocol: 'udp', port: 123, packets: 4, expiresInSeconds: null }]);
  assert.equal(notes, []);
});

test('nft: a dump without the audit sets says so; text that is not nft -j output is an error', () => {
  const { records, notes } = parseNftAudit('{"nftables": [{"metainfo": {}}]}', 'x.json');
  assert.equal(records, []);
  assert.is(notes.length, 2);
  assert.match(notes[0]!, /no set inet kubewall audit-v4 \(is the audit render, kubewall render --audit, applied\?\)/);
  assert.throws(() => parseNftAudit('not json\n', 'x.json'), /x\.json: line 1 is not JSON/);
  assert.throws(() => parseNftAudit('{"a": 1}', 'x.json'), /not nft -j output/);
});

test('ipset: the records of KUBEWALL-AUDIT-V4/-V6 in ipset save; other sets ignored; ICMP and portless protocols have no port', () => {
  const { records, notes } = parseIpsetAudit(fixture('ipset-audit.txt'), 'node-1.audit');
  assert.equal(notes, []);
  assert.equal(
    records.map((r) => [r.family, r.source, r.protocol, r.port, r.packets]),
    [
      ['ipv4', '10.1.2.3', 'tcp', 30080, 3],
      ['ipv4', '10.244.1.5', 'udp', 53, 7],
      ['ipv4', '10.40.0.21', 'icmp', null, 2],
      ['ipv4', '10.40.0.21', 'esp', null, 2],
      ['ipv4', '10.40.0.21', '47', null, 1],
      ['ipv6', 'fd00:244::5', 'udp', 53, 2],
    ],
  );
  assert.is(parseIpsetAudit('', 'empty').notes.length, 2);
  assert.throws(() => parseIpsetAudit('add KUBEWALL-AUDIT-V4 what?', 'bad'), /bad: line 1: cannot read/);
});

test('the read-only guard allows exactly the audit readers\' commands', () => {
  for (const command of [...nftablesAudit.commands, ...iptablesAudit.commands]) {
    const [name, ...args] = command.split(' ');
    assert.ok(isReadOnlyCommand(name!, args), command);
  }
  assert.not.ok(isReadOnlyCommand('nft', ['flush', 'set', 'inet', 'kubewall', 'audit-v4']));
  assert.not.ok(isReadOnlyCommand('nft', ['-j', 'list', 'set', 'inet', 'kubewall', 'admin-v4']));
  assert.not.ok(isReadOnlyCommand('nft', ['-j', 'list', 'set', 'inet', 'kubewall', 'audit-v4;', 'flush', 'ruleset']));
  assert.not.ok(isReadOnlyCommand('ipset', ['flush', 'KUBEWALL-AUDIT-V4']));
});

function fakeRunner(answers: Record<string, CommandOutcome>): CommandRunner & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    run(command, args) {
      const line = [command, ...args].join(' ');
      calls.push(line);
      return Promise.resolve(answers[line] ?? { status: 'exited', exitCode: 1, stdout: '', stderr: 'unexpected' });
    },
  };
}

test('gather: a missing set is no error (nothing recorded, the parser says which); another failure is', async () => {
  const missing = { status: 'exited' as const, exitCode: 1, stdout: '', stderr: 'Error: No such file or directory\nlist set inet kubewall audit-v4' };
  const runner = fakeRunner({ 'nft -j list set inet kubewall audit-v4': missing, 'nft -j list set inet kubewall audit-v6': missing });
  const gathered = await nftablesAudit.gather(runner, {});
  assert.equal(runner.calls, ['nft -j list set inet kubewall audit-v4', 'nft -j list set inet kubewall audit-v6']);
  assert.is(nftablesAudit.parse(gathered.text, 'live').notes.length, 2);
  const denied = fakeRunner({ 'ipset save KUBEWALL-AUDIT-V4': { status: 'exited', exitCode: 1, stdout: '', stderr: 'ipset v7.17: Kernel error received: Operation not permitted' } });
  await iptablesAudit.gather(denied, {}).then(
    () => assert.unreachable('should fail'),
    (error: Error) => assert.match(error.message, /ipset save KUBEWALL-AUDIT-V4 failed \(exit 1\): ipset v7\.17: Kernel error/),
  );
});

test.run();
