import { closeSync, fstatSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { KubewallError } from '../errors.js';

/**
 * A dump as text, invalid bytes replaced with U+FFFD. TextDecoder (simdutf)
 * decodes a 61 MB nft dump in about 70% of the time of checking for ASCII
 * and copying as Latin-1, and well under half that of Buffer#toString
 * (measured on Node 20.20).
 */
export function decodeDump(bytes: Uint8Array): string {
  return new TextDecoder().decode(bytes);
}

/** Reads up to `length` bytes of a dump into `buffer` at `offset` from file `position`; 0 at its end. */
export type ReadDumpBytes = (buffer: Buffer, offset: number, length: number, position: number) => number;

function cannotRead(path: string, error: unknown): KubewallError {
  const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message;
  return new KubewallError('HOST_READ', `--from ${path}: cannot read the saved dump: ${reason}`, { cause: error });
}

/** The whole saved dump `--from FILE` names, as text. */
export function readSavedDumpText(path: string): string {
  try {
    return decodeDump(readFileSync(path));
  } catch (error) {
    throw cannotRead(path, error);
  }
}

/**
 * The size of the saved dump when it is a regular file, else undefined: a
 * pipe or FIFO (`--from <(ssh node nft -j list ruleset)`) can be read only
 * once, and whole.
 */
export function savedDumpFileSize(path: string): number | undefined {
  let stats;
  try {
    stats = statSync(path);
  } catch (error) {
    throw cannotRead(path, error);
  }
  return stats.isFile() ? stats.size : undefined;
}

/**
 * Calls `use` with a positioned reader over the saved dump (a regular file:
 * see savedDumpFileSize) and its size, for readers that take only parts of a
 * large dump (see selectNftItemsFromDump); the file is closed afterwards.
 */
export function withSavedDumpFile<T>(path: string, use: (read: ReadDumpBytes, size: number) => T): T {
  let fd: number;
  let size: number;
  try {
    fd = openSync(path, 'r');
    size = fstatSync(fd).size;
  } catch (error) {
    throw cannotRead(path, error);
  }
  try {
    return use((buffer, offset, length, position) => {
      try {
        return readSync(fd, buffer, offset, length, position);
      } catch (error) {
        throw cannotRead(path, error);
      }
    }, size);
  } finally {
    closeSync(fd);
  }
}
