import { readFile } from 'node:fs/promises';

/** Where the SSH_CONNECTION that apply checks came from. */
export interface FoundSshConnection {
  readonly value: string;
  /** `the environment`, or `process 1234's environment` when found above sudo. */
  readonly from: string;
}

/** Pure: the value of SSH_CONNECTION in a /proc/<pid>/environ text (NUL-separated), if any. */
export function sshConnectionFromEnviron(environ: string): string | undefined {
  const entry = environ.split('\0').find((e) => e.startsWith('SSH_CONNECTION='));
  return entry?.slice('SSH_CONNECTION='.length);
}

/** Pure: the parent pid from a /proc/<pid>/stat text; the command name may hold spaces and parentheses. */
export function parentPidFromStat(stat: string): number | undefined {
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ppid = Number(fields[1]);
  return Number.isInteger(ppid) && ppid > 0 ? ppid : undefined;
}

/**
 * SSH_CONNECTION from the environment; when it is not set at all (sudo's
 * env_reset drops it), from the nearest ancestor process that has it. Set
 * but empty means "not an SSH session": the ancestors are not asked.
 */
export async function findSshConnection(
  env: NodeJS.ProcessEnv,
  parentPid: number,
  read: (file: string) => Promise<string> = (file) => readFile(file, 'utf8'),
): Promise<FoundSshConnection | undefined> {
  const own = env['SSH_CONNECTION'];
  if (own !== undefined) return own.trim() === '' ? undefined : { value: own, from: 'the environment' };
  let pid: number | undefined = parentPid;
  for (let depth = 0; pid !== undefined && pid > 1 && depth < 64; depth++) {
    try {
      const value = sshConnectionFromEnviron(await read(`/proc/${pid}/environ`));
      if (value !== undefined && value.trim() !== '') return { value, from: `process ${pid}'s environment` };
      pid = parentPidFromStat(await read(`/proc/${pid}/stat`));
    } catch {
      return undefined; // not Linux, or not ours to read: no guard beyond the environment
    }
  }
  return undefined;
}
