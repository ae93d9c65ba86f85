import { execa } from 'execa';
import { createNetns, deleteNetns, inNetns } from '../helpers/netns.js';
import { BIN, EXAMPLES_DIR } from '../helpers/paths.js';
import { fullSetProblems } from './flood-order.js';

/**
 * The memory bound of the audit sets under a flood (issue 15: "100,000
 * distinct would-be drops stay within the set's configured size"). Two
 * namespaces on a veth pair: `node` holds worker-1's address of
 * examples/cluster.yaml and the audit render; `sender` holds addresses no
 * peer class lists and sends one UDP packet to each of 25,000 ports (1-25000,
 * none of them open to outsiders) from each of four of them: 100,000
 * distinct would-be drops, about a second of python3.
 */

export type FloodBackend = 'nftables' | 'iptables';

export const NODE_ADDRESS = '10.10.0.21';
/** Not in examples/cluster.yaml: every packet from them to ports 1-25000 is a would-be drop. */
export const OUTSIDERS = ['10.77.0.1', '10.77.0.2', '10.77.0.3', '10.77.0.4', '10.77.0.5', '10.77.0.6'] as const;
export const FLOOD_PORTS = 25_000;
export const FLOOD_SOURCES = OUTSIDERS.slice(0, 4);
/** The flood: distinct (source, port) pairs, in the order they are sent. */
export const FLOOD_SIZE = FLOOD_SOURCES.length * FLOOD_PORTS;
/** Later batches, one source each, that no earlier packet used. */
export const BATCH_PORTS = 1000;

export interface FloodLab {
  readonly node: string;
  readonly sender: string;
}

/** Creates the two namespaces, runs `fn`, deletes them (also when `fn` throws). */
export async function withFloodLab<T>(fn: (lab: FloodLab) => Promise<T>): Promise<T> {
  const made: string[] = [];
  try {
    const node = await createNetns('flood-node');
    made.push(node);
    const sender = await createNetns('flood-send');
    made.push(sender);
    const suffix = node.slice(-6);
    // Created in the node namespace, one end moved: the host's own namespace never holds either end.
    await inNetns(node, 'ip', ['link', 'add', `kwfa${suffix}`, 'type', 'veth', 'peer', 'name', `kwfb${suffix}`]);
    await inNetns(node, 'ip', ['link', 'set', `kwfb${suffix}`, 'netns', sender]);
    await inNetns(node, 'ip', ['link', 'set', `kwfa${suffix}`, 'name', 'eth0']);
    await inNetns(sender, 'ip', ['link', 'set', `kwfb${suffix}`, 'name', 'eth0']);
    await inNetns(node, 'ip', ['addr', 'add', `${NODE_ADDRESS}/8`, 'dev', 'eth0']);
    await inNetns(sender, 'ip', ['-batch', '-'], { input: OUTSIDERS.map((a) => `addr add ${a}/8 dev eth0`).join('\n') + '\n' });
    await inNetns(node, 'ip', ['link', 'set', 'eth0', 'up']);
    await inNetns(sender, 'ip', ['link', 'set', 'eth0', 'up']);
    return await fn({ node, sender });
  } finally {
    for (const netns of made.reverse()) await deleteNetns(netns);
  }
}

/** The audit render of a worker of examples/cluster.yaml (iptables: the self-contained script, iptables-nft). */
export async function renderAudit(backend: FloodBackend): Promise<string> {
  const extra = backend === 'iptables' ? ['--iptables-variant', 'nft'] : [];
  const result = await execa(process.execPath, [BIN, 'render', '--backend', backend, ...extra, '--role', 'worker', '--cluster', `${EXAMPLES_DIR}cluster.yaml`, '--audit']);
  return result.stdout;
}

export interface AuditSetConfig {
  /** nftables `size`, ipset `maxelem`: the records the render allows a family. */
  readonly size: number;
  readonly timeoutSeconds: number;
}

const NFT_AUDIT_V4 = /set audit-v4 \{[^}]*?timeout (\d+)([smhd]);[^}]*?size (\d+);/;
const IPSET_AUDIT_V4 = /create KUBEWALL-AUDIT-V4 hash:ip,port [^\n]*?maxelem (\d+) timeout (\d+)/;
const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };

/** What the rendered text configures for the IPv4 audit set; throws when it says nothing. */
export function readAuditSetConfig(backend: FloodBackend, text: string): AuditSetConfig {
  if (backend === 'nftables') {
    const m = NFT_AUDIT_V4.exec(text);
    if (!m) throw new Error('the nftables audit render declares no set audit-v4 with a timeout and a size');
    return { size: Number(m[3]), timeoutSeconds: Number(m[1]) * UNIT_SECONDS[m[2]!]! };
  }
  const m = IPSET_AUDIT_V4.exec(text);
  if (!m) throw new Error('the iptables audit render creates no ipset KUBEWALL-AUDIT-V4 with a maxelem and a timeout');
  return { size: Number(m[1]), timeoutSeconds: Number(m[2]) };
}

/** The render with the IPv4 and IPv6 audit sets' timeout (and, for a self-test, other parameters) replaced; throws when nothing changed. */
export function withAuditSetParameters(backend: FloodBackend, text: string, change: { timeoutSeconds?: number; size?: number; hashsize?: number }): string {
  let out = text;
  if (backend === 'nftables') {
    out = out.replace(/(set audit-v[46] \{[^}]*?timeout )(\d+[smhd])(;[^}]*?size )(\d+)(;)/g, (_all, a: string, timeout: string, b: string, size: string, c: string) =>
      `${a}${change.timeoutSeconds !== undefined ? `${change.timeoutSeconds}s` : timeout}${b}${change.size ?? size}${c}`,
    );
  } else {
    out = out.replace(/(create KUBEWALL-AUDIT-V[46] hash:ip,port [^\n]*?)hashsize (\d+) maxelem (\d+) timeout (\d+)/g, (_all, head: string, hashsize: string, maxelem: string, timeout: string) =>
      `${head}hashsize ${change.hashsize ?? hashsize} maxelem ${change.size ?? maxelem} timeout ${change.timeoutSeconds ?? timeout}`,
    );
  }
  if (out === text) throw new Error(`${backend}: no audit set parameter was changed`);
  return out;
}

/** Loads a render in the node namespace (nftables: nft -f; iptables: the script). */
export async function loadRender(lab: FloodLab, backend: FloodBackend, text: string): Promise<void> {
  if (backend === 'nftables') await inNetns(lab.node, 'nft', ['-f', '-'], { input: text });
  else await inNetns(lab.node, 'sh', ['-s'], { input: text });
}

// One UDP packet to each port from each source; prints {"sent": n, "errors": [...]}.
const SENDER = `
import json, socket, sys
target, sources, first, last = sys.argv[1], sys.argv[2].split(','), int(sys.argv[3]), int(sys.argv[4])
sent, errors = 0, []
for source in sources:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((source, 0))
    for port in range(first, last + 1):
        try:
            s.sendto(b'k', (target, port))
            sent += 1
        except OSError as e:
            if len(errors) < 5: errors.append(f'{source} -> {port}: {e}')
    s.close()
print(json.dumps({'sent': sent, 'errors': errors}))
`;

export interface SendResult {
  readonly sent: number;
  readonly errors: readonly string[];
  /** UDP datagrams the node's stack took in to closed ports during the send: what the firewall let through. */
  readonly delivered: number;
}

async function udpNoPorts(netns: string): Promise<number> {
  // /proc/net/snmp is the namespace's own: nstat would keep its history in the host's /tmp.
  const text = (await inNetns(netns, 'cat', ['/proc/net/snmp'])).stdout;
  const [header, values] = text.split('\n').filter((line) => line.startsWith('Udp: '));
  const index = header!.split(' ').indexOf('NoPorts');
  return Number(values!.split(' ')[index]);
}

/** Sends one packet from each source to each port in [first, last] and counts what the node took in. */
export async function send(lab: FloodLab, sources: readonly string[], first: number, last: number): Promise<SendResult> {
  const before = await udpNoPorts(lab.node);
  const result = await inNetns(lab.sender, 'python3', ['-c', SENDER, NODE_ADDRESS, sources.join(','), String(first), String(last)]);
  const parsed = JSON.parse(result.stdout) as { sent: number; errors: string[] };
  return { ...parsed, delivered: (await udpNoPorts(lab.node)) - before };
}

/** The IPv4 audit set's records as `source,port` (UDP only: the flood sends nothing else). */
export async function readRecords(lab: FloodLab, backend: FloodBackend): Promise<Set<string>> {
  const records = new Set<string>();
  if (backend === 'nftables') {
    const result = await execa('ip', ['netns', 'exec', lab.node, 'nft', '-j', 'list', 'set', 'inet', 'kubewall', 'audit-v4'], { maxBuffer: 1 << 28 });
    const doc = JSON.parse(result.stdout) as { nftables: { set?: { elem?: { elem: { val: { concat: [string, string, number] } } }[] } }[] };
    for (const item of doc.nftables) {
      for (const e of item.set?.elem ?? []) {
        const [source, protocol, port] = e.elem.val.concat;
        if (protocol === 'udp') records.add(`${source},${port}`);
      }
    }
    return records;
  }
  const result = await execa('ip', ['netns', 'exec', lab.node, 'ipset', 'save', 'KUBEWALL-AUDIT-V4'], { maxBuffer: 1 << 28 });
  for (const line of result.stdout.split('\n')) {
    const m = /^add KUBEWALL-AUDIT-V4 (\S+),udp:(\d+) /.exec(line);
    if (m) records.add(`${m[1]},${m[2]}`);
  }
  return records;
}

/** The flood's pairs in the order they were sent. */
export function floodPairs(): string[] {
  return FLOOD_SOURCES.flatMap((source) => Array.from({ length: FLOOD_PORTS }, (_, i) => `${source},${i + 1}`));
}

export interface FloodRun {
  readonly backend: FloodBackend;
  /** From the render the bound is checked against (not the one loaded, in a self-test). */
  readonly config: AuditSetConfig;
  readonly flood: SendResult;
  /** After the flood and one batch of new pairs from a fifth source. */
  readonly afterFlood: Set<string>;
  readonly batch: SendResult;
  /** The expiry phase: absent when the run skips it. */
  readonly expiry?: { readonly timeoutSeconds: number; readonly waitedSeconds: number; readonly batch: SendResult; readonly records: Set<string> };
}

/**
 * Floods the loaded audit render, sends a batch of new pairs, reads the set;
 * with `expireAfterSeconds` (the timeout loaded), waits until the flood's
 * records have expired (plus the nftables GC's one second), sends another
 * new batch and reads the set again.
 */
/**
 * The machine was too slow for the shortened timeout: the flood's first
 * records could have expired before the set was listed, so the run proves
 * nothing either way (it once read as 123 "evicted" records under a loaded CI).
 */
export class FloodTooSlowForTimeout extends Error {}

export async function floodRun(lab: FloodLab, backend: FloodBackend, config: AuditSetConfig, expireAfterSeconds?: number): Promise<FloodRun> {
  const floodStarted = Date.now();
  const flood = await send(lab, FLOOD_SOURCES, 1, FLOOD_PORTS);
  const floodEnded = Date.now();
  const batch = await send(lab, [OUTSIDERS[4]], 1, BATCH_PORTS);
  const afterFlood = await readRecords(lab, backend);
  if (expireAfterSeconds === undefined) return { backend, config, flood, afterFlood, batch };
  // From the flood's start: its first records are the oldest, and the ones the eviction check reads.
  const listedBy = (Date.now() - floodStarted) / 1000;
  if (listedBy > expireAfterSeconds - 1) {
    throw new FloodTooSlowForTimeout(`the flood and the listing of the full set took ${listedBy.toFixed(1)} s, too close to the ${expireAfterSeconds} s timeout loaded for the test`);
  }
  const waitMs = (expireAfterSeconds + 2) * 1000 - (Date.now() - floodEnded);
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, waitMs)));
  const later = await send(lab, [OUTSIDERS[5]], 1, BATCH_PORTS);
  const records = await readRecords(lab, backend);
  return { backend, config, flood, afterFlood, batch, expiry: { timeoutSeconds: expireAfterSeconds, waitedSeconds: (Date.now() - floodEnded) / 1000, batch: later, records } };
}

/**
 * ipset enforces maxelem per lock region (16 regions of maxelem/16 with the
 * render's hashsize), so the total can pass it a little: 65,874 and 65,917 of
 * 65,536 measured. nftables enforces `size` exactly.
 */
export const IPSET_MAXELEM_SLACK = 0.02;

/** What is wrong with a flood run, one line each (empty: bounded, full, nothing dropped, no eviction, expired records replaced). */
export function floodProblems(run: FloodRun): string[] {
  const out: string[] = [];
  const { size } = run.config;
  const upper = run.backend === 'nftables' ? size : Math.floor(size * (1 + IPSET_MAXELEM_SLACK));
  const lower = run.backend === 'nftables' ? size : Math.ceil(size * (1 - IPSET_MAXELEM_SLACK));
  if (run.flood.sent !== FLOOD_SIZE || run.flood.errors.length > 0) out.push(`the sender sent ${run.flood.sent} of ${FLOOD_SIZE} packets: ${run.flood.errors.join('; ')}`);
  if (run.flood.delivered !== run.flood.sent) out.push(`audit mode dropped would-be drops: ${run.flood.delivered} of ${run.flood.sent} flood packets reached the node's UDP stack`);
  if (run.batch.delivered !== run.batch.sent) out.push(`with the set full, ${run.batch.sent - run.batch.delivered} of ${run.batch.sent} new would-be drops were dropped instead of accepted unrecorded`);
  const flood = floodPairs();
  const floodSet = new Set(flood);
  const fromFlood = [...run.afterFlood].filter((r) => floodSet.has(r)).length;
  const count = run.afterFlood.size;
  if (count > upper) out.push(`the set holds ${count} records after ${FLOOD_SIZE + BATCH_PORTS} distinct would-be drops, more than the configured ${size}${upper !== size ? ` (+${IPSET_MAXELEM_SLACK * 100}%)` : ''}`);
  if (count < lower) out.push(`the set holds ${count} records after ${FLOOD_SIZE + BATCH_PORTS} distinct would-be drops, fewer than the configured ${size}${lower !== size ? ` (-${IPSET_MAXELEM_SLACK * 100}%)` : ''}: it stopped taking records before its size`);
  if (run.backend === 'nftables') {
    // A full nftables set takes nothing new: the records are the first `size` pairs sent (up to
    // packets reordered around the boundary, see flood-order.ts), and the batch is not recorded.
    out.push(...fullSetProblems(flood, run.afterFlood, size));
    const newer = count - fromFlood;
    if (newer > 0 && count >= size) out.push(`${newer} records of the batch sent after the set was full: something was evicted for them`);
  }
  if (run.expiry) {
    const { batch, records } = run.expiry;
    const stale = [...records].filter((r) => floodSet.has(r)).length;
    const fresh = [...records].filter((r) => r.startsWith(`${OUTSIDERS[5]},`)).length;
    if (stale > 0) out.push(`${stale} flood records are still there ${run.expiry.waitedSeconds.toFixed(1)} s after the flood (timeout loaded: ${run.expiry.timeoutSeconds} s)`);
    if (batch.delivered !== batch.sent) out.push(`after expiry, ${batch.sent - batch.delivered} of ${batch.sent} would-be drops were dropped`);
    if (fresh !== BATCH_PORTS) out.push(`after the flood's records expired, ${fresh} of ${BATCH_PORTS} new would-be drops were recorded`);
  }
  return out;
}
