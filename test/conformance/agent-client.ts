import { spawn, type ChildProcess } from 'node:child_process';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { HoldStats, ListenTarget, ProbeRequest, ProbeResult, SeenPacket, SpamStats } from './agent.js';

const AGENT = fileURLToPath(new URL('./agent.js', import.meta.url));

/** The harness's side of one agent process running inside a namespace. */
export class AgentClient {
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private readonly stderr: string[] = [];

  private constructor(
    readonly name: string,
    readonly netns: string,
    private readonly child: ChildProcess,
  ) {}

  static start(netns: string, name: string): Promise<AgentClient> {
    const child = spawn('ip', ['netns', 'exec', netns, process.execPath, AGENT, name], { stdio: ['pipe', 'pipe', 'pipe'] });
    const client = new AgentClient(name, netns, child);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`agent ${name} in ${netns} did not start: ${client.stderr.join('')}`)), 10_000);
      child.stderr!.on('data', (d: Buffer) => client.stderr.push(d.toString()));
      child.on('exit', (code) => {
        for (const w of client.waiting.values()) w.reject(new Error(`agent ${name} exited (${code}): ${client.stderr.join('')}`));
        client.waiting.clear();
        reject(new Error(`agent ${name} exited (${code}): ${client.stderr.join('')}`));
      });
      readline.createInterface({ input: child.stdout! }).on('line', (line) => {
        const message = JSON.parse(line) as { id?: number; ready?: string; result?: unknown; error?: string };
        if (message.ready !== undefined) {
          clearTimeout(timer);
          resolve(client);
          return;
        }
        const waiter = message.id === undefined ? undefined : client.waiting.get(message.id);
        if (!waiter || message.id === undefined) return;
        client.waiting.delete(message.id);
        if (message.error !== undefined) waiter.reject(new Error(`agent ${name}: ${message.error}`));
        else waiter.resolve(message.result);
      });
    });
  }

  private call<T>(op: string, args: Record<string, unknown> = {}): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.waiting.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.child.stdin!.write(`${JSON.stringify({ id, op, ...args })}\n`);
    });
  }

  async listen(tcp: readonly ListenTarget[], udp: readonly ListenTarget[]): Promise<void> {
    const { failed } = await this.call<{ failed: string[] }>('listen', { tcp, udp });
    if (failed.length > 0) throw new Error(`agent ${this.name}: cannot listen on ${failed.join('; ')}`);
  }

  probe(probes: readonly ProbeRequest[], timeoutMs: number): Promise<ProbeResult[]> {
    return probes.length === 0 ? Promise.resolve([]) : this.call('probe', { probes, timeoutMs });
  }

  /** Connections and datagrams the listeners saw since the last call. */
  seen(): Promise<SeenPacket[]> {
    return this.call('seen');
  }

  hold(target: ListenTarget, intervalMs: number): Promise<number> {
    return this.call('hold', { target, intervalMs });
  }

  stopHold(hold: number): Promise<HoldStats> {
    return this.call('hold-stop', { hold });
  }

  spam(targets: readonly ProbeRequest[], durationMs: number, timeoutMs: number): Promise<SpamStats> {
    return this.call('spam', { targets, durationMs, timeoutMs });
  }

  /** Ends the process; never throws (runs in finally paths). */
  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.stdin!.end();
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 1000);
    await exited;
    clearTimeout(timer);
  }
}
