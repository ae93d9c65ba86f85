import { execa } from 'execa';
import { BIN, REPO_ROOT } from './paths.js';

export interface CliResult {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the real bin, as a user would, from the repository root unless told otherwise. */
export async function runCli(args: readonly string[], options: { cwd?: string; input?: string } = {}): Promise<CliResult> {
  const result = await execa('node', [BIN, ...args], {
    cwd: options.cwd ?? REPO_ROOT,
    reject: false,
    input: options.input ?? '',
    env: { NO_COLOR: '1' },
  });
  return { exitCode: result.exitCode ?? -1, stdout: result.stdout, stderr: result.stderr };
}
