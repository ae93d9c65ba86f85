import { parseNetwork } from '../addresses.js';
import type { ChainName, NormalizedRule, RuleMatch, Verdict } from '../diff/types.js';
import type { Family, PortRange, Protocol } from '../model.js';
import { mergePortRanges } from '../ports.js';
import { LINK_LOCAL_V6 } from '../plan/types.js';
import { hostIpProtocolNumber } from './ip-protocol-names.js';
import { tokenizeSavedRule } from './read-iptables-save.js';

/**
 * Maps one saved iptables rule (iptables-save, ufw's user.rules) onto the
 * normalized form: the matches kubewall's iptables and ufw backends write
 * (ports, ICMP types, IP protocols without ports, conntrack states, ...),
 * in any order iptables-save prints them. Anything else becomes an `other`
 * rule carrying the saved text, so it is reported, never silently dropped.
 * Pure; shared by the iptables and ufw host readers.
 */

/** iptables-save prints ICMP types as numbers; kubewall's names (plan/types.ts) by number. */
const ICMP_NUMBERS: Readonly<Record<Family, Readonly<Record<string, string>>>> = {
  ipv4: { '8': 'echo-request', '3': 'destination-unreachable', '11': 'time-exceeded', '12': 'parameter-problem' },
  ipv6: {
    '128': 'echo-request',
    '1': 'destination-unreachable',
    '2': 'packet-too-big',
    '3': 'time-exceeded',
    '4': 'parameter-problem',
    '133': 'router-solicitation',
    '134': 'router-advertisement',
    '135': 'neighbour-solicitation',
    '136': 'neighbour-advertisement',
    '130': 'mld-listener-query',
    '131': 'mld-listener-report',
    '132': 'mld-listener-done',
    '143': 'mld2-listener-report',
  },
};
/** iptables' own spellings where they differ from kubewall's (legacy builds may print names). */
const ICMP_ALIASES: Readonly<Record<string, string>> = { 'neighbor-solicitation': 'neighbour-solicitation', 'neighbor-advertisement': 'neighbour-advertisement' };

/** Modules whose options are read below; a rule loading any other module is not kubewall's. */
const KNOWN_MODULES = new Set(['tcp', 'udp', 'multiport', 'set', 'comment', 'conntrack', 'state', 'icmp', 'icmp6', 'icmpv6', 'addrtype']);
const PROTOCOLS: Readonly<Record<string, Protocol>> = { tcp: 'tcp', '6': 'tcp', udp: 'udp', '17': 'udp' };

/** What one saved rule says, before it becomes normalized rules. */
export interface SavedRuleParts {
  readonly match: RuleMatch;
  /** An ipset name (`--match-set NAME src`) or an address (`-s`), or null. */
  readonly source: string | null;
  /** An address (`-d`), or undefined for any destination. */
  readonly destination?: string | undefined;
  readonly verdict: Verdict;
  /** The `-j` target as saved: RETURN, ACCEPT, DROP, a chain name. */
  readonly target: string | null;
  readonly comment: string | null;
}

function parsePorts(text: string): PortRange[] | undefined {
  const ranges: PortRange[] = [];
  for (const part of text.split(',')) {
    const m = /^(\d{1,5})(?::(\d{1,5}))?$/.exec(part);
    if (!m) return undefined;
    const from = Number(m[1]);
    const to = m[2] === undefined ? from : Number(m[2]);
    if (from > to || to > 65535) return undefined;
    ranges.push({ from, to });
  }
  return mergePortRanges(ranges);
}

/** `10.0.0.1/32` → `10.0.0.1`: host routes are written without their prefix, as the plan writes them. */
export function canonicalSource(address: string): string {
  const network = parseNetwork(address);
  return typeof network === 'string' ? address : network.text;
}

/**
 * Reads the words of one saved rule (without `-A CHAIN`). Returns the parts,
 * or a reason when the rule uses something kubewall never writes.
 */
export function readSavedRule(body: string, family: Family): SavedRuleParts | string {
  const tokens = tokenizeSavedRule(body);
  let protocol: string | undefined;
  let match: RuleMatch | undefined;
  let source: string | null = null;
  let target: string | null = null;
  let comment: string | null = null;
  let negate = false;
  let ports: PortRange[] | undefined;
  let destination: string | undefined;
  let sourcePort: PortRange[] | undefined;
  const icmpTypes: string[] = [];
  const setMatch = (value: RuleMatch) => (match ? false : ((match = value), true));
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i]!;
    const next = tokens[i + 1];
    const take = () => (i++, next);
    if (token === '!') {
      negate = true;
      continue;
    }
    const negated = negate;
    negate = false;
    switch (token) {
      case '-p':
      case '--protocol':
        if (negated || next === undefined) return `unexpected ${token}`;
        protocol = take();
        break;
      case '-m':
      case '--match':
        if (negated || next === undefined || !KNOWN_MODULES.has(next)) return `module ${next ?? '?'}`;
        take();
        break;
      case '-i':
      case '--in-interface':
        if (negated || next !== 'lo' || !setMatch({ kind: 'loopback' })) return `${token} ${next ?? ''}`;
        take();
        break;
      case '-s':
      case '--source':
        if (negated || next === undefined || source !== null) return `${token} ${next ?? ''}`;
        source = canonicalSource(take()!);
        break;
      case '-d':
      case '--destination':
        if (negated || next === undefined || destination !== undefined) return `${token} ${next ?? ''}`;
        destination = canonicalSource(take()!);
        break;
      case '--sport':
      case '--source-port':
        if (negated || next === undefined || sourcePort !== undefined) return `${token} ${next ?? ''}`;
        sourcePort = parsePorts(take()!);
        if (!sourcePort) return `${token} ${next}`;
        break;
      case '--match-set':
        if (negated || next === undefined || tokens[i + 2] !== 'src' || source !== null) return `--match-set ${next ?? ''}`;
        source = take()!;
        i++;
        break;
      case '--ctstate':
      case '--state': {
        const states = next?.split(',').sort().join(',');
        if (negated) return `! ${token}`;
        if (states === 'ESTABLISHED,RELATED' ? !setMatch({ kind: 'established' }) : states === 'INVALID' ? !setMatch({ kind: 'invalid' }) : true) return `${token} ${next ?? ''}`;
        take();
        break;
      }
      case '--dst-type':
        if (!negated || next !== 'LOCAL' || !setMatch({ kind: 'not-local' })) return `--dst-type ${next ?? ''}`;
        take();
        break;
      case '--dport':
      case '--destination-port':
      case '--dports':
      case '--destination-ports':
        if (negated || next === undefined || ports !== undefined) return `${token} ${next ?? ''}`;
        ports = parsePorts(take()!);
        if (!ports) return `${token} ${next}`;
        break;
      case '--icmp-type':
      case '--icmpv6-type': {
        const name = next === undefined ? undefined : (ICMP_NUMBERS[family][next] ?? ICMP_ALIASES[next] ?? next);
        if (negated || name === undefined || (token === '--icmp-type') !== (family === 'ipv4')) return `${token} ${next ?? ''}`;
        icmpTypes.push(name);
        take();
        break;
      }
      case '--comment':
        if (next === undefined) return '--comment';
        comment = take()!;
        break;
      case '-j':
      case '--jump':
        if (next === undefined || target !== null) return `${token}`;
        target = take()!;
        break;
      default:
        return token;
    }
  }
  const verdict: Verdict | undefined = target === 'RETURN' || target === 'ACCEPT' ? 'accept' : target === 'DROP' || target === 'REJECT' ? 'drop' : undefined;
  if (!verdict) return `target ${target ?? '(none)'}`;
  // The baseline's link-local rules (source fe80::/10) are the only ones kubewall writes with a source port or a multicast destination.
  const linkLocal = family === 'ipv6' && source === LINK_LOCAL_V6;
  if (sourcePort !== undefined) {
    const dhcp = linkLocal && PROTOCOLS[protocol ?? ''] === 'udp' && formatPorts(sourcePort) === '547' && formatPorts(ports ?? []) === '546' && !match && destination === undefined;
    if (!dhcp) return '--sport';
    return { match: { kind: 'link-local', id: 'dhcpv6-client' }, source, verdict, target, comment };
  }
  if (icmpTypes.length > 0) {
    const expected = family === 'ipv4' ? ['icmp', '1'] : ['ipv6-icmp', 'icmpv6', '58'];
    if (!expected.includes(protocol ?? '') || match || ports || destination !== undefined || (source !== null && !linkLocal)) return 'icmp';
    return { match: { kind: 'icmp', types: icmpTypes.sort() }, source, verdict, target, comment };
  }
  if (ports) {
    const proto = PROTOCOLS[protocol ?? ''];
    if (!proto || match) return 'ports';
    return { match: { kind: 'ports', protocol: proto, ports }, source, destination, verdict, target, comment };
  }
  if (protocol !== undefined) {
    // An IP protocol without ports (`-p 4`, saved as `-p ipencap`): iptables-save prints /etc/protocols' name.
    const ipProtocol = PROTOCOLS[protocol] === undefined ? hostIpProtocolNumber(protocol) : undefined;
    if (ipProtocol === undefined || match) return `-p ${protocol}`;
    if (destination !== undefined) {
      if (!linkLocal || ipProtocol !== 112 || destination !== 'ff02::12') return `-d ${destination}`;
      return { match: { kind: 'link-local', id: 'vrrp' }, source, verdict, target, comment };
    }
    return { match: { kind: 'ip-protocol', protocol: ipProtocol }, source, verdict, target, comment };
  }
  // kube-proxy ipvs: a Service or external network accepted by destination alone.
  if (destination !== undefined) return match || source !== null || verdict !== 'accept' ? `-d ${destination}` : { match: { kind: 'all' }, source, destination, verdict, target, comment };
  if (match && source !== null) return 'source';
  return { match: match ?? { kind: 'all' }, source, verdict, target, comment };
}

/** One saved rule of kubewall's chain → a normalized rule (an `other` one when it is not kubewall's form). */
export function normalizeSavedRule(chain: ChainName, family: Family, body: string, origin: string): NormalizedRule {
  const parts = readSavedRule(body, family);
  if (typeof parts === 'string') return { chain, family: null, source: null, match: { kind: 'other', text: `${family}: ${body}` }, verdict: /-j (DROP|REJECT)\b/.test(body) ? 'drop' : 'accept', origin };
  return { chain, family, source: parts.source, ...(parts.destination === undefined ? {} : { destination: parts.destination }), match: parts.match, verdict: parts.verdict, origin };
}

function formatPorts(ports: readonly PortRange[]): string {
  return ports.map((p) => (p.from === p.to ? `${p.from}` : `${p.from}:${p.to}`)).join(',');
}

/** The `-j` target of a saved rule, found without tokenizing (built-in chains can be long). */
export function savedTarget(body: string): string | undefined {
  return / (?:-j|--jump) ([^\s]+)/.exec(` ${body}`)?.[1];
}
