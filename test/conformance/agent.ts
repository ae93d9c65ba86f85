import dgram from 'node:dgram';
import net from 'node:net';
import readline from 'node:readline';
import { pathToFileURL } from 'node:url';

/**
 * One small process per namespace, driven over stdin/stdout with JSON lines:
 * it listens (TCP answers with a banner then echoes, UDP answers with the
 * banner) and probes (many at once, short timeouts). Run as
 * `ip netns exec NS node dist/test/conformance/agent.js NAME`.
 */

export type ProbeStatus = 'open' | 'refused' | 'filtered' | 'error';

export interface ListenTarget {
  readonly host: string;
  readonly port: number;
}

export interface ProbeRequest {
  readonly key: string;
  readonly protocol: 'tcp' | 'udp';
  readonly host: string;
  readonly port: number;
  /** UDP only: bind this local port (outside the ephemeral range) instead of an ephemeral one. */
  readonly sourcePort?: number;
}

export interface ProbeResult {
  readonly key: string;
  readonly status: ProbeStatus;
  /** The first line the responder sent (`kw:<name>:<port>`), or the error code. */
  readonly detail: string;
}

export interface SeenPacket {
  readonly protocol: 'tcp' | 'udp';
  readonly source: string;
  readonly port: number;
  readonly at: number;
}

export interface HoldStats {
  readonly sent: number;
  readonly echoed: number;
  readonly errors: readonly string[];
  readonly closed: boolean;
  /** Longest wait for an echo, in ms. */
  readonly maxRoundTripMs: number;
}

export interface SpamStats {
  readonly attempts: number;
  /** Connections established or UDP answers received: packets the firewall let through. */
  readonly reached: number;
  readonly reachedDetails: readonly string[];
}

/** Strips the IPv4-mapped prefix a dual-stack socket reports. */
function plainAddress(address: string | undefined): string {
  return (address ?? '').replace(/^::ffff:/, '');
}

class Agent {
  private readonly seen: SeenPacket[] = [];
  private readonly closers: (() => void)[] = [];
  private readonly holds = new Map<number, { stop: () => HoldStats }>();
  private nextHold = 1;

  constructor(private readonly name: string) {}

  banner(port: number): string {
    return `kw:${this.name}:${port}`;
  }

  async listen(tcp: readonly ListenTarget[], udp: readonly ListenTarget[]): Promise<{ failed: string[] }> {
    const failed: string[] = [];
    await Promise.all([
      ...tcp.map(
        (target) =>
          new Promise<void>((resolve) => {
            const server = net.createServer((socket) => {
              this.seen.push({ protocol: 'tcp', source: plainAddress(socket.remoteAddress), port: target.port, at: Date.now() });
              socket.on('error', () => undefined);
              socket.write(`${this.banner(target.port)}\n`);
              socket.pipe(socket);
            });
            server.on('error', (error) => {
              failed.push(`tcp ${target.host} ${target.port}: ${(error as NodeJS.ErrnoException).code ?? error.message}`);
              resolve();
            });
            server.listen({ host: target.host, port: target.port, ipv6Only: target.host.includes(':') }, () => resolve());
            this.closers.push(() => server.close());
          }),
      ),
      ...udp.map(
        (target) =>
          new Promise<void>((resolve) => {
            const socket = target.host.includes(':') ? dgram.createSocket({ type: 'udp6', ipv6Only: true }) : dgram.createSocket('udp4');
            socket.on('message', (_message, remote) => {
              this.seen.push({ protocol: 'udp', source: plainAddress(remote.address), port: target.port, at: Date.now() });
              socket.send(this.banner(target.port), remote.port, remote.address);
            });
            socket.on('error', (error) => {
              failed.push(`udp ${target.host} ${target.port}: ${(error as NodeJS.ErrnoException).code ?? error.message}`);
              resolve();
            });
            socket.bind(target.port, target.host, () => resolve());
            this.closers.push(() => socket.close());
          }),
      ),
    ]);
    return { failed };
  }

  probe(requests: readonly ProbeRequest[], timeoutMs: number): Promise<ProbeResult[]> {
    return Promise.all(requests.map((r) => (r.protocol === 'tcp' ? probeTcp(r, timeoutMs) : probeUdp(r, timeoutMs))));
  }

  takeSeen(): SeenPacket[] {
    return this.seen.splice(0, this.seen.length);
  }

  /** Keeps one TCP connection open and sends a line every intervalMs; the responder echoes it. */
  hold(target: ListenTarget, intervalMs: number): Promise<number> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host: target.host, port: target.port });
      const errors: string[] = [];
      let sent = 0;
      let echoed = 0;
      let closed = false;
      let maxRoundTripMs = 0;
      const pending: number[] = [];
      let buffer = '';
      let timer: NodeJS.Timeout | undefined;
      socket.setNoDelay(true);
      const connectTimer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`hold: no connection to ${target.host} ${target.port}`));
      }, 2000);
      socket.on('error', (error) => errors.push((error as NodeJS.ErrnoException).code ?? error.message));
      socket.on('close', () => {
        closed = true;
        if (timer) clearInterval(timer);
      });
      socket.on('data', (data) => {
        buffer += data.toString();
        let newline = buffer.indexOf('\n');
        while (newline !== -1) {
          const line = buffer.slice(0, newline);
          buffer = buffer.slice(newline + 1);
          if (line.startsWith('ping ')) {
            echoed += 1;
            const started = pending.shift();
            if (started !== undefined) maxRoundTripMs = Math.max(maxRoundTripMs, Date.now() - started);
          }
          newline = buffer.indexOf('\n');
        }
      });
      socket.on('connect', () => {
        clearTimeout(connectTimer);
        timer = setInterval(() => {
          // A reply still missing after 1 s counts as a stall (the connection was cut).
          const oldest = pending[0];
          if (oldest !== undefined) maxRoundTripMs = Math.max(maxRoundTripMs, Date.now() - oldest);
          sent += 1;
          pending.push(Date.now());
          socket.write(`ping ${sent}\n`);
        }, intervalMs);
        const id = this.nextHold++;
        this.holds.set(id, {
          stop: () => {
            if (timer) clearInterval(timer);
            const oldest = pending[0];
            if (oldest !== undefined) maxRoundTripMs = Math.max(maxRoundTripMs, Date.now() - oldest);
            socket.destroy();
            return { sent, echoed, errors, closed, maxRoundTripMs };
          },
        });
        resolve(id);
      });
    });
  }

  async stopHold(id: number): Promise<HoldStats> {
    const hold = this.holds.get(id);
    if (!hold) throw new Error(`no hold ${id}`);
    // Let the last line's echo arrive before counting.
    await new Promise((r) => setTimeout(r, 200));
    this.holds.delete(id);
    return hold.stop();
  }

  /** New connections / datagrams to targets, back to back, for durationMs. */
  async spam(targets: readonly ProbeRequest[], durationMs: number, timeoutMs: number): Promise<SpamStats> {
    const until = Date.now() + durationMs;
    let attempts = 0;
    let reached = 0;
    const reachedDetails: string[] = [];
    // UDP: one socket per target sending a datagram every millisecond; any answer is a leak.
    const floods = targets
      .filter((t) => t.protocol === 'udp')
      .map(
        (target) =>
          new Promise<void>((resolve) => {
            const socket = dgram.createSocket(target.host.includes(':') ? 'udp6' : 'udp4');
            let timer: NodeJS.Timeout | undefined;
            socket.on('message', (message) => {
              reached += 1;
              if (reachedDetails.length < 10) reachedDetails.push(`${target.key}: open ${message.toString()}`);
            });
            socket.on('error', () => undefined);
            socket.connect(target.port, target.host, () => {
              timer = setInterval(() => {
                attempts += 1;
                socket.send('flood');
              }, 1);
            });
            setTimeout(() => {
              if (timer) clearInterval(timer);
              // Answers to the last datagrams still count.
              setTimeout(() => {
                socket.close();
                resolve();
              }, timeoutMs);
            }, durationMs);
          }),
      );
    await Promise.all([
      ...floods,
      // TCP: several workers per target, each a new connection after the last timed out.
      ...targets.filter((t) => t.protocol === 'tcp').flatMap((target) => [0, 1, 2, 3, 4, 5, 6, 7].map(() => target)).map(async (target) => {
        while (Date.now() < until) {
          attempts += 1;
          const result = target.protocol === 'tcp' ? await probeTcp(target, timeoutMs) : await probeUdp(target, timeoutMs);
          if (result.status !== 'filtered') {
            reached += 1;
            if (reachedDetails.length < 10) reachedDetails.push(`${target.key}: ${result.status} ${result.detail}`);
          }
        }
      }),
    ]);
    return { attempts, reached, reachedDetails };
  }

  close(): void {
    for (const close of this.closers) close();
  }
}

function probeTcp(request: ProbeRequest, timeoutMs: number): Promise<ProbeResult> {
  return new Promise((resolve) => {
    let done = false;
    const socket = net.connect({ host: request.host, port: request.port });
    const finish = (status: ProbeStatus, detail: string) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ key: request.key, status, detail });
    };
    let connected = false;
    let timer = setTimeout(() => finish('filtered', 'timeout'), timeoutMs);
    socket.on('connect', () => {
      connected = true;
      // The handshake already shows the firewall's verdict; a busy responder only delays the banner.
      clearTimeout(timer);
      timer = setTimeout(() => finish('open', 'connected, no banner'), Math.max(timeoutMs, 2000));
    });
    socket.on('data', (data) => finish('open', data.toString().split('\n')[0] ?? ''));
    socket.on('error', (error) => {
      const code = (error as NodeJS.ErrnoException).code ?? error.message;
      finish(code === 'ECONNREFUSED' ? 'refused' : connected ? 'open' : 'error', code);
    });
  });
}

function probeUdp(request: ProbeRequest, timeoutMs: number): Promise<ProbeResult> {
  return new Promise((resolve) => {
    let done = false;
    const socket = dgram.createSocket(request.host.includes(':') ? 'udp6' : 'udp4');
    const finish = (status: ProbeStatus, detail: string) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.close();
      resolve({ key: request.key, status, detail });
    };
    const timer = setTimeout(() => finish('filtered', 'timeout'), timeoutMs);
    socket.on('message', (message) => finish('open', message.toString()));
    // A connected UDP socket reports ICMP port unreachable as ECONNREFUSED.
    socket.on('error', (error) => {
      const code = (error as NodeJS.ErrnoException).code ?? error.message;
      finish(code === 'ECONNREFUSED' ? 'refused' : 'error', code);
    });
    const send = () =>
      socket.connect(request.port, request.host, () => {
        socket.send('probe');
        // A datagram can be lost on a cold neighbour cache: send twice.
        setTimeout(() => !done && socket.send('probe'), Math.floor(timeoutMs / 3));
      });
    if (request.sourcePort === undefined) send();
    else socket.bind(request.sourcePort, send);
  });
}

interface Command {
  readonly id: number;
  readonly op: string;
  readonly [key: string]: unknown;
}

async function handle(agent: Agent, command: Command): Promise<unknown> {
  switch (command.op) {
    case 'listen':
      return agent.listen(command['tcp'] as ListenTarget[], command['udp'] as ListenTarget[]);
    case 'probe':
      return agent.probe(command['probes'] as ProbeRequest[], command['timeoutMs'] as number);
    case 'seen':
      return agent.takeSeen();
    case 'hold':
      return agent.hold(command['target'] as ListenTarget, command['intervalMs'] as number);
    case 'hold-stop':
      return agent.stopHold(command['hold'] as number);
    case 'spam':
      return agent.spam(command['targets'] as ProbeRequest[], command['durationMs'] as number, command['timeoutMs'] as number);
    case 'exit':
      agent.close();
      setTimeout(() => process.exit(0), 10);
      return null;
    default:
      throw new Error(`unknown op ${command.op}`);
  }
}

function main(): void {
  const agent = new Agent(process.argv[2] ?? 'agent');
  const lines = readline.createInterface({ input: process.stdin });
  lines.on('line', (line) => {
    let command: Command;
    try {
      command = JSON.parse(line) as Command;
    } catch {
      return;
    }
    handle(agent, command).then(
      (result) => process.stdout.write(`${JSON.stringify({ id: command.id, result })}\n`),
      (error: unknown) => process.stdout.write(`${JSON.stringify({ id: command.id, error: String(error) })}\n`),
    );
  });
  // The harness going away (stdin closed) ends the agent: no orphan keeps a namespace busy.
  lines.on('close', () => process.exit(0));
  process.stdout.write(`${JSON.stringify({ ready: agent.banner(0) })}\n`);
}

// Only when run as a program: uvu or tsc importing this file must not start an agent.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) main();
