import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { PACKAGE_PATHS } from './paths.js';

/**
 * Build-time caches (written by `npm run build`, read at run time) for work a
 * plain `kubewall render` would otherwise repeat on every start: validating
 * the shipped catalogue and compiling the shipped templates. Entries are
 * keyed by the SHA-256 of the source text, so an edited file misses the
 * cache and is processed as usual; a missing cache file only costs time.
 */
export const BUILD_CACHE_FILES = {
  catalogue: path.join(PACKAGE_PATHS.root, 'dist', 'catalogue.cache.json'),
  templates: path.join(PACKAGE_PATHS.root, 'dist', 'templates.cache.json'),
} as const;

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

export async function readBuildCache<T>(file: string): Promise<T | undefined> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as T;
  } catch {
    return undefined;
  }
}
