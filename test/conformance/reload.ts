import { execa, type ResultPromise } from 'execa';
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Role } from '../../src/index.js';
import { createNetns, deleteNetns } from '../helpers/netns.js';
import { BIN, REPO_ROOT } from '../helpers/paths.js';
import type { ConformanceAdapter, RenderedOutput } from './adapter.js';
import { makeAdapterContext, renderOutput, type ClusterContext } from './harness.js';

/**
 * The reload case: an allowed peer opens new TCP connections without pause
 * while the node's rules are re-applied N times, and while `kubewall apply`
 * applies and `kubewall rollback` restores. A SYN the firewall drops is
 * retransmitted after the initial RTO (1 s), so a dropped SYN shows as a
 * connect that took ~1 s, and in the peer namespace's TcpExtTCPSynRetrans.
 *
 * The node is cp-1 of examples/cluster.yaml (10.10.0.11), the peer cp-2
 * (10.10.0.12), the port etcd's 2379: open to control-plane nodes only, so the
 * connections pass through an accept that names a peer set. The applies
 * alternate between two renders (control-plane, control-plane+worker) so
 * that every apply changes rules for every backend (ufw re-runs its commands
 * only for rules that differ).
 */

export const RELOAD_CLUSTER = 'examples/cluster.yaml';
export const RELOAD_NODE = '10.10.0.11';
export const RELOAD_PEER = '10.10.0.12';
export const RELOAD_PORT = 2379;
export const RELOAD_ROLES: readonly (readonly Role[])[] = [['control-plane'], ['control-plane', 'worker']];
/** A connect slower than this waited for a SYN retransmission (initial RTO 1 s; a loaded machine answers well below). */
export const SLOW_CONNECT_MS = 900;
/** Parallel connecting loops in the peer: enough to hit a window of microseconds on every apply. */
export const RELOAD_LOOPS = 8;

/** What the peer saw during one phase. */
export interface ReloadStats {
  readonly connections: number;
  readonly errors: number;
  readonly errorSamples: readonly string[];
  /** Connect times above SLOW_CONNECT_MS, in ms. */
  readonly slow: readonly number[];
  readonly maxMs: number;
  /** TcpExtTCPSynRetrans in the peer namespace, after minus before. */
  readonly synRetransmits: number;
  /**
   * TcpExtListenDrops in the node namespace, after minus before: SYNs the
   * kernel dropped because the listener's accept queue was full (the test's
   * own server fell behind on a loaded machine), not the firewall.
   */
  readonly listenDrops: number;
  readonly applies: number;
  readonly wallMs: number;
}

/** The peer's client: RELOAD_LOOPS loops, each connect → reset (no TIME_WAIT, so source ports recycle), until stdin closes. */
const CLIENT = `import net from 'node:net';
const [host, port, local, workers] = process.argv.slice(2);
let stop = false;
const stats = { connections: 0, errors: 0, errorSamples: [], slow: [], maxMs: 0 };
process.stdin.resume();
process.stdin.on('end', () => { stop = true; });
const one = () => new Promise((resolve) => {
  const started = performance.now();
  const socket = net.connect({ host, port: Number(port), localAddress: local });
  socket.setTimeout(5000);
  socket.once('connect', () => {
    const ms = performance.now() - started;
    stats.connections++;
    stats.maxMs = Math.max(stats.maxMs, Math.round(ms));
    if (ms > ${SLOW_CONNECT_MS}) stats.slow.push(Math.round(ms));
    socket.resetAndDestroy();
    resolve();
  });
  socket.once('timeout', () => { stats.errors++; if (stats.errorSamples.length < 5) stats.errorSamples.push('timeout'); socket.destroy(); resolve(); });
  socket.once('error', (error) => { stats.errors++; if (stats.errorSamples.length < 5) stats.errorSamples.push(error.code ?? String(error)); resolve(); });
});
const loop = async () => { while (!stop) await one(); };
process.stdout.write('started\\n');
await Promise.all(Array.from({ length: Number(workers) }, loop));
process.stdout.write(JSON.stringify(stats) + '\\n');
`;

/** The node's listener: accepts and waits for the peer's reset. */
const SERVER = `import net from 'node:net';
const server = net.createServer((socket) => { socket.on('error', () => {}); socket.on('end', () => socket.destroy()); });
server.listen({ port: Number(process.argv[2]), host: '0.0.0.0', backlog: 4096 }, () => process.stdout.write('listening\\n'));
`;

function waitForLine(child: ChildProcess, line: string, what: string, timeoutMs = 10_000): Promise<void> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => reject(new Error(`${what}: no "${line}" within ${timeoutMs} ms (output: ${seen})`)), timeoutMs);
    child.stdout?.on('data', (chunk: Buffer) => {
      seen += chunk.toString();
      if (seen.includes(`${line}\n`)) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${what} exited (${code}) before "${line}": ${seen}`));
    });
  });
}

async function tcpCounter(netns: string, name: 'TcpExtTCPSynRetrans' | 'TcpExtListenDrops'): Promise<number> {
  // -a absolute, -s no history file, -z zeros too: per-namespace SNMP counters.
  const { stdout } = await execa('ip', ['netns', 'exec', netns, 'nstat', '-asz', name]);
  const match = new RegExp(`${name}\\s+(\\d+)`).exec(stdout);
  if (!match) throw new Error(`nstat printed no ${name}: ${stdout}`);
  return Number(match[1]);
}

const synRetransmits = (netns: string) => tcpCounter(netns, 'TcpExtTCPSynRetrans');

/** Where one backend's case runs: the two namespaces and what the adapter needs. */
export interface ReloadLab {
  readonly node: string;
  readonly peer: string;
  readonly workDir: string;
  readonly outputs: readonly RenderedOutput[];
  /** Runs the adapter's apply (the rendered file, as an operator would re-run it). */
  apply(output: RenderedOutput): Promise<void>;
  /** Runs the real CLI in the node namespace (apply, rollback), with what the backend's tools need in the environment. */
  kubewall(args: readonly string[]): Promise<{ exitCode: number; stdout: string; stderr: string }>;
  /** Connections from the peer while `during` runs: what the peer saw. */
  measure(applies: number, during: () => Promise<void>): Promise<ReloadStats>;
}

/** Extra environment for the CLI per backend (firewalld: the adapter's private D-Bus, see adapters/firewalld.ts). */
function backendEnv(adapter: ConformanceAdapter, workDir: string): Record<string, string> {
  return adapter.backend === 'firewalld' ? { DBUS_SYSTEM_BUS_ADDRESS: `unix:path=${path.join(workDir, 'firewalld', 'bus')}` } : {};
}

/**
 * Builds the lab for one adapter (namespaces, veth, listener, adapter setup,
 * both renders, the first apply) and runs `fn`; everything is removed
 * afterwards, also when `fn` throws.
 */
export async function withReloadLab<T>(adapter: ConformanceAdapter, cluster: ClusterContext, fn: (lab: ReloadLab) => Promise<T>, transform?: (output: RenderedOutput) => Promise<RenderedOutput>): Promise<T> {
  const workDir = await mkdtemp(path.join(tmpdir(), 'kw-reload-'));
  const spawned: ChildProcess[] = [];
  const logs: string[] = [];
  const node = await createNetns('reload-node');
  let peer: string | undefined;
  let ctx: ReturnType<typeof makeAdapterContext> | undefined;
  try {
    peer = await createNetns('reload-peer');
    await execa('ip', ['-n', node, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', peer]);
    for (const [netns, address] of [[node, RELOAD_NODE], [peer, RELOAD_PEER]] as const) {
      await execa('ip', ['-n', netns, 'addr', 'add', `${address}/24`, 'dev', 'eth0']);
      await execa('ip', ['-n', netns, 'link', 'set', 'eth0', 'up']);
    }
    ctx = makeAdapterContext({ adapter, netns: node, nodeAddresses: { ipv4: RELOAD_NODE, ipv6: 'fd00:10::11' }, workDir, spawned, log: (m) => logs.push(m) });
    await writeFile(path.join(workDir, 'server.mjs'), SERVER);
    await writeFile(path.join(workDir, 'client.mjs'), CLIENT);
    const server = ctx.spawn(process.execPath, [path.join(workDir, 'server.mjs'), String(RELOAD_PORT)]);
    await waitForLine(server, 'listening', 'the node listener');
    await adapter.setup?.(ctx);
    const outputs = await Promise.all(
      RELOAD_ROLES.map(async (roles, index) => {
        const output = await renderOutput(adapter, cluster, roles, path.join(workDir, `rendered-${index}`));
        return transform ? transform(output) : output;
      }),
    );
    const context = ctx;
    await adapter.apply(context, outputs[0]!);
    const env = backendEnv(adapter, workDir);
    const lab: ReloadLab = {
      node,
      peer,
      workDir,
      outputs,
      apply: (output) => adapter.apply(context, output),
      async kubewall(args) {
        const base: Record<string, string> = {};
        for (const [key, value] of Object.entries(process.env)) if (value !== undefined && key !== 'FORCE_COLOR') base[key] = value;
        const result = await execa('ip', ['netns', 'exec', node, process.execPath, BIN, ...args], {
          cwd: REPO_ROOT,
          reject: false,
          input: '',
          env: { ...base, ...env, NO_COLOR: '1', KUBEWALL_STATE_DIR: path.join(workDir, 'state'), SSH_CONNECTION: '' },
          extendEnv: false,
          timeout: 600_000,
        });
        return { exitCode: result.exitCode ?? -1, stdout: String(result.stdout), stderr: String(result.stderr) };
      },
      async measure(applies, during) {
        const before = await synRetransmits(peer!);
        const dropsBefore = await tcpCounter(node, 'TcpExtListenDrops');
        const started = Date.now();
        const client: ResultPromise = execa('ip', ['netns', 'exec', peer!, process.execPath, path.join(workDir, 'client.mjs'), RELOAD_NODE, String(RELOAD_PORT), RELOAD_PEER, String(RELOAD_LOOPS)], {
          stdin: 'pipe',
          reject: false,
          buffer: true,
        });
        try {
          await waitForLine(client as unknown as ChildProcess, 'started', 'the peer client');
          // Connections flow before the first apply and after the last one.
          await sleep(300);
          await during();
          await sleep(1500);
        } finally {
          client.stdin?.end();
        }
        const result = await client;
        const last = String(result.stdout).trim().split('\n').pop() ?? '';
        if (!last.startsWith('{')) throw new Error(`the peer client printed no stats (exit ${result.exitCode}): ${String(result.stdout)} ${String(result.stderr)}`);
        const stats = JSON.parse(last) as Omit<ReloadStats, 'synRetransmits' | 'listenDrops' | 'applies' | 'wallMs'>;
        return {
          ...stats,
          synRetransmits: (await synRetransmits(peer!)) - before,
          listenDrops: (await tcpCounter(node, 'TcpExtListenDrops')) - dropsBefore,
          applies,
          wallMs: Date.now() - started,
        };
      },
    };
    return await fn(lab);
  } catch (error) {
    if (logs.length > 0 && error instanceof Error) error.message += `\nnotes:\n${logs.join('\n')}`;
    throw error;
  } finally {
    if (ctx) await adapter.teardown?.(ctx).catch(() => undefined);
    for (const child of spawned) child.kill('SIGKILL');
    if (peer) await deleteNetns(peer);
    await deleteNetns(node);
    await rm(`/etc/netns/${node}`, { recursive: true, force: true });
    await rm(workDir, { recursive: true, force: true });
  }
}

/** Re-applies the two renders alternately, `count` times, while the peer connects. */
export function reapplyPhase(lab: ReloadLab, count: number): Promise<ReloadStats> {
  return lab.measure(count, async () => {
    for (let i = 1; i <= count; i++) {
      await lab.apply(lab.outputs[i % lab.outputs.length]!);
      await sleep(200);
    }
  });
}

/**
 * `kubewall apply` of the other render (a second role set, not confirmed) and
 * `kubewall rollback` back to what was there, while the peer connects: the
 * apply's own replacement and the restore of the saved state.
 */
export function rollbackPhase(lab: ReloadLab, adapter: ConformanceAdapter): Promise<ReloadStats> {
  return lab.measure(2, async () => {
    const args = ['apply', '--backend', adapter.backend, '--role', RELOAD_ROLES[1]!.join(','), '--cluster', RELOAD_CLUSTER, '--confirm-timeout', '600', '--no-prompt', ...(adapter.renderArgs ?? [])];
    const applied = await lab.kubewall(args);
    if (applied.exitCode !== 0) throw new Error(`kubewall ${args.join(' ')} failed (${applied.exitCode}): ${applied.stderr}`);
    await sleep(200);
    const rolledBack = await lab.kubewall(['rollback']);
    if (rolledBack.exitCode !== 0) throw new Error(`kubewall rollback failed (${rolledBack.exitCode}): ${rolledBack.stderr}`);
  });
}

export function formatStats(title: string, stats: ReloadStats): string {
  return `${title}: ${stats.applies} applies, ${stats.connections} connections in ${(stats.wallMs / 1000).toFixed(1)} s, ${stats.synRetransmits} SYN retransmit(s), ${stats.listenDrops} dropped by the listener's full queue, ${stats.slow.length} slow connect(s)${stats.slow.length ? ` [${stats.slow.join(', ')} ms]` : ''}, max ${stats.maxMs} ms, ${stats.errors} error(s)${stats.errors ? ` [${stats.errorSamples.join(', ')}]` : ''}`;
}

/**
 * The nftables render as kubewall wrote it before this case existed: the
 * table deleted and re-created in the transaction (`delete table`), with
 * `policy` on the input chain (`drop` then). The self-test's broken variants.
 */
export function asDeleteAndRecreate(policy: 'drop' | 'accept') {
  return async (output: RenderedOutput): Promise<RenderedOutput> => {
    const text = output.main.content;
    const preamble = text.indexOf('# One transaction that replaces');
    const table = text.lastIndexOf('\ntable inet kubewall {\n');
    if (preamble < 0 || table < 0) throw new Error(`${output.main.path}: not the render this variant rewrites`);
    const content = `${text.slice(0, preamble)}table inet kubewall\ndelete table inet kubewall\n${text.slice(table)}`.replace(
      /(chain input \{\n\t\ttype filter hook input priority filter; )policy accept;/,
      `$1policy ${policy};`,
    );
    await writeFile(output.main.path, content);
    const main = { ...output.main, content };
    return { ...output, main, files: [main, ...output.files.slice(1)] };
  };
}
