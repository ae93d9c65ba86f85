import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { RenderedFile } from '../backends/types.js';
import { writeFileAtomic } from './write-atomic.js';

/** Files written at once: enough to hide file-system latency, few enough for any open-files limit. */
const CONCURRENCY = 16;

/**
 * Writes rendered files under `dir`, each atomically (temporary file, then
 * rename), folders created as needed. A fleet writes thousands.
 */
export async function writeRenderedFiles(dir: string, files: readonly RenderedFile[]): Promise<void> {
  const made = new Set<string>();
  const ensureDir = async (folder: string) => {
    if (made.has(folder)) return;
    await mkdir(folder, { recursive: true });
    made.add(folder);
  };
  await ensureDir(dir);
  let next = 0;
  const worker = async () => {
    while (next < files.length) {
      const file = files[next++]!;
      const target = path.join(dir, file.name);
      await ensureDir(path.dirname(target));
      await writeFileAtomic(target, file.content, file.mode);
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, files.length) }, worker));
}
