import { readFileSync } from 'node:fs';
import path from 'node:path';
import { PACKAGE_PATHS } from './paths.js';

/**
 * Build-time caches (written by `npm run build`, read at run time) for work a
 * plain `kubewall render` would otherwise repeat on every start: validating
 * the shipped catalogue and compiling the shipped templates. Entries are
 * keyed by their whole source text, so an edited file misses the cache and
 * is processed as usual; a missing cache file only costs time. (The source
 * text rather than a hash of it: comparing a few kilobytes costs nothing,
 * while loading node:crypto for a hash cost a render ~5 ms of start-up.)
 */
export const BUILD_CACHE_FILES = {
  catalogue: path.join(PACKAGE_PATHS.root, 'dist', 'catalogue.cache.json'),
  templates: path.join(PACKAGE_PATHS.root, 'dist', 'templates.cache.json'),
} as const;

export async function readBuildCache<T>(file: string): Promise<T | undefined> {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as T;
  } catch {
    return undefined;
  }
}
