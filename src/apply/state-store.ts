import { mkdir, open, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { KubewallError } from '../errors.js';
import { writeFileAtomic } from '../output/write-atomic.js';
import type { HostSnapshot } from './host-snapshot.js';
import { OUTCOMES, type Outcome, type PendingRecord } from './pending.js';

/**
 * The state directory, the I/O side. `pending/` exists while one apply waits
 * for confirmation: creating it is the lock (mkdir is atomic), `outcome` in
 * it is the claim (O_EXCL), and when done it is renamed to `last/` for the
 * record.
 */
export class StateStore {
  readonly pendingDir: string;
  readonly lastDir: string;

  constructor(readonly stateDir: string) {
    this.pendingDir = path.join(stateDir, 'pending');
    this.lastDir = path.join(stateDir, 'last');
  }

  file(name: 'record.json' | 'snapshot.json' | 'outcome' | 'watcher.log' | 'watcher-ready' | 'rollback-error'): string {
    return path.join(this.pendingDir, name);
  }

  /** Takes the lock; false when another apply holds it. */
  async begin(): Promise<boolean> {
    try {
      await mkdir(this.stateDir, { recursive: true, mode: 0o700 });
      await mkdir(this.pendingDir, { mode: 0o700 });
      return true;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') return false;
      if (code === 'EACCES' || code === 'EPERM') {
        throw new KubewallError('APPLY', `${this.pendingDir}: permission denied: kubewall apply changes the firewall and needs root (run it with sudo)`, { cause: error });
      }
      throw new KubewallError('APPLY', `${this.pendingDir}: cannot create the state directory: ${(error as Error).message} (set --state-dir or KUBEWALL_STATE_DIR to a writable directory)`, { cause: error });
    }
  }

  async exists(): Promise<boolean> {
    try {
      await readFile(this.file('record.json'));
      return true;
    } catch {
      return false;
    }
  }

  async readRecord(): Promise<PendingRecord | undefined> {
    try {
      return JSON.parse(await readFile(this.file('record.json'), 'utf8')) as PendingRecord;
    } catch {
      return undefined;
    }
  }

  async writeRecord(record: PendingRecord): Promise<void> {
    await writeFileAtomic(this.file('record.json'), `${JSON.stringify(record, null, 2)}\n`, 0o600);
  }

  async readSnapshot(): Promise<HostSnapshot> {
    return JSON.parse(await readFile(this.file('snapshot.json'), 'utf8')) as HostSnapshot;
  }

  async writeSnapshot(snapshot: HostSnapshot): Promise<void> {
    await writeFileAtomic(this.file('snapshot.json'), `${JSON.stringify(snapshot, null, 2)}\n`, 0o600);
  }

  async writeApplied(name: string, content: string): Promise<string> {
    const file = path.join(this.pendingDir, `applied-${name}`);
    await writeFileAtomic(file, content, 0o600);
    return file;
  }

  async readOutcome(): Promise<Outcome | undefined> {
    try {
      const text = (await readFile(this.file('outcome'), 'utf8')).trim();
      return (OUTCOMES as readonly string[]).includes(text) ? (text as Outcome) : undefined;
    } catch {
      return undefined;
    }
  }

  /** How the last finished apply ended (`last/outcome`). */
  async readLastOutcome(): Promise<Outcome | undefined> {
    try {
      const text = (await readFile(path.join(this.lastDir, 'outcome'), 'utf8')).trim();
      return (OUTCOMES as readonly string[]).includes(text) ? (text as Outcome) : undefined;
    } catch {
      return undefined;
    }
  }

  /** The last finished apply, for telling a late `confirm` what became of it. */
  async readLast(): Promise<{ record: PendingRecord; outcome: Outcome | undefined; endedAt: Date | undefined; watcherLog: string } | undefined> {
    const read = (name: string) => readFile(path.join(this.lastDir, name), 'utf8').catch(() => undefined);
    const recordText = await read('record.json');
    if (recordText === undefined) return undefined;
    const endedAt = await stat(path.join(this.lastDir, 'outcome')).then((s) => s.mtime, () => undefined);
    return { record: JSON.parse(recordText) as PendingRecord, outcome: await this.readLastOutcome(), endedAt, watcherLog: (await read('watcher.log')) ?? '' };
  }

  /** The first of confirm, the watcher and a failing apply to get here acts; the others learn who did. */
  async claim(outcome: Outcome): Promise<{ readonly won: true } | { readonly won: false; readonly by: Outcome | undefined }> {
    try {
      const handle = await open(this.file('outcome'), 'wx', 0o600);
      await handle.writeFile(`${outcome}\n`);
      await handle.close();
      return { won: true };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      return { won: false, by: await this.readOutcome() };
    }
  }

  /** Gives a claim back after a restore failed, so `kubewall rollback` can try again. */
  async release(detail: string): Promise<void> {
    await writeFile(this.file('rollback-error'), `${detail}\n`, { mode: 0o600 });
    await rm(this.file('outcome'), { force: true });
  }

  /** Ends the pending apply: `pending/` becomes `last/` (the previous `last/` goes). */
  async finish(): Promise<void> {
    await rm(this.lastDir, { recursive: true, force: true });
    await rename(this.pendingDir, this.lastDir);
  }

  /** Nothing was changed yet: forget the attempt entirely. */
  async abandon(): Promise<void> {
    await rm(this.pendingDir, { recursive: true, force: true });
  }
}

/** `--state-dir`, else `KUBEWALL_STATE_DIR`, else /run/kubewall. */
export function resolveStateDir(flag: string | undefined, env: NodeJS.ProcessEnv, fallback: string): string {
  const chosen = flag ?? env['KUBEWALL_STATE_DIR'] ?? fallback;
  if (chosen === '') throw new KubewallError('USAGE', '--state-dir: empty directory name');
  return path.resolve(chosen);
}

export function processAlive(pid: number | null): boolean {
  if (pid === null) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
