// The packet-path cost of audit mode (issue 15): new TCP connections per
// second from an allowed peer (cp-1, 10.10.0.11) to an allowed port (kubelet
// 10250) of a worker of examples/cluster.yaml, in namespace pairs holding
// (a) no ruleset, (b) the enforcing render, (c) the --audit render, for
// nftables and iptables (iptables-nft). A paced stream of distinct would-be
// drops (UDP from addresses no peer class lists, ~20,000 packets/s) runs
// during every cell, so every cell carries the same load: the audit cells
// record it (their sets fill within seconds, then take the full-set path),
// the enforcing cells drop it, the bare one delivers it to closed ports.
// Cells are interleaved, rounds rotate their order; each prints its median
// and the ratio to (a) measured in the same run. Root only. Run alone with
// `node dist/bench/audit-cost.js`; `npm run bench` runs it last.
//   KUBEWALL_BENCH_AUDIT_MS (default 1500): length of one cell;
//   KUBEWALL_BENCH_AUDIT_ROUNDS (default 3).
import { execa, type ResultPromise } from 'execa';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { median } from './measure.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const bin = path.join(root, 'bin', 'kubewall.js');
const self = fileURLToPath(import.meta.url);
const CLUSTER = path.join(root, 'examples', 'cluster.yaml');
const NODE = '10.10.0.21';
const PEER = '10.10.0.11';
const PORT = 10250;
const STREAM_SOURCES = ['10.77.0.1', '10.77.0.2', '10.77.0.3', '10.77.0.4'];
const CELL_MS = Number(process.env['KUBEWALL_BENCH_AUDIT_MS'] ?? 1500);
const ROUNDS = Number(process.env['KUBEWALL_BENCH_AUDIT_ROUNDS'] ?? 3);
/** Connections in flight: enough to keep the path busy on two cores. */
const CONCURRENCY = 16;

interface Cell {
  readonly label: string;
  readonly backend?: 'nftables' | 'iptables';
  readonly audit: boolean;
  node?: string;
  client?: string;
  server?: ResultPromise;
  readonly rates: number[];
}

// Paced stream: 200 packets every 10 ms, each a (source, port) pair not sent before in this run.
const STREAM = `
import socket, sys, time
target, sources, start = sys.argv[1], sys.argv[2].split(','), int(sys.argv[3])
socks = []
for s in sources:
    k = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); k.bind((s, 0)); socks.append(k)
i = start
while True:
    t = time.monotonic()
    for _ in range(200):
        socks[i % len(socks)].sendto(b'k', (target, 1 + (i // len(socks)) % 25000)); i += 1
    time.sleep(max(0, 0.01 - (time.monotonic() - t)))
`;

async function inNs(netns: string, command: string, args: readonly string[], input?: string) {
  return execa('ip', ['netns', 'exec', netns, command, ...args], { input: input ?? '' });
}

async function render(backend: 'nftables' | 'iptables', audit: boolean): Promise<string> {
  const extra = backend === 'iptables' ? ['--iptables-variant', 'nft'] : [];
  return (await execa(process.execPath, [bin, 'render', '--backend', backend, ...extra, '--role', 'worker', '--cluster', CLUSTER, ...(audit ? ['--audit'] : [])])).stdout;
}

async function setUp(cell: Cell, made: string[]): Promise<void> {
  const tag = randomBytes(3).toString('hex');
  const node = `kw-bench-ac-${tag}n`;
  const client = `kw-bench-ac-${tag}c`;
  for (const netns of [node, client]) {
    await execa('ip', ['netns', 'add', netns]);
    made.push(netns);
    await inNs(netns, 'ip', ['link', 'set', 'lo', 'up']);
  }
  // The veth pair is made inside the node namespace and one end moved: the host's namespace never holds it.
  await inNs(node, 'ip', ['link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', `kwac${tag}`]);
  await inNs(node, 'ip', ['link', 'set', `kwac${tag}`, 'netns', client]);
  await inNs(client, 'ip', ['link', 'set', `kwac${tag}`, 'name', 'eth0']);
  await inNs(node, 'ip', ['addr', 'add', `${NODE}/8`, 'dev', 'eth0']);
  await inNs(client, 'ip', ['-batch', '-'], [PEER, ...STREAM_SOURCES].map((a) => `addr add ${a}/8 dev eth0`).join('\n') + '\n');
  for (const netns of [node, client]) await inNs(netns, 'ip', ['link', 'set', 'eth0', 'up']);
  if (cell.backend === 'nftables') await inNs(node, 'nft', ['-f', '-'], await render('nftables', cell.audit));
  if (cell.backend === 'iptables') await inNs(node, 'sh', ['-s'], await render('iptables', cell.audit));
  const server = execa('ip', ['netns', 'exec', node, process.execPath, self, 'server', NODE, String(PORT)], { reject: false, stdout: 'pipe' });
  await new Promise<void>((resolve, reject) => {
    server.stdout!.once('data', () => resolve());
    server.once('exit', () => reject(new Error(`${cell.label}: the server exited before listening`)));
  });
  Object.assign(cell, { node, client, server });
}

async function measure(cell: Cell, streamStart: number): Promise<void> {
  const stream = execa('ip', ['netns', 'exec', cell.client!, 'python3', '-c', STREAM, NODE, STREAM_SOURCES.join(','), String(streamStart)], { reject: false });
  try {
    const result = await inNs(cell.client!, process.execPath, [self, 'client', NODE, String(PORT), String(CELL_MS), String(CONCURRENCY)]);
    const { done, errors, ms } = JSON.parse(result.stdout) as { done: number; errors: number; ms: number };
    if (errors > done / 100) throw new Error(`${cell.label}: ${errors} connection errors (${done} connections)`);
    cell.rates.push((done / ms) * 1000);
  } finally {
    stream.kill();
    await stream;
  }
}

async function auditRecords(cell: Cell): Promise<string> {
  if (!cell.audit || !cell.node) return '';
  if (cell.backend === 'iptables') {
    const header = (await inNs(cell.node, 'ipset', ['list', 'KUBEWALL-AUDIT-V4', '-t'])).stdout;
    return /Number of entries: (\d+)/.exec(header)?.[1] ?? '?';
  }
  const text = (await execa('ip', ['netns', 'exec', cell.node, 'nft', '-j', 'list', 'set', 'inet', 'kubewall', 'audit-v4'], { maxBuffer: 1 << 28 })).stdout;
  return String((text.match(/"elem": \{"val"/g) ?? []).length);
}

/** Runs the cells, prints the table. Needs root (namespaces); says so and returns otherwise. */
export async function runAuditCostBench(): Promise<void> {
  const out = (line: string) => process.stdout.write(`${line}\n`);
  if (process.getuid?.() !== 0) {
    out('audit cost: skipped (needs root for network namespaces)');
    return;
  }
  const cells: Cell[] = [
    { label: '(a) no ruleset', audit: false, rates: [] },
    { label: '(b) nftables enforcing', backend: 'nftables', audit: false, rates: [] },
    { label: '(c) nftables --audit', backend: 'nftables', audit: true, rates: [] },
    { label: '(b) iptables enforcing', backend: 'iptables', audit: false, rates: [] },
    { label: '(c) iptables --audit', backend: 'iptables', audit: true, rates: [] },
  ];
  const made: string[] = [];
  try {
    for (const cell of cells) await setUp(cell, made);
    let streamStart = 0;
    for (let round = 0; round < ROUNDS; round++) {
      for (let k = 0; k < cells.length; k++) {
        await measure(cells[(k + round) % cells.length]!, streamStart);
        streamStart += (CELL_MS / 10) * 200;
      }
    }
    const base = median(cells[0]!.rates);
    out('');
    out(`audit cost (node ${process.version}, ${ROUNDS} rounds x ${CELL_MS} ms a cell, interleaved; new TCP connections/s ${PEER} -> ${NODE}:${PORT}, ${CONCURRENCY} in flight, while ~20,000 would-be drops/s stream in)`);
    out('');
    out('| cell | connections/s (median) | x (a) | runs | IPv4 audit records at the end |');
    out('|---|---|---|---|---|');
    for (const cell of cells) {
      const rate = median(cell.rates);
      out(`| ${cell.label} | ${rate.toFixed(0)} | ${(rate / base).toFixed(2)} | ${cell.rates.map((r) => r.toFixed(0)).join(', ')} | ${await auditRecords(cell)} |`);
    }
  } finally {
    for (const cell of cells) {
      cell.server?.kill();
      await cell.server?.catch(() => undefined);
    }
    for (const netns of made) await execa('ip', ['netns', 'del', netns], { reject: false });
  }
}

/** In the node namespace: accept and forget. */
function serve(host: string, port: number): void {
  const server = net.createServer((socket) => {
    socket.on('error', () => undefined);
    socket.resume();
  });
  server.listen({ host, port, backlog: 4096 }, () => process.stdout.write('listening\n'));
}

/** In the client namespace: `concurrency` loops of connect, then reset (no TIME_WAIT to run out of ports). */
async function connectLoop(host: string, port: number, ms: number, concurrency: number): Promise<void> {
  let done = 0;
  let errors = 0;
  const started = performance.now();
  const end = started + ms;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < end) {
        await new Promise<void>((resolve) => {
          const socket = net.connect({ host, port });
          socket.once('connect', () => {
            done++;
            socket.resetAndDestroy();
            resolve();
          });
          socket.once('error', () => {
            errors++;
            socket.destroy();
            resolve();
          });
        });
      }
    }),
  );
  process.stdout.write(JSON.stringify({ done, errors, ms: performance.now() - started }));
}

if (process.argv[1] === self) {
  const [mode, ...args] = process.argv.slice(2);
  if (mode === 'server') serve(args[0]!, Number(args[1]));
  else if (mode === 'client') await connectLoop(args[0]!, Number(args[1]), Number(args[2]), Number(args[3]));
  else await runAuditCostBench();
}
