import { accessSync, chmodSync, constants, mkdirSync, mkdtempSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { RenderedFile } from '../backends/types.js';
import { KubewallError } from '../errors.js';
import { escapeTerminalLine } from '../text/terminal.js';

function outputError(where: string, error: unknown, what = 'cannot write output'): KubewallError {
  const e = error as NodeJS.ErrnoException;
  const reason: Record<string, string> = {
    EACCES: 'permission denied',
    EPERM: 'operation not permitted',
    ENAMETOOLONG: 'a file name is too long (at most 255 bytes per name)',
    ENOSPC: 'no space left on the device',
    EROFS: 'read-only file system',
    ENOTDIR: 'a part of the path is a file, not a folder',
    EEXIST: 'a file is in the way',
  };
  return new KubewallError('OUTPUT', `${escapeTerminalLine(where)}: ${what}: ${(e.code && reason[e.code]) ?? e.message}`, { cause: error });
}

function isDirectory(file: string): boolean | undefined {
  try {
    return statSync(file).isDirectory();
  } catch {
    return undefined;
  }
}

/** A rendered name must stay inside the output folder. */
function assertInside(name: string): void {
  const parts = name.split('/');
  if (path.isAbsolute(name) || parts.some((p) => p === '' || p === '.' || p === '..' || p.includes('\0'))) {
    throw new KubewallError('OUTPUT', `${escapeTerminalLine(name)}: not a file name inside the output folder`);
  }
}

/**
 * Writes rendered files under `dir`, all or nothing: everything is written
 * to a staging folder first (beside `dir`, or inside it when it exists, so
 * the moves stay on one file system), and moved into place only once every
 * file is there. A failure on the thousandth host leaves `dir` as it was.
 * A fleet writes thousands: synchronously, one after the other, which
 * measured faster than concurrent writes contending for one directory.
 */
export async function writeRenderedFiles(dir: string, files: readonly RenderedFile[]): Promise<void> {
  for (const file of files) assertInside(file.name);
  const target = path.resolve(dir);
  const exists = isDirectory(target);
  if (exists === false) throw new KubewallError('OUTPUT', `${escapeTerminalLine(dir)}: --out-dir names an existing file, not a folder (give a new or existing folder)`);
  let stageParent = target;
  try {
    if (exists) accessSync(target, constants.W_OK | constants.X_OK);
    else {
      stageParent = path.dirname(target);
      mkdirSync(stageParent, { recursive: true });
    }
  } catch (error) {
    throw outputError(exists ? dir : path.dirname(dir), error);
  }
  let stage: string;
  try {
    stage = mkdtempSync(path.join(stageParent, '.kubewall-stage-'));
  } catch (error) {
    throw outputError(exists ? dir : path.dirname(dir) || '.', error);
  }
  try {
    const made = new Set<string>();
    for (const file of files) {
      const staged = path.join(stage, file.name);
      const folder = path.dirname(staged);
      if (!made.has(folder)) {
        mkdirSync(folder, { recursive: true });
        made.add(folder);
      }
      writeFileSync(staged, file.content, { mode: file.mode ?? 0o644 });
    }
    if (!exists) {
      // mkdtemp makes the folder 0700; the output folder gets what mkdir would have given it.
      chmodSync(stage, 0o777 & ~process.umask());
      renameSync(stage, target);
      return;
    }
    // Folders first (and a file in the way is found) before any file moves.
    for (const name of new Set(files.map((f) => path.dirname(f.name)))) {
      if (name !== '.') mkdirSync(path.join(target, name), { recursive: true });
    }
    for (const file of files) renameSync(path.join(stage, file.name), path.join(target, file.name));
  } catch (error) {
    throw outputError(dir, error);
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }
}
