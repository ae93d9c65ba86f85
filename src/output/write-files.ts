import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { RenderedFile } from '../backends/types.js';
import { writeFileAtomic } from './write-atomic.js';

/**
 * Writes rendered files under `dir`, each atomically (temporary file, then
 * rename), folders created once each. A fleet writes thousands: one after
 * the other, synchronously, which measured faster than concurrent writes
 * contending for the same directory.
 */
export async function writeRenderedFiles(dir: string, files: readonly RenderedFile[]): Promise<void> {
  const made = new Set<string>();
  for (const file of files) {
    const target = path.join(dir, file.name);
    const folder = path.dirname(target);
    if (!made.has(folder)) {
      mkdirSync(folder, { recursive: true });
      made.add(folder);
    }
    await writeFileAtomic(target, file.content, file.mode);
  }
}
