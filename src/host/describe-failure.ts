import { KubewallError } from '../errors.js';
import type { CommandOutcome } from './types.js';

export interface FailureContext {
  /** The command as the user would type it: `nft -j list ruleset`. */
  readonly command: string;
  /** The package that provides it: `nftables`. */
  readonly packageName: string;
}

const PERMISSION = /operation not permitted|permission denied|must be root|you need to be root|are you root|EPERM|EACCES|NOT_AUTHORIZED|authorization failed|AccessDenied/i;

/** Whether a command failed for want of privileges (not root, refused by polkit or D-Bus). */
export function isPermissionFailure(outcome: CommandOutcome): boolean {
  return outcome.status === 'exited' && outcome.exitCode !== 0 && PERMISSION.test(`${outcome.stderr}\n${outcome.stdout}`);
}

/**
 * Returns the command's stdout, or throws the one clear HOST_READ error its
 * failure deserves: not installed, permission, timeout, or a plain failure.
 */
export function requireOutput(outcome: CommandOutcome, context: FailureContext): string {
  if (outcome.status === 'exited' && outcome.exitCode === 0) return outcome.stdout;
  throw new KubewallError('HOST_READ', describeFailure(outcome, context));
}

export function describeFailure(outcome: CommandOutcome, { command, packageName }: FailureContext): string {
  const fallback = 'or diff against a saved dump with --from FILE';
  switch (outcome.status) {
    case 'not-found':
      return `${command}: ${command.split(' ')[0]} is not installed (install ${packageName}, ${fallback})`;
    case 'timed-out':
      return `${command}: no answer within ${outcome.timeoutMs / 1000} s (a hung daemon or lock?); nothing was changed`;
    case 'exited': {
      const detail = outcome.stderr.trim().split('\n').filter((l) => l.trim() !== '').slice(-1)[0] ?? `exit code ${outcome.exitCode}`;
      if (isPermissionFailure(outcome)) {
        return `${command}: permission denied, reading the ruleset needs root (run kubewall diff with sudo, ${fallback}): ${detail.trim()}`;
      }
      return `${command} failed with exit code ${outcome.exitCode}: ${detail.trim()}`;
    }
  }
}
