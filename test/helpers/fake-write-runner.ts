import type { WriteRunner } from '../../src/apply/write-runner.js';
import type { CommandOutcome } from '../../src/host/types.js';

export const ok = (stdout = ''): CommandOutcome => ({ status: 'exited', exitCode: 0, stdout, stderr: '' });
export const fail = (stderr: string): CommandOutcome => ({ status: 'exited', exitCode: 1, stdout: '', stderr });

/** A host for apply's commands: answers each command line, and keeps the lines in order. */
export function fakeWriteRunner(answer: (line: string) => CommandOutcome): WriteRunner & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    async run(command, args) {
      const line = [command, ...args].join(' ');
      calls.push(line);
      return answer(line);
    },
  };
}
