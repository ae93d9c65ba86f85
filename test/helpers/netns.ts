import { execa } from 'execa';
import { execSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { test } from 'uvu';

/**
 * Network-namespace helpers: everything that applies rules runs inside a
 * namespace created here and deleted in a finally path, never on the host.
 */

export interface Capability {
  readonly ok: boolean;
  readonly reason: string;
}

let cached: Promise<Capability> | undefined;

async function has(command: string): Promise<boolean> {
  const result = await execa('sh', ['-c', `command -v ${command}`], { reject: false });
  return result.exitCode === 0;
}

/** Whether this process can create namespaces and run the firewall tools in them. */
export function netnsCapability(tools: readonly string[] = ['nft']): Promise<Capability> {
  cached ??= (async () => {
    if (process.platform !== 'linux') return { ok: false, reason: 'not Linux' };
    if (process.getuid?.() !== 0) return { ok: false, reason: 'not root (network namespaces need CAP_SYS_ADMIN)' };
    if (!(await has('ip'))) return { ok: false, reason: 'iproute2 (ip) is not installed' };
    const probe = uniqueNetnsName('probe');
    const add = await execa('ip', ['netns', 'add', probe], { reject: false });
    if (add.exitCode !== 0) return { ok: false, reason: `ip netns add failed: ${add.stderr.trim()}` };
    await execa('ip', ['netns', 'del', probe], { reject: false });
    return { ok: true, reason: '' };
  })();
  return cached.then(async (base) => {
    if (!base.ok) return base;
    for (const tool of tools) if (!(await has(tool))) return { ok: false, reason: `${tool} is not installed` };
    return base;
  });
}

/** `kw-<what>-<pid><random>`: two runs (or two suites) can never collide. */
export function uniqueNetnsName(what: string): string {
  return `kw-${what}-${process.pid.toString(36)}${randomBytes(3).toString('hex')}`;
}

const live = new Set<string>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  const cleanup = () => {
    for (const name of live) {
      try {
        // Synchronous on purpose: this runs while the process is exiting.
        execSync(`ip netns del ${name}`, { stdio: 'ignore' });
      } catch {
        /* already gone */
      }
    }
  };
  process.on('exit', cleanup);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      cleanup();
      process.exit(130);
    });
  }
}

export async function createNetns(what: string): Promise<string> {
  installExitHook();
  const name = uniqueNetnsName(what);
  await execa('ip', ['netns', 'add', name]);
  live.add(name);
  await execa('ip', ['netns', 'exec', name, 'ip', 'link', 'set', 'lo', 'up']);
  return name;
}

export async function deleteNetns(name: string): Promise<void> {
  await execa('ip', ['netns', 'del', name], { reject: false });
  live.delete(name);
}

/** Runs `fn` with a fresh namespace that is deleted afterwards, also when `fn` throws. */
export async function withNetns<T>(what: string, fn: (netns: string) => Promise<T>): Promise<T> {
  const name = await createNetns(what);
  try {
    return await fn(name);
  } finally {
    await deleteNetns(name);
  }
}

/** Runs a command inside a namespace. */
export function inNetns(netns: string, command: string, args: readonly string[], options: { input?: string; reject?: boolean } = {}) {
  return execa('ip', ['netns', 'exec', netns, command, ...args], {
    input: options.input ?? '',
    reject: options.reject ?? true,
  });
}

/**
 * Registers tests that need root and namespaces. Where they cannot run they
 * skip with a message, except in CI (CI=true), where a skip is a failure.
 */
export async function describeWithNetns(
  title: string,
  tools: readonly string[],
  register: () => void,
): Promise<void> {
  const capability = await netnsCapability(tools);
  if (capability.ok) {
    register();
    return;
  }
  if (process.env['CI'] === 'true') {
    test(`${title} (needs root and network namespaces)`, () => {
      throw new Error(`CI=true but these tests cannot run: ${capability.reason}. .ci/run must run as root and install ${tools.join(', ')}.`);
    });
    return;
  }
  process.stderr.write(`SKIP ${title}: ${capability.reason} (these tests run as root with ip netns; in CI a skip is a failure)\n`);
}
