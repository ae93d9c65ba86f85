import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { findSshConnection, parentPidFromStat, sshConnectionFromEnviron } from '../../src/apply/find-ssh-connection.js';

/** A fake /proc: pid → [environ, parent pid]. */
function proc(table: Record<number, [string, number]>) {
  const reads: string[] = [];
  const read = async (file: string) => {
    reads.push(file);
    const [, pid, kind] = /^\/proc\/(\d+)\/(environ|stat)$/.exec(file)!;
    const entry = table[Number(pid)];
    if (!entry) throw Object.assign(new Error('ENOENT'), { code: 'ENOENT' });
    return kind === 'environ' ? entry[0] : `${pid} (sudo (x) y) S ${entry[1]} 1 1 0`;
  };
  return { read, reads };
}

test('environ and stat parsing', () => {
  assert.is(sshConnectionFromEnviron('HOME=/root\0SSH_CONNECTION=10.99.0.5 50122 10.10.0.11 22\0TERM=xterm\0'), '10.99.0.5 50122 10.10.0.11 22');
  assert.is(sshConnectionFromEnviron('HOME=/root\0'), undefined);
  assert.is(parentPidFromStat('123 (a) b) c) S 77 123 123 0'), 77);
});

test('the own environment wins; set but empty means "not SSH" and no ancestor is read', async () => {
  const fake = proc({ 10: ['SSH_CONNECTION=203.0.113.9 1 10.0.0.1 22\0', 1] });
  assert.equal(await findSshConnection({ SSH_CONNECTION: '10.99.0.5 1 10.0.0.1 22' }, 10, fake.read), { value: '10.99.0.5 1 10.0.0.1 22', from: 'the environment' });
  assert.is(await findSshConnection({ SSH_CONNECTION: '' }, 10, fake.read), undefined);
  assert.equal(fake.reads, []);
});

test('unset (sudo dropped it): the nearest ancestor that has it', async () => {
  const fake = proc({ 30: ['PATH=/usr/bin\0', 20], 20: ['SSH_CONNECTION=10.99.0.5 50122 10.10.0.11 22\0', 10], 10: ['SSH_CONNECTION=other 1 2 3\0', 1] });
  assert.equal(await findSshConnection({}, 30, fake.read), { value: '10.99.0.5 50122 10.10.0.11 22', from: "process 20's environment" });
});

test('no ancestor has it, or /proc cannot be read: no session', async () => {
  assert.is(await findSshConnection({}, 30, proc({ 30: ['PATH=/usr/bin\0', 20], 20: ['\0', 1] }).read), undefined);
  assert.is(await findSshConnection({}, 30, proc({}).read), undefined);
});

test.run();
