import { randomBytes } from 'node:crypto';
import { access, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { KubewallError } from '../errors.js';
import { PACKAGE_PATHS } from '../paths.js';
import type { Plan } from '../plan/types.js';
import type { BackendOptions, RenderedFile } from '../backends/types.js';
import { APPLY_COMMAND_TIMEOUT_MS, applyCommandTimeoutMs, applyIsAtomic, applyRenderedFile, restoreSnapshot, takeSnapshot, type ApplyBackend } from './host-snapshot.js';
import { describeLastApply, describePending, formatDeadline, nextWatcherStep, type PendingRecord } from './pending.js';
import type { FoundSshConnection } from './find-ssh-connection.js';
import { checkSshSession, describeDroppedSession, parseSshConnection } from './ssh-session.js';
import { processAlive, StateStore } from './state-store.js';
import type { WriteRunner } from './write-runner.js';

export { APPLY_COMMAND_TIMEOUT_MS, applyCommandTimeoutMs };
const WATCHER_START_TIMEOUT_MS = 5_000;

export interface ApplyRequest {
  readonly backend: ApplyBackend;
  /** The backend options the file was rendered with (iptables: `iptablesVariant`): the snapshot reads with the same. */
  readonly backendOptions?: BackendOptions | undefined;
  readonly plan: Plan;
  readonly file: RenderedFile;
  readonly confirmTimeoutSeconds: number;
  readonly store: StateStore;
  readonly runner: WriteRunner;
  /** `SSH_CONNECTION`, from the environment or an ancestor's (see find-ssh-connection.ts). */
  readonly sshConnection: FoundSshConnection | undefined;
  readonly allowDroppingSshSession: boolean;
  /** Asks on the terminal (undefined when stdin is not one); resolves undefined when aborted. */
  readonly ask?: ((question: string, signal: AbortSignal) => Promise<string | undefined>) | undefined;
  readonly say: (line: string) => void;
  /** Starts the detached watcher; returns its pid. */
  readonly startWatcher: (store: StateStore) => Promise<number>;
}

/** Refuses, before anything is read from or written to the host, a plan that locks this SSH session out. */
export function refuseDroppedSession(plan: Plan, sshConnection: FoundSshConnection | undefined, allow: boolean, say: (line: string) => void): void {
  const session = parseSshConnection(sshConnection?.value);
  if (!session) return;
  const verdict = checkSshSession(plan, session);
  if (verdict.kind === 'kept') return;
  if (!allow) throw new KubewallError('APPLY', describeDroppedSession(session, plan, sshConnection!.from));
  say(`warning: --allow-dropping-ssh-session: new SSH connections from ${session.clientAddress} to port ${session.serverPort} will be dropped`);
}

async function waitForWatcher(store: StateStore, pid: number): Promise<void> {
  const until = Date.now() + WATCHER_START_TIMEOUT_MS;
  while (Date.now() < until) {
    try {
      await access(store.file('watcher-ready'));
      return;
    } catch {
      if (!processAlive(pid)) break;
      await sleep(20);
    }
  }
  throw new KubewallError('APPLY', `the rollback watcher (pid ${pid}) did not start; see ${store.file('watcher.log')}. Nothing was applied`);
}

/**
 * Claims the rollback, restores the saved state and files the attempt under
 * `last/`. If the restore fails the claim is given back, so the pending apply
 * stays visible and `kubewall rollback` can try again.
 */
export async function rollBack(store: StateStore, runner: WriteRunner): Promise<'restored' | 'already-done'> {
  const claim = await store.claim('rolled-back');
  if (!claim.won) return 'already-done';
  try {
    await restoreSnapshot(await store.readSnapshot(), runner);
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error);
    await store.release(detail);
    throw new KubewallError('APPLY', `ROLLBACK FAILED: ${detail}. The saved state is in ${store.file('snapshot.json')}; fix the cause and run kubewall rollback`, { cause: error });
  }
  await store.finish();
  return 'restored';
}

/** The whole apply: save, arm the watcher, apply, then wait for a yes or leave it to the watcher. Returns the exit code. */
export async function runApply(request: ApplyRequest): Promise<number> {
  const { store, runner, say, backend } = request;
  refuseDroppedSession(request.plan, request.sshConnection, request.allowDroppingSshSession, say);
  if (!(await store.begin())) {
    const record = await store.readRecord();
    throw new KubewallError('APPLY', describePending(record, processAlive(record?.watcherPid ?? null), Date.now(), store.stateDir));
  }
  const confirmMs = request.confirmTimeoutSeconds * 1000;
  const id = `${new Date().toISOString().replace(/[:.]/g, '-')}-${randomBytes(3).toString('hex')}`;
  let record: PendingRecord = {
    version: 1,
    id,
    backend,
    roles: request.plan.roles,
    startedAt: new Date().toISOString(),
    deadline: Date.now() + (await applyCommandTimeoutMs(backend)) + confirmMs,
    confirmTimeoutSeconds: request.confirmTimeoutSeconds,
    phase: 'prepared',
    applyPid: process.pid,
    watcherPid: null,
  };
  let file: string;
  try {
    await store.writeSnapshot(await takeSnapshot(backend, runner, request.backendOptions));
    file = await store.writeApplied(request.file.name.replace(/\//g, '-'), request.file.content);
    await store.writeRecord(record);
    const watcherPid = await request.startWatcher(store);
    record = { ...record, watcherPid };
    await store.writeRecord(record);
    await waitForWatcher(store, watcherPid);
  } catch (error) {
    // Nothing is applied before the watcher is ready; a watcher that did start stands down when the record goes.
    await store.abandon();
    throw error;
  }

  await store.writeRecord((record = { ...record, phase: 'applying' }));
  try {
    await applyRenderedFile(backend, file, runner);
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error);
    if (await applyIsAtomic(backend)) {
      const claim = await store.claim('failed');
      if (claim.won) await store.finish();
      throw new KubewallError('APPLY', `apply failed, nothing was changed (one transaction): ${detail}`, { cause: error });
    }
    const done = await rollBack(store, runner);
    throw new KubewallError('APPLY', `apply failed: ${detail}; ${done === 'restored' ? 'the state saved before it was restored' : 'the watcher restored the state saved before it'}`, { cause: error });
  }
  record = { ...record, phase: 'applied', deadline: Date.now() + confirmMs };
  await store.writeRecord(record);
  say(`applied ${request.file.name} (--backend ${backend}); the state before it is saved in ${store.pendingDir}`);

  if (!request.ask) {
    say(`confirm within ${request.confirmTimeoutSeconds} s with: kubewall confirm${store.stateDir === '/run/kubewall' ? '' : ` --state-dir ${store.stateDir}`}`);
    say(`otherwise the saved state comes back at ${formatDeadline(record.deadline)} (kubewall rollback does it now)`);
    return 0;
  }
  const answer = await askWhilePending(store, request.ask, `Keep the new rules? Type yes within ${request.confirmTimeoutSeconds} s (anything else rolls back now): `);
  if (answer?.trim().toLowerCase() === 'yes') {
    const claim = await store.claim('confirmed');
    if (claim.won) {
      await store.finish();
      say('confirmed: the new rules stay');
      return 0;
    }
  } else if (answer !== undefined) {
    const done = await rollBack(store, runner);
    if (done === 'restored') {
      say('not confirmed: the state before this apply is restored');
      return 1;
    }
  }
  // Someone else acted (kubewall confirm, kubewall rollback, the watcher at the deadline): say what.
  while (await store.exists()) await sleep(100);
  const outcome = await store.readLastOutcome();
  say(outcome === 'confirmed' ? 'confirmed from elsewhere: the new rules stay' : 'not confirmed in time: the state before this apply is restored');
  return outcome === 'confirmed' ? 0 : 1;
}

/** The terminal question, abandoned as soon as the pending apply ends some other way. */
async function askWhilePending(
  store: StateStore,
  ask: (question: string, signal: AbortSignal) => Promise<string | undefined>,
  question: string,
): Promise<string | undefined> {
  const controller = new AbortController();
  const answered = ask(question, controller.signal).finally(() => controller.abort());
  while (!controller.signal.aborted) {
    if (!(await store.exists()) || (await store.readOutcome()) !== undefined) controller.abort();
    else await sleep(100);
  }
  return answered;
}

/** `kubewall confirm`: keeps what the pending apply installed. */
export async function runConfirm(store: StateStore, say: (line: string) => void): Promise<number> {
  const record = await store.readRecord();
  if (!record) throw new KubewallError('APPLY', describeLastApply(await store.readLast(), store.stateDir));
  if (record.phase !== 'applied') throw new KubewallError('APPLY', describePending(record, true, Date.now(), store.stateDir));
  const claim = await store.claim('confirmed');
  if (!claim.won) throw new KubewallError('APPLY', `too late: the pending apply has already ${claim.by ?? 'ended'}`);
  await store.finish();
  say(`confirmed: the rules applied at ${record.startedAt} (--backend ${record.backend} --role ${record.roles.join(',')}) stay`);
  return 0;
}

/** `kubewall rollback`: restores the state saved before the pending apply, now. */
export async function runRollback(store: StateStore, runner: WriteRunner, say: (line: string) => void): Promise<number> {
  const record = await store.readRecord();
  if (!record) throw new KubewallError('APPLY', `nothing to roll back: no apply is pending in ${store.stateDir}`);
  const done = await rollBack(store, runner);
  if (done === 'already-done') throw new KubewallError('APPLY', `too late: the pending apply has already ${(await store.readOutcome()) ?? 'ended'}`);
  say(`rolled back: kubewall's ${record.backend} rules are as they were before ${record.startedAt}`);
  return 0;
}

/** The detached watcher: waits for the deadline, then rolls back unless someone else acted. */
export async function runWatcher(store: StateStore, runner: WriteRunner, log: (line: string) => void): Promise<number> {
  process.on('SIGHUP', () => undefined);
  await writeFile(store.file('watcher-ready'), `${process.pid}\n`, { mode: 0o600 });
  log(`watcher ${process.pid} started`);
  for (;;) {
    const step = nextWatcherStep(await store.readRecord(), await store.readOutcome(), Date.now());
    if (step.kind === 'stand-down') {
      log('standing down: confirmed, failed or already rolled back');
      return 0;
    }
    if (step.kind === 'wait') {
      await sleep(step.ms);
      continue;
    }
    // Logged first: a successful rollback moves pending/ (and this log) to last/.
    log('deadline passed without confirmation: restoring the saved state');
    try {
      await rollBack(store, runner);
      return 0;
    } catch (error) {
      log(error instanceof Error ? error.message : String(error));
      return 1;
    }
  }
}

/** The kubewall bin, for the watcher: relative to this module, never the working directory. */
export const KUBEWALL_BIN = path.join(PACKAGE_PATHS.root, 'bin', 'kubewall.js');
