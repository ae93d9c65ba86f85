import { isPermissionFailure } from '../host/describe-failure.js';
import { KubewallError } from '../errors.js';
import type { CommandOutcome } from '../host/types.js';
import { chainProbe, DETECT_COMMANDS, KUBE_PROXY_NAT_CHAIN, type DetectCapture } from './commands.js';
import type { HostLink, HostListener, NodeSnapshot, IptablesChainProbe, ListenerProtocol, ProbeStatus } from './types.js';

function parseJson(text: string, origin: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new KubewallError('HOST_READ', `${origin}: unparsable JSON output: ${(error as Error).message}`, { cause: error });
  }
}

/** `nft -j list tables` → `['ip kube-proxy', 'ip nat', ...]`, sorted. */
export function parseNftTables(text: string, origin: string): string[] {
  const doc = parseJson(text, origin) as { nftables?: unknown };
  if (!Array.isArray(doc?.nftables)) throw new KubewallError('HOST_READ', `${origin}: expected {"nftables": [...]}`);
  const tables = doc.nftables
    .map((item: { table?: { family?: unknown; name?: unknown } }) => item?.table)
    .filter((t): t is { family: string; name: string } => typeof t?.family === 'string' && typeof t?.name === 'string')
    .map((t) => `${t.family} ${t.name}`);
  return [...new Set(tables)].sort();
}

/** `/proc/net/ip_tables_names` (one table a line) → `['ip nat', 'ip filter']`. */
export function parseProcTableNames(text: string, family: 'ip' | 'ip6'): string[] {
  return text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => /^[a-z]+$/.test(line))
    .map((table) => `${family} ${table}`);
}

interface IpAddrItem {
  ifname?: unknown;
  flags?: unknown;
  linkinfo?: { info_kind?: unknown; info_data?: { port?: unknown; dstport?: unknown } };
  addr_info?: { local?: unknown }[];
}

/** `ip -d -j addr show` → links with their kind, VXLAN/Geneve port and addresses. */
export function parseIpAddr(text: string, origin: string): HostLink[] {
  const doc = parseJson(text, origin);
  if (!Array.isArray(doc)) throw new KubewallError('HOST_READ', `${origin}: expected a JSON list of interfaces`);
  return (doc as IpAddrItem[])
    .filter((item) => typeof item?.ifname === 'string')
    .map((item) => {
      const kind = typeof item.linkinfo?.info_kind === 'string' ? item.linkinfo.info_kind : null;
      const data = item.linkinfo?.info_data;
      // iproute2 reports a VXLAN device's port as `port`, a Geneve device's as `port` too (older: `dstport`).
      const port = typeof data?.port === 'number' ? data.port : typeof data?.dstport === 'number' ? data.dstport : null;
      return {
        name: item.ifname as string,
        kind,
        up: Array.isArray(item.flags) && item.flags.includes('UP'),
        udpPort: kind === 'vxlan' || kind === 'geneve' ? port : null,
        addresses: (item.addr_info ?? []).map((a) => a?.local).filter((a): a is string => typeof a === 'string'),
      };
    });
}

const NETIDS: Readonly<Record<string, ListenerProtocol>> = { tcp: 'tcp', udp: 'udp', raw: 'raw' };

/** `[::ffff:10.0.0.1]:80`, `127.0.0.53%lo:53`, `*:22` → address and port. */
function splitEndpoint(endpoint: string): { address: string; port: number } | null {
  const colon = endpoint.lastIndexOf(':');
  if (colon < 0) return null;
  const port = Number(endpoint.slice(colon + 1));
  if (!Number.isInteger(port)) return null;
  const address = endpoint.slice(0, colon).replace(/%[^\]]*$/, '').replace(/^\[(.*)\](%.*)?$/, '$1').replace(/%.*$/, '');
  return { address, port };
}

/**
 * `ss -H -lntuwp` → listeners. Each line: netid, state, recv-q, send-q,
 * local endpoint, peer endpoint, then `users:(("name",pid=1,fd=3),...)`
 * when ss may see the process (root).
 */
export function parseSs(text: string, origin: string): HostListener[] {
  const listeners: HostListener[] = [];
  for (const [index, line] of text.split('\n').entries()) {
    if (line.trim() === '') continue;
    const fields = line.trim().split(/\s+/);
    const protocol = NETIDS[fields[0] ?? ''];
    if (protocol === undefined) {
      // Other socket kinds (p_raw, u_str) are not asked for; a line we cannot read is a bug to report.
      if (/^(p_raw|p_dgr|u_|nl|tcp6|udp6)/.test(fields[0] ?? '')) continue;
      throw new KubewallError('HOST_READ', `${origin}: line ${index + 1}: unexpected socket type ${JSON.stringify(fields[0])} (expected tcp, udp or raw): ${line.trim()}`);
    }
    const endpoint = splitEndpoint(fields[4] ?? '');
    if (endpoint === null) throw new KubewallError('HOST_READ', `${origin}: line ${index + 1}: cannot read the local address ${JSON.stringify(fields[4])}: ${line.trim()}`);
    const processes = [...new Set([...line.matchAll(/\("([^"]*)",pid=/g)].map((m) => m[1]!))].sort();
    listeners.push({ protocol, address: endpoint.address, port: endpoint.port, processes });
  }
  return listeners;
}

function probeStatus(command: string, outcome: CommandOutcome | undefined): ProbeStatus {
  if (outcome === undefined) return { command, status: 'skipped', detail: 'not run (no such table, or not in the capture)' };
  if (outcome.status === 'not-found') return { command, status: 'not-found', detail: `${command.split(' ')[0]} is not installed` };
  if (outcome.status === 'timed-out') return { command, status: 'timed-out', detail: `no answer within ${outcome.timeoutMs / 1000} s` };
  if (outcome.exitCode === 0) return { command, status: 'ok' };
  if (isPermissionFailure(outcome)) return { command, status: 'failed', detail: 'permission denied (run kubewall detect as root)' };
  const last = outcome.stderr.trim().split('\n').filter((l) => l.trim() !== '').slice(-1)[0]?.trim();
  return { command, status: 'failed', detail: `exit code ${outcome.exitCode}${last ? `: ${last}` : ''}` };
}

/**
 * Pure: a capture (live or saved) → the normalized snapshot the detectors
 * read. A probe that failed leaves its part empty and is listed in `probes`,
 * so the report can say what it could not see instead of guessing.
 */
export function buildSnapshot(capture: DetectCapture, source: string): NodeSnapshot {
  const byCommand = new Map(capture.outputs.map((o) => [o.command, o.outcome]));
  const probes: ProbeStatus[] = [];
  const read = (argv: readonly string[]): string | null => {
    const command = argv.join(' ');
    const outcome = byCommand.get(command);
    const status = probeStatus(command, outcome);
    probes.push(status);
    return status.status === 'ok' && outcome?.status === 'exited' ? outcome.stdout : null;
  };
  const origin = (argv: readonly string[]) => `${source}: ${argv.join(' ')}`;
  const addrText = read(DETECT_COMMANDS.addresses);
  const ssText = read(DETECT_COMMANDS.sockets);
  const nftText = read(DETECT_COMMANDS.nftTables);
  // The file exists only once the legacy module is loaded: missing means "no legacy tables", not a failure.
  const readNames = (argv: readonly string[]): string => {
    const outcome = byCommand.get(argv.join(' '));
    if (outcome?.status === 'exited' && outcome.exitCode !== 0 && /No such file/i.test(outcome.stderr)) {
      probes.push({ command: argv.join(' '), status: 'ok', detail: 'not loaded' });
      return '';
    }
    return read(argv) ?? '';
  };
  const v4 = readNames(DETECT_COMMANDS.legacyV4);
  const v6 = readNames(DETECT_COMMANDS.legacyV6);
  const iptablesChains: IptablesChainProbe[] = [];
  for (const tool of ['iptables-nft', 'iptables-legacy', 'ip6tables-nft', 'ip6tables-legacy']) {
    const argv = chainProbe(tool);
    const outcome = byCommand.get(argv.join(' '));
    if (outcome === undefined) continue;
    // Exit 1 is "no such chain" (iptables-nft words it "incompatible"); anything else is a failed probe.
    const present = outcome.status === 'exited' && outcome.exitCode === 0;
    const absent = outcome.status === 'exited' && outcome.exitCode === 1 && !/permission denied|must be root/i.test(outcome.stderr);
    probes.push(present || absent ? { command: argv.join(' '), status: 'ok' } : probeStatus(argv.join(' '), outcome));
    if (present || absent) iptablesChains.push({ tool, table: 'nat', chain: KUBE_PROXY_NAT_CHAIN, present });
  }
  return {
    source,
    links: addrText === null ? [] : parseIpAddr(addrText, origin(DETECT_COMMANDS.addresses)),
    listeners: ssText === null ? [] : parseSs(ssText, origin(DETECT_COMMANDS.sockets)),
    nftTables: nftText === null ? [] : parseNftTables(nftText, origin(DETECT_COMMANDS.nftTables)),
    legacyTables: [...parseProcTableNames(v4, 'ip'), ...parseProcTableNames(v6, 'ip6')],
    iptablesChains,
    probes,
  };
}
