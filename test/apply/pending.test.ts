import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { describeLastApply, describePending, nextWatcherStep, type PendingRecord } from '../../src/apply/pending.js';

const RECORD: PendingRecord = {
  version: 1,
  id: 'x',
  backend: 'nftables',
  roles: ['worker'],
  startedAt: '2026-01-01T00:00:00.000Z',
  deadline: 10_000,
  confirmTimeoutSeconds: 60,
  phase: 'applied',
  applyPid: 42,
  watcherPid: 43,
};

test('watcher: waits until the deadline, in short steps', () => {
  assert.equal(nextWatcherStep(RECORD, undefined, 0), { kind: 'wait', ms: 100 });
  assert.equal(nextWatcherStep(RECORD, undefined, 9_950), { kind: 'wait', ms: 50 });
});

test('watcher: rolls back at the deadline, whatever the phase', () => {
  assert.equal(nextWatcherStep(RECORD, undefined, 10_000), { kind: 'roll-back' });
  assert.equal(nextWatcherStep({ ...RECORD, phase: 'applying' }, undefined, 20_000), { kind: 'roll-back' });
});

test('watcher: stands down once anyone has claimed the outcome, or the record is gone', () => {
  for (const outcome of ['confirmed', 'rolled-back', 'failed'] as const) assert.equal(nextWatcherStep(RECORD, outcome, 20_000), { kind: 'stand-down' });
  assert.equal(nextWatcherStep(undefined, undefined, 0), { kind: 'stand-down' });
});

test('a second apply is told what is pending and how to end it', () => {
  const message = describePending(RECORD, true, 4_000, '/run/kubewall');
  assert.match(message, /--backend nftables --role worker \(pid 42/);
  assert.match(message, /kubewall confirm/);
  assert.match(message, /kubewall rollback \(or wait 6 s/);
});

test('a pending apply whose watcher died says its rules may still be in place', () => {
  const message = describePending(RECORD, false, 4_000, '/run/kubewall');
  assert.match(message, /rollback watcher \(pid 43\) is gone/);
  assert.match(message, /Run kubewall rollback/);
});

test('an apply still in progress, and a lock without a record, are named as such', () => {
  assert.match(describePending({ ...RECORD, phase: 'applying' }, true, 0, '/s'), /still being applied/);
  assert.match(describePending(undefined, false, 0, '/s'), /\/s\/pending exists without a record/);
});

test('confirm after an automatic rollback says when and why it rolled back', () => {
  const endedAt = new Date('2026-01-01T00:01:05.000Z');
  const log = '2026-01-01T00:01:05.000Z deadline passed without confirmation: restoring the saved state\n';
  const message = describeLastApply({ record: RECORD, outcome: 'rolled-back', endedAt, watcherLog: log }, '/run/kubewall');
  assert.match(message, /^nothing to confirm: no apply is pending in \/run\/kubewall: /);
  assert.match(message, /--backend nftables --role worker started 2026-01-01T00:00:00.000Z was rolled back at 2026-01-01T00:01:05.000Z/);
  assert.match(message, /not confirmed within --confirm-timeout 60s, so the watcher restored the previous rules/);
  const manual = describeLastApply({ record: RECORD, outcome: 'rolled-back', endedAt, watcherLog: '' }, '/run/kubewall');
  assert.match(manual, /kubewall rollback restored the previous rules/);
  assert.match(describeLastApply({ record: RECORD, outcome: 'confirmed', endedAt, watcherLog: '' }, '/s'), /already confirmed at 2026-01-01T00:01:05.000Z/);
  assert.match(describeLastApply({ record: RECORD, outcome: 'failed', endedAt, watcherLog: '' }, '/s'), /failed at .* left the previous rules in place/);
  assert.match(describeLastApply(undefined, '/s'), /none was made with this --state-dir/);
});

test.run();
