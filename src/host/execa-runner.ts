import type { CommandOutcome, CommandRunner } from './types.js';

/** A dump of a large ruleset takes well under a second; a hung daemon (D-Bus, xtables lock) must not hang diff. */
export const DEFAULT_COMMAND_TIMEOUT_MS = 10_000;

/**
 * The I/O edge: runs a command with execa, no shell, empty stdin, C locale
 * (messages are matched in English), and maps how it ended to an outcome.
 */
export function createExecaRunner(options: { timeoutMs?: number } = {}): CommandRunner {
  const timeoutMs = options.timeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS;
  return {
    async run(command, args): Promise<CommandOutcome> {
      // Loaded on demand: only diff reads the host, and execa is not free to load at start-up.
      const { execa } = await import('execa');
      const result = await execa(command, args, {
        reject: false,
        timeout: timeoutMs,
        input: '',
        env: { LC_ALL: 'C' },
        maxBuffer: 1024 * 1024 * 1024,
        stripFinalNewline: false,
      });
      if (result.timedOut) return { status: 'timed-out', timeoutMs };
      const code = (result as { code?: string }).code ?? (result.cause as { code?: string } | undefined)?.code;
      if (code === 'ENOENT') return { status: 'not-found' };
      if (result.failed && result.exitCode === undefined) {
        return { status: 'exited', exitCode: -1, stdout: '', stderr: String(result.message) };
      }
      return { status: 'exited', exitCode: result.exitCode ?? -1, stdout: String(result.stdout), stderr: String(result.stderr) };
    },
  };
}
