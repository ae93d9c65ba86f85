import { escapeTerminal, showValue } from '../../text/terminal.js';
import { appendFileSync } from 'node:fs';
import { createInterface } from 'node:readline/promises';
import { findSshConnection } from '../../apply/find-ssh-connection.js';
import { APPLY_BACKENDS, type ApplyBackend } from '../../apply/host-snapshot.js';
import { DEFAULT_STATE_DIR } from '../../apply/pending.js';
import { APPLY_COMMAND_TIMEOUT_MS, applyCommandTimeoutMs, runApply, runConfirm, runRollback, runWatcher } from '../../apply/run-apply.js';
import { startRollbackWatcher } from '../../apply/start-watcher.js';
import { resolveStateDir, StateStore } from '../../apply/state-store.js';
import { createExecaWriteRunner } from '../../apply/write-runner.js';
import { KubewallError } from '../../errors.js';
import { resolveIptablesVariant } from '../../host/detect-iptables-variant.js';
import { planFromFiles } from '../../load-plan.js';
import { renderPlan } from '../../render/render-plan.js';
import { unknownValueMessage } from '../../suggest.js';
import { parseRoles, planInputs, printWarnings, requireBackend, type PlanInputFlags } from '../options.js';

/** Flags of `kubewall apply` (declared in apply.ts); parsed here, in the module that loads only when apply runs. */
export interface ApplyFlags extends PlanInputFlags {
  backend?: string;
  templates?: string;
  iptablesVariant?: string;
  confirmTimeout: string;
  stateDir?: string;
  allowDroppingSshSession?: boolean;
  prompt: boolean;
}

const say = (line: string): void => {
  process.stderr.write(`kubewall: ${escapeTerminal(line)}\n`);
};

function parseSeconds(option: string, text: string): number {
  const value = Number(text);
  if (!/^\d+(\.\d+)?$/.test(text) || value <= 0 || value > 86_400) {
    throw new KubewallError('USAGE', `${option}: expected seconds between 0 and 86400, e.g. 60 or 2.5, not ${showValue(text)}`);
  }
  return value;
}

async function ask(question: string, signal: AbortSignal): Promise<string | undefined> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return await rl.question(question, { signal });
  } catch {
    return undefined;
  } finally {
    rl.close();
  }
}

export async function applyAction(flags: ApplyFlags): Promise<number> {
  flags.backend = requireBackend(flags.backend, APPLY_BACKENDS);
  if (!(APPLY_BACKENDS as readonly string[]).includes(flags.backend)) {
    throw new KubewallError('USAGE', `--backend: ${unknownValueMessage('backend', flags.backend, APPLY_BACKENDS)}`);
  }
  const backend = flags.backend as ApplyBackend;
  const roles = parseRoles(flags.role);
  const confirmTimeoutSeconds = parseSeconds('--confirm-timeout', flags.confirmTimeout);
  const store = new StateStore(resolveStateDir(flags.stateDir, process.env, DEFAULT_STATE_DIR));
  if (flags.iptablesVariant !== undefined && backend !== 'iptables') {
    throw new KubewallError('USAGE', `--iptables-variant applies to --backend iptables only (got --backend ${backend})`);
  }
  const iptables = backend === 'iptables' ? await resolveIptablesVariant(flags.iptablesVariant) : undefined;
  const plan = await planFromFiles({ roles, ...planInputs(flags) });
  const backendOptions = iptables ? { iptablesVariant: iptables.variant, iptablesVariantSource: iptables.source } : {};
  const result = await renderPlan(plan, backend, { templatesDir: flags.templates, backendOptions });
  const [file] = result.files;
  if (!file) throw new Error(`backend ${backend} rendered no file`);
  printWarnings([...plan.warnings, ...(iptables?.warning ? [iptables.warning] : []), ...result.warnings]);
  return runApply({
    backend,
    backendOptions,
    plan,
    file,
    confirmTimeoutSeconds,
    store,
    runner: createExecaWriteRunner({ timeoutMs: await applyCommandTimeoutMs(backend) }),
    sshConnection: await findSshConnection(process.env, process.ppid),
    allowDroppingSshSession: flags.allowDroppingSshSession === true,
    ask: flags.prompt && process.stdin.isTTY && process.stderr.isTTY ? ask : undefined,
    say,
    startWatcher: startRollbackWatcher,
  });
}

export async function confirmAction(flags: { stateDir?: string }): Promise<number> {
  return runConfirm(new StateStore(resolveStateDir(flags.stateDir, process.env, DEFAULT_STATE_DIR)), say);
}

export async function rollbackAction(flags: { stateDir?: string }): Promise<number> {
  const store = new StateStore(resolveStateDir(flags.stateDir, process.env, DEFAULT_STATE_DIR));
  return runRollback(store, createExecaWriteRunner({ timeoutMs: APPLY_COMMAND_TIMEOUT_MS }), say);
}

export async function watcherAction(flags: { stateDir: string }): Promise<number> {
  const store = new StateStore(resolveStateDir(flags.stateDir, process.env, DEFAULT_STATE_DIR));
  const logFile = store.file('watcher.log');
  // Synchronous and by path: after a confirm or rollback pending/ is renamed to last/, and the log follows it.
  const log = (line: string) => {
    try {
      appendFileSync(logFile, `${new Date().toISOString()} ${line}\n`, { mode: 0o600 });
    } catch {
      /* the directory has moved on: nothing left to tell */
    }
  };
  try {
    return await runWatcher(store, createExecaWriteRunner({ timeoutMs: APPLY_COMMAND_TIMEOUT_MS }), log);
  } catch (error) {
    log(`unexpected error: ${(error as Error)?.stack ?? String(error)}`);
    return 1;
  }
}
