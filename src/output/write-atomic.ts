import { renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { KubewallError } from '../errors.js';

let written = 0;

/**
 * Writes a file so readers see the old content or the new, never a partial
 * or empty one: a temporary file beside it, then a rename.
 */
export async function writeFileAtomic(file: string, content: string, mode = 0o644): Promise<void> {
  const dir = path.dirname(path.resolve(file));
  // Unique without node:crypto (start-up time): the pid tells processes apart, the
  // counter this process's files, and `wx` refuses a leftover of a dead process.
  const temp = path.join(dir, `.kubewall-tmp-${process.pid}-${Date.now().toString(36)}-${written++}`);
  try {
    writeFileSync(temp, content, { mode, flag: 'wx' });
    renameSync(temp, file);
  } catch (error) {
    rmSync(temp, { force: true });
    throw new KubewallError('OUTPUT', `${file}: cannot write output: ${(error as Error).message}`, { cause: error });
  }
}
