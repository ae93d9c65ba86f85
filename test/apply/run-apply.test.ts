import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { ApplyBackend } from '../../src/apply/host-snapshot.js';
import { runApply, type ApplyRequest } from '../../src/apply/run-apply.js';
import { StateStore } from '../../src/apply/state-store.js';
import type { WriteRunner } from '../../src/apply/write-runner.js';
import { isKubewallError } from '../../src/errors.js';
import { planFromFiles } from '../../src/load-plan.js';
import { renderPlan } from '../../src/render/render-plan.js';
import { fail, fakeWriteRunner, ok } from '../helpers/fake-write-runner.js';
import { REPO_ROOT } from '../helpers/paths.js';

// The orchestration with a fake host: which commands run, in which order, and what is left in the state directory.

const fakeHost = fakeWriteRunner;

async function request(backend: ApplyBackend, runner: WriteRunner, store: StateStore, extra: Partial<ApplyRequest> = {}): Promise<ApplyRequest> {
  const plan = await planFromFiles({ roles: ['worker'], clusterFile: 'examples/cluster.yaml', cwd: REPO_ROOT });
  const [file] = (await renderPlan(plan, backend, { backendOptions: backend === 'iptables' ? { iptablesVariant: 'nft' } : {} })).files;
  return {
    backend,
    backendOptions: backend === 'iptables' ? { iptablesVariant: 'nft' } : {},
    plan,
    file: file!,
    confirmTimeoutSeconds: 60,
    store,
    runner,
    sshConnection: undefined,
    allowDroppingSshSession: false,
    say: () => undefined,
    // Stands in for the detached watcher: ready at once, and alive (this process).
    startWatcher: async (s) => {
      await writeFile(s.file('watcher-ready'), 'ready');
      return process.pid;
    },
    ...extra,
  };
}

async function withStore(fn: (store: StateStore) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(path.join(tmpdir(), 'kubewall-run-apply-'));
  try {
    await fn(new StateStore(path.join(dir, 'state')));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function rejects(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    assert.ok(isKubewallError(error), String(error));
    return error as Error;
  }
  return assert.unreachable('expected an error') as never;
}

test('nftables: saves kubewall\'s table, then applies the file; the pending apply waits for confirmation', async () => {
  await withStore(async (store) => {
    const host = fakeHost((line) => (line.startsWith('nft list') ? fail('Error: No such file or directory') : ok()));
    assert.is(await runApply(await request('nftables', host, store)), 0);
    assert.equal(host.calls, ['nft list table inet kubewall', `nft -f ${store.pendingDir}/applied-kubewall.nft`]);
    assert.equal(JSON.parse(await readFile(store.file('snapshot.json'), 'utf8')), { backend: 'nftables', table: null });
    const record = await store.readRecord();
    assert.is(record?.phase, 'applied');
    assert.ok(record!.deadline > Date.now() + 55_000 && record!.deadline <= Date.now() + 60_000);
  });
});

test('nftables: a rejected file changed nothing, so nothing is restored; the attempt is filed as failed', async () => {
  await withStore(async (store) => {
    const host = fakeHost((line) => (line.startsWith('nft -f') ? fail('/tmp/x.nft:3:1-4: Error: syntax error, unexpected junk') : ok('table inet kubewall {\n}\n')));
    const error = await rejects(runApply(await request('nftables', host, store)));
    assert.match(error.message, /apply failed, nothing was changed \(one transaction\): nft -f .* failed with exit code 1: .*Error: syntax error/);
    assert.is(host.calls.length, 2);
    assert.not.ok(existsSync(store.pendingDir));
    assert.is(await store.readLastOutcome(), 'failed');
  });
});

test('iptables: a failing script is followed by a restore from the saved state', async () => {
  await withStore(async (store) => {
    const host = fakeHost((line) => (line.startsWith('sh ') ? fail('iptables-nft-restore: line 2 failed') : ok()));
    const error = await rejects(runApply(await request('iptables', host, store)));
    assert.match(error.message, /apply failed: sh .*applied-kubewall\.sh failed with exit code 1: iptables-nft-restore: line 2 failed; the state saved before it was restored/);
    const applyAt = host.calls.findIndex((c) => c.startsWith('sh '));
    assert.equal(host.calls.slice(0, applyAt), ['nft list tables ip', 'nft list tables ip6', 'ipset save']);
    assert.ok(host.calls.slice(applyAt + 1).includes('ipset save'), 'the restore reads the current state');
    assert.is(await store.readLastOutcome(), 'rolled-back');
  });
});

test('SSH_CONNECTION outside the admin networks: refused before any command or state', async () => {
  await withStore(async (store) => {
    const host = fakeHost(() => ok());
    const sshConnection = { value: '203.0.113.9 50122 10.10.0.21 22', from: 'the environment' };
    const error = await rejects(runApply(await request('nftables', host, store, { sshConnection })));
    assert.match(error.message, /refusing to apply/);
    assert.equal(host.calls, []);
    assert.not.ok(existsSync(store.stateDir));
  });
});

test('a second apply while one is pending runs no command', async () => {
  await withStore(async (store) => {
    const host = fakeHost((line) => (line.startsWith('nft list') ? fail('Error: No such file or directory') : ok()));
    assert.is(await runApply(await request('nftables', host, store)), 0);
    const calls = host.calls.length;
    const error = await rejects(runApply(await request('nftables', host, store)));
    assert.match(error.message, /is waiting for confirmation/);
    assert.is(host.calls.length, calls);
  });
});

test('a watcher that never gets ready: nothing is applied and nothing stays pending', async () => {
  await withStore(async (store) => {
    const host = fakeHost((line) => (line.startsWith('nft list') ? fail('Error: No such file or directory') : ok()));
    const error = await rejects(runApply(await request('nftables', host, store, { startWatcher: async () => 2 ** 22 + 1 })));
    assert.match(error.message, /the rollback watcher \(pid \d+\) did not start; .* Nothing was applied/);
    assert.equal(host.calls, ['nft list table inet kubewall']);
    assert.not.ok(existsSync(store.pendingDir));
  });
});

test.run();
