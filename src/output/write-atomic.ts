import { randomBytes } from 'node:crypto';
import { rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { KubewallError } from '../errors.js';

/**
 * Writes a file so readers see the old content or the new, never a partial
 * or empty one: a temporary file beside it, then a rename.
 */
export async function writeFileAtomic(file: string, content: string, mode = 0o644): Promise<void> {
  const dir = path.dirname(path.resolve(file));
  const temp = path.join(dir, `.kubewall-tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
  try {
    await writeFile(temp, content, { mode, flag: 'wx' });
    await rename(temp, file);
  } catch (error) {
    await rm(temp, { force: true });
    throw new KubewallError('OUTPUT', `${file}: cannot write output: ${(error as Error).message}`, { cause: error });
  }
}
