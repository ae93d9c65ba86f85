import { KubewallError } from '../errors.js';
import type { CommandOutcome } from '../host/types.js';

/**
 * Runs a command that changes the host (nft -f, iptables-restore, ipset
 * restore), with optional input. Deliberately not the diff's runner: that
 * one is wrapped in the read-only guard, and these commands must not pass it.
 */
export interface WriteRunner {
  run(command: string, args: readonly string[], input?: string): Promise<CommandOutcome>;
}

/** The I/O edge: execa, no shell, C locale (messages are matched in English). */
export function createExecaWriteRunner(options: { timeoutMs: number }): WriteRunner {
  return {
    async run(command, args, input = ''): Promise<CommandOutcome> {
      const { execa } = await import('execa');
      const result = await execa(command, args, {
        reject: false,
        timeout: options.timeoutMs,
        input,
        env: { LC_ALL: 'C' },
        maxBuffer: 1024 * 1024 * 1024,
        stripFinalNewline: false,
      });
      if (result.timedOut) return { status: 'timed-out', timeoutMs: options.timeoutMs };
      const code = (result as { code?: string }).code ?? (result.cause as { code?: string } | undefined)?.code;
      if (code === 'ENOENT') return { status: 'not-found' };
      return { status: 'exited', exitCode: result.exitCode ?? -1, stdout: String(result.stdout ?? ''), stderr: String(result.stderr ?? result.message) };
    },
  };
}

/** One line for a failed command: what ran and the last thing it said. */
export function describeOutcome(command: string, outcome: CommandOutcome): string {
  switch (outcome.status) {
    case 'not-found':
      return `${command}: ${command.split(' ')[0]} is not installed`;
    case 'timed-out':
      return `${command}: no answer within ${outcome.timeoutMs / 1000} s`;
    case 'exited': {
      const text = outcome.stderr.trim() !== '' ? outcome.stderr : outcome.stdout;
      const lines = text.split('\n').map((l) => l.trim()).filter((l) => l !== '');
      // nft and iptables-restore name the failing line first; a shell script's last words are its reason.
      const detail = lines.find((l) => /error|failed/i.test(l)) ?? lines[lines.length - 1];
      return `${command} failed with exit code ${outcome.exitCode}${detail === undefined ? '' : `: ${detail}`}`;
    }
  }
}

/** Runs one command of an apply or a restore; its stdout, or an APPLY error naming the command. */
export async function runForOutput(runner: WriteRunner, command: string, args: readonly string[], input?: string): Promise<string> {
  const outcome = await runner.run(command, args, input);
  if (outcome.status === 'exited' && outcome.exitCode === 0) return outcome.stdout;
  throw new KubewallError('APPLY', describeOutcome([command, ...args].join(' '), outcome));
}
