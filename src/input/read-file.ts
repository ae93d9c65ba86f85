import { readFileSync } from 'node:fs';
import { KubewallError, type KubewallErrorCode } from '../errors.js';

/**
 * Reads a text file; a missing or unreadable file is one clear error naming
 * it. Synchronous underneath: a CLI reads a handful of files one after the
 * other, and node:fs/promises costs start-up time that buys nothing here.
 */
export async function readTextFile(file: string, code: KubewallErrorCode, what: string): Promise<string> {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message;
    throw new KubewallError(code, `${file}: cannot read ${what}: ${reason}`, { cause: error });
  }
}
