import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execa } from 'execa';

/**
 * A real firewalld inside a network namespace, on a private D-Bus: the host's
 * firewall, its system bus and its /etc/firewalld are never touched.
 *
 * - a `dbus-daemon` with its own config listens on `<workDir>/bus`;
 *   `DBUS_SYSTEM_BUS_ADDRESS` points firewalld and firewall-cmd at it;
 * - `/etc/netns/<ns>/firewalld/` is bind-mounted over /etc/firewalld by
 *   `ip netns exec`, so the daemon reads and writes only that folder;
 * - firewalld runs in the foreground (`--nofork --nopid`) and is killed by
 *   `stop()`, which the callers run in a finally path.
 */

/** firewalld.conf for tests: Debian's and RHEL's defaults, spelled out. */
export const FIREWALLD_TEST_CONF = [
  'DefaultZone=public',
  'CleanupOnExit=yes',
  'CleanupModulesOnExit=no',
  'Lockdown=no',
  'IPv6_rpfilter=yes',
  'IndividualCalls=no',
  'LogDenied=off',
  'FirewallBackend=nftables',
  'FlushAllOnReload=yes',
  '',
].join('\n');

/** A system-bus configuration of our own: only root, on a socket of our own. */
export function dbusConfig(socket: string): string {
  return `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=${socket}</listen>
  <auth>EXTERNAL</auth>
  <policy user="root">
    <allow own="*"/>
    <allow send_destination="*"/>
    <allow receive_sender="*"/>
  </policy>
</busconfig>
`;
}

export interface RunResult {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface RunOptions {
  readonly input?: string;
  readonly env?: Readonly<Record<string, string>>;
  readonly reject?: boolean;
  readonly timeoutMs?: number;
}

/** Runs commands inside one namespace; the conformance AdapterContext has this shape too. */
export interface NetnsRunner {
  exec(command: string, args: readonly string[], options?: RunOptions): Promise<RunResult>;
  spawn(command: string, args: readonly string[], options?: { readonly env?: Readonly<Record<string, string>> }): ChildProcess;
}

/** A runner over `ip netns exec` for tests outside the conformance harness. */
export function netnsRunner(netns: string): NetnsRunner {
  return {
    async exec(command, args, options = {}) {
      const result = await execa('ip', ['netns', 'exec', netns, command, ...args], {
        input: options.input ?? '',
        env: options.env ?? {},
        reject: false,
        timeout: options.timeoutMs ?? 120_000,
      });
      const out = { exitCode: result.exitCode ?? -1, stdout: result.stdout, stderr: result.stderr };
      if (out.exitCode !== 0 && (options.reject ?? true)) {
        throw new Error(`${command} ${args.join(' ')} exited ${out.exitCode}:\n${out.stderr || out.stdout}`);
      }
      return out;
    },
    spawn(command, args, options = {}) {
      return spawn('ip', ['netns', 'exec', netns, command, ...args], {
        env: { ...process.env, ...options.env },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
    },
  };
}

export interface FirewalldDaemon {
  /** The daemon's /etc/firewalld, seen from the host. */
  readonly configDir: string;
  /** For every firewalld client: the private bus. */
  readonly env: Readonly<Record<string, string>>;
  /** Runs a command in the namespace with the private bus in its environment. */
  exec(command: string, args: readonly string[], options?: RunOptions): Promise<RunResult>;
  /** What the daemon printed so far (for failure messages). */
  log(): string;
  /** Stops firewalld and the bus; safe to call twice and on a half-started daemon. */
  stop(): Promise<void>;
}

function collect(child: ChildProcess, sink: string[]): void {
  child.stdout?.on('data', (chunk: Buffer) => sink.push(chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => sink.push(chunk.toString()));
}

async function waitFor(what: string, check: () => Promise<boolean>, alive: () => boolean, log: () => string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    if (!alive()) throw new Error(`${what} exited before it was ready:\n${log()}`);
    await new Promise((resolve) => setTimeout(resolve, 150));
  }
  throw new Error(`${what} was not ready after ${timeoutMs} ms:\n${log()}`);
}

async function kill(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

export interface StartFirewalldOptions {
  /** `/etc/netns/<ns>/`: the folder `ip netns exec` mounts over /etc. */
  readonly etcDir: string;
  /** A scratch folder on the host for the bus socket and its config. */
  readonly workDir: string;
  /** firewalld.conf; defaults to FIREWALLD_TEST_CONF. */
  readonly conf?: string;
  /** Files to place under the daemon's /etc/firewalld before it starts (`zones/kubewall.xml` → content). */
  readonly files?: ReadonlyMap<string, string>;
}

/**
 * Starts a private bus and firewalld inside the runner's namespace and waits
 * until `firewall-cmd --state` says running. On any failure it stops what it
 * started before throwing.
 */
export async function startFirewalld(runner: NetnsRunner, options: StartFirewalldOptions): Promise<FirewalldDaemon> {
  const configDir = path.join(options.etcDir, 'firewalld');
  await mkdir(configDir, { recursive: true });
  await writeFile(path.join(configDir, 'firewalld.conf'), options.conf ?? FIREWALLD_TEST_CONF);
  for (const [name, content] of options.files ?? new Map<string, string>()) {
    await mkdir(path.dirname(path.join(configDir, name)), { recursive: true });
    await writeFile(path.join(configDir, name), content);
  }
  await mkdir(options.workDir, { recursive: true });
  const socket = path.join(options.workDir, 'bus');
  const busConfig = path.join(options.workDir, 'dbus.conf');
  await writeFile(busConfig, dbusConfig(socket));
  const env = { DBUS_SYSTEM_BUS_ADDRESS: `unix:path=${socket}` };

  const output: string[] = [];
  let bus: ChildProcess | undefined;
  let firewalld: ChildProcess | undefined;
  const daemon: FirewalldDaemon = {
    configDir,
    env,
    exec: (command, args, runOptions = {}) => runner.exec(command, args, { ...runOptions, env: { ...env, ...runOptions.env } }),
    log: () => output.join(''),
    async stop() {
      await kill(firewalld);
      await kill(bus);
      await rm(socket, { force: true });
    },
  };
  try {
    bus = runner.spawn('dbus-daemon', [`--config-file=${busConfig}`, '--nofork', '--nopidfile']);
    collect(bus, output);
    const alive = (child: ChildProcess | undefined) => () => child !== undefined && child.exitCode === null && child.signalCode === null;
    await waitFor('dbus-daemon', async () => existsSync(socket), alive(bus), daemon.log, 10_000);
    firewalld = runner.spawn('firewalld', ['--nofork', '--nopid', '--log-target', 'console'], { env });
    collect(firewalld, output);
    await waitFor(
      'firewalld',
      async () => (await daemon.exec('firewall-cmd', ['--state'], { reject: false })).stdout.trim() === 'running',
      alive(firewalld),
      daemon.log,
    );
    return daemon;
  } catch (error) {
    await daemon.stop();
    throw error;
  }
}

/**
 * For tests outside the harness: firewalld in `netns` (which the caller
 * created and deletes), with /etc/netns/<netns>/ and the scratch folder
 * removed afterwards, also when `fn` throws.
 */
export async function withFirewalld<T>(
  netns: string,
  fn: (daemon: FirewalldDaemon) => Promise<T>,
  options: Omit<StartFirewalldOptions, 'etcDir' | 'workDir'> = {},
): Promise<T> {
  const etcDir = `/etc/netns/${netns}`;
  const workDir = await mkdtemp(path.join(tmpdir(), 'kw-fwd-'));
  let daemon: FirewalldDaemon | undefined;
  try {
    daemon = await startFirewalld(netnsRunner(netns), { ...options, etcDir, workDir });
    return await fn(daemon);
  } finally {
    await daemon?.stop();
    await rm(etcDir, { recursive: true, force: true });
    await rm(workDir, { recursive: true, force: true });
  }
}
