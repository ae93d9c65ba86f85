import type { HostWarning, NormalizedChain, NormalizedRule, NormalizedRuleset, NormalizedSet, RuleMatch, Verdict } from '../../diff/types.js';
import { KubewallError } from '../../errors.js';
import { hostIpProtocolNumber } from '../../host/ip-protocol-names.js';
import { FAMILIES, type Family, type Protocol } from '../../model.js';
import { mergePortRanges } from '../../ports.js';
import type { PortRange } from '../../model.js';
import { findMarkedItemsSparse, findNftItems, isObject, markItems, MARK, NftJsonError, parseItem, SHADOWING_HOOKS, type Item, type Json, type JsonObject } from './json-items.js';
import { LINK_LOCAL_V6, MLD_TYPES } from '../../plan/types.js';
import { NFT_TABLE } from './view.js';

/** nft's ICMPv6 names where they differ from kubewall's (see ICMPV6_NAMES in view.ts). */
const NFT_ICMPV6_NAMES: Readonly<Record<string, string>> = {
  'nd-router-solicit': 'router-solicitation',
  'nd-router-advert': 'router-advertisement',
  'nd-neighbor-solicit': 'neighbour-solicitation',
  'nd-neighbor-advert': 'neighbour-advertisement',
};

const FIREWALLD_TABLE = /^(inet|ip|ip6) firewalld$/;

function str(value: Json): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/** `nft -j` element forms: `"10.0.0.1"`, `{"prefix": {...}}`, `{"range": [a, b]}`, `{"elem": {"val": ...}}`. */
function elementText(element: Json): string | undefined {
  if (typeof element === 'string') return element;
  if (!isObject(element)) return undefined;
  if (isObject(element['elem'])) return elementText(element['elem']['val']);
  if (isObject(element['prefix'])) return `${String(element['prefix']['addr'])}/${String(element['prefix']['len'])}`;
  if (Array.isArray(element['range']) && element['range'].length === 2) return `${String(element['range'][0])}-${String(element['range'][1])}`;
  return undefined;
}

function portRanges(right: Json): PortRange[] | undefined {
  const one = (value: Json): PortRange | undefined => {
    if (typeof value === 'number') return { from: value, to: value };
    if (isObject(value) && Array.isArray(value['range']) && typeof value['range'][0] === 'number' && typeof value['range'][1] === 'number') {
      return { from: value['range'][0], to: value['range'][1] };
    }
    return undefined;
  };
  const values = isObject(right) && Array.isArray(right['set']) ? right['set'] : [right];
  const ranges = values.map(one);
  return ranges.every((r): r is PortRange => r !== undefined) ? mergePortRanges(ranges) : undefined;
}

function stringList(right: Json): string[] | undefined {
  const values = isObject(right) && Array.isArray(right['set']) ? right['set'] : Array.isArray(right) ? right : [right];
  return values.every((v): v is string => typeof v === 'string') ? values : undefined;
}

/** A compact, nft-like text for a rule kubewall cannot map, so a human can find it. */
export function describeExpressions(expr: readonly Json[]): string {
  return expr
    .map((statement) => {
      if (!isObject(statement)) return JSON.stringify(statement);
      const [key, value] = Object.entries(statement)[0] ?? ['?', null];
      if (value === null) return key;
      if (key === 'match' && isObject(value)) return `${describeValue(value['left'])} ${value['op'] === '==' || value['op'] === 'in' ? '' : `${String(value['op'])} `}${describeValue(value['right'])}`;
      return `${key} ${JSON.stringify(value)}`;
    })
    .join(' ');
}

function describeValue(value: Json): string {
  if (typeof value === 'string' || typeof value === 'number') return String(value);
  if (Array.isArray(value)) return value.map(describeValue).join(',');
  if (isObject(value)) {
    if (isObject(value['payload'])) return `${String(value['payload']['protocol'])} ${String(value['payload']['field'])}`;
    if (isObject(value['meta'])) return `meta ${String(value['meta']['key'])}`;
    if (isObject(value['ct'])) return `ct ${String(value['ct']['key'])}`;
    if (Array.isArray(value['set'])) return `{ ${value['set'].map(describeValue).join(', ')} }`;
    if (Array.isArray(value['range'])) return value['range'].map(describeValue).join('-');
    if (isObject(value['prefix'])) return `${String(value['prefix']['addr'])}/${String(value['prefix']['len'])}`;
  }
  return JSON.stringify(value);
}

interface RuleParts {
  match?: RuleMatch;
  family?: Family;
  source?: string;
  /** A literal source prefix (`fe80::/10`), as only the link-local baseline writes. */
  sourcePrefix?: string;
  destination?: string;
  /** `daddr { a, b/n }`: kube-proxy ipvs's Service and external networks, accepted by destination alone. */
  destinations?: string[];
  sourcePort?: number;
  verdict?: Verdict;
  l4proto?: string;
}

const MLD_NAMES: readonly string[] = Object.keys(MLD_TYPES);

/**
 * kubewall's link-local baseline rules as `linkLocalStatement` writes them
 * (source fe80::/10); anything else with a literal source is not kubewall's.
 */
function linkLocalMatch(parts: RuleParts): RuleMatch | undefined {
  if (parts.sourcePrefix !== LINK_LOCAL_V6 || parts.family !== 'ipv6') return undefined;
  const { match } = parts;
  if (match?.kind === 'icmp' && parts.destination === undefined && match.types.every((t) => MLD_NAMES.includes(t))) return match;
  if (match?.kind === 'ports' && match.protocol === 'udp' && parts.sourcePort === 547 && match.ports.length === 1 && match.ports[0]!.from === 546 && match.ports[0]!.to === 546 && parts.destination === undefined) {
    return { kind: 'link-local', id: 'dhcpv6-client' };
  }
  if (match === undefined && parts.destination === 'ff02::12' && parts.l4proto !== undefined && hostIpProtocolNumber(parts.l4proto) === 112) {
    return { kind: 'link-local', id: 'vrrp' };
  }
  return undefined;
}

/** Maps one match statement onto `parts`; false when kubewall never writes it. */
function readMatch(parts: RuleParts, match: JsonObject): boolean {
  const { op, left, right } = match;
  if (!isObject(left)) return false;
  const meta = isObject(left['meta']) ? str(left['meta']['key']) : undefined;
  const ct = isObject(left['ct']) ? str(left['ct']['key']) : undefined;
  const payload = isObject(left['payload']) ? left['payload'] : undefined;
  const fib = isObject(left['fib']) ? left['fib'] : undefined;
  const setOnce = (value: RuleMatch) => (parts.match ? false : ((parts.match = value), true));
  if ((meta === 'iif' || meta === 'iifname') && op === '==' && right === 'lo') return setOnce({ kind: 'loopback' });
  if (meta === 'l4proto' && op === '==' && (typeof right === 'string' || typeof right === 'number')) return (parts.l4proto = String(right)), true;
  if (meta === 'nfproto' && op === '==' && (right === 'ipv4' || right === 'ipv6')) return setFamily(parts, right);
  if (ct === 'state' && (op === 'in' || op === '==')) {
    const states = stringList(right)?.sort().join(',');
    if (states === 'established,related') return setOnce({ kind: 'established' });
    if (states === 'invalid') return setOnce({ kind: 'invalid' });
    return false;
  }
  if (fib && str(fib['result']) === 'type' && Array.isArray(fib['flags']) && fib['flags'].join(',') === 'daddr' && op === '!=' && right === 'local') {
    return setOnce({ kind: 'not-local' });
  }
  if (payload && op === '==') {
    const protocol = str(payload['protocol']);
    const field = str(payload['field']);
    if ((protocol === 'ip' || protocol === 'ip6') && field === 'saddr' && typeof right === 'string' && right.startsWith('@') && parts.source === undefined) {
      parts.source = right.slice(1);
      return setFamily(parts, protocol === 'ip' ? 'ipv4' : 'ipv6');
    }
    if (protocol === 'ip6' && field === 'saddr' && isObject(right) && isObject(right['prefix']) && parts.sourcePrefix === undefined) {
      parts.sourcePrefix = `${String(right['prefix']['addr'])}/${String(right['prefix']['len'])}`;
      return setFamily(parts, 'ipv6');
    }
    if ((protocol === 'ip' || protocol === 'ip6') && field === 'daddr' && typeof right === 'string' && !right.startsWith('@') && parts.destination === undefined) {
      parts.destination = right;
      return setFamily(parts, protocol === 'ip' ? 'ipv4' : 'ipv6');
    }
    if ((protocol === 'ip' || protocol === 'ip6') && field === 'daddr' && isObject(right) && isObject(right['prefix']) && parts.destination === undefined && parts.destinations === undefined) {
      parts.destinations = [`${String(right['prefix']['addr'])}/${String(right['prefix']['len'])}`];
      return setFamily(parts, protocol === 'ip' ? 'ipv4' : 'ipv6');
    }
    if ((protocol === 'ip' || protocol === 'ip6') && field === 'daddr' && isObject(right) && Array.isArray(right['set']) && parts.destination === undefined && parts.destinations === undefined) {
      const elements = right['set'].map((element) => (typeof element === 'string' ? element : isObject(element) && isObject(element['prefix']) ? `${String(element['prefix']['addr'])}/${String(element['prefix']['len'])}` : undefined));
      if (elements.some((e) => e === undefined)) return false;
      parts.destinations = elements as string[];
      return setFamily(parts, protocol === 'ip' ? 'ipv4' : 'ipv6');
    }
    if (protocol === 'udp' && field === 'sport' && typeof right === 'number' && parts.sourcePort === undefined) {
      parts.sourcePort = right;
      return true;
    }
    if ((protocol === 'tcp' || protocol === 'udp') && field === 'dport') {
      const ports = portRanges(right);
      return ports !== undefined && setOnce({ kind: 'ports', protocol: protocol as Protocol, ports });
    }
    if ((protocol === 'icmp' || protocol === 'icmpv6') && field === 'type') {
      const types = stringList(right);
      if (!types) return false;
      const names = protocol === 'icmp' ? types : types.map((t) => NFT_ICMPV6_NAMES[t] ?? t);
      return setFamily(parts, protocol === 'icmp' ? 'ipv4' : 'ipv6') && setOnce({ kind: 'icmp', types: [...names].sort() });
    }
  }
  return false;
}

function setFamily(parts: RuleParts, family: Family): boolean {
  if (parts.family !== undefined && parts.family !== family) return false;
  parts.family = family;
  return true;
}

/** One nft rule → normalized rules (one per family it matches), or an `other` rule. */
export function normalizeNftRule(chain: string, expr: readonly Json[], origin: string): NormalizedRule[] {
  const parts: RuleParts = {};
  let known = true;
  for (const statement of expr) {
    if (!isObject(statement)) {
      known = false;
      break;
    }
    if ('match' in statement && isObject(statement['match'])) known = readMatch(parts, statement['match']);
    else if ('accept' in statement && parts.verdict === undefined) parts.verdict = 'accept';
    else if ('drop' in statement && parts.verdict === undefined) parts.verdict = 'drop';
    else if ('counter' in statement) continue;
    else known = false;
    if (!known) break;
  }
  const verdict = parts.verdict;
  if (parts.sourcePrefix !== undefined || parts.sourcePort !== undefined) {
    const linkLocal = linkLocalMatch(parts);
    if (!known || !linkLocal || !verdict) {
      return [{ chain, family: null, source: null, match: { kind: 'other', text: describeExpressions(expr) }, verdict: verdict ?? 'accept', origin }];
    }
    return [{ chain, family: 'ipv6', source: LINK_LOCAL_V6, match: linkLocal, verdict, origin }];
  }
  // A lone address (`ip daddr 192.0.2.10 accept`) is the one-element form of the same rule.
  if (parts.destination !== undefined && parts.match === undefined && parts.l4proto === undefined) parts.destinations = [parts.destination];
  if (parts.destinations !== undefined) {
    const { destinations, family } = parts;
    if (!known || parts.match || parts.source !== undefined || parts.l4proto !== undefined || verdict !== 'accept' || family === undefined) {
      return [{ chain, family: null, source: null, match: { kind: 'other', text: describeExpressions(expr) }, verdict: verdict ?? 'accept', origin }];
    }
    return destinations.map((destination) => ({ chain, family, source: null, destination, match: { kind: 'all' }, verdict, origin }));
  }
  // Only a verdict (and perhaps a counter): the catch-all at the end of a chain.
  const ipProtocol = parts.match === undefined && parts.l4proto !== undefined ? hostIpProtocolNumber(parts.l4proto) : undefined;
  const match: RuleMatch | undefined =
    parts.match ??
    (ipProtocol !== undefined
      ? { kind: 'ip-protocol', protocol: ipProtocol }
      : known && parts.source === undefined && parts.family === undefined && parts.l4proto === undefined
        ? { kind: 'all' }
        : undefined);
  const dependencyOk = parts.l4proto === undefined || match?.kind === 'ip-protocol' || (match?.kind === 'icmp' && parts.l4proto === (parts.family === 'ipv4' ? 'icmp' : 'ipv6-icmp')) || (match?.kind === 'ports' && parts.l4proto === match.protocol);
  const sourceOk = (parts.source === undefined || match?.kind === 'ports' || match?.kind === 'ip-protocol') && (parts.destination === undefined || match?.kind === 'ports' || (match?.kind === 'all' && parts.source === undefined && verdict === 'accept'));
  if (!known || !match || !verdict || !dependencyOk || !sourceOk) {
    return [{ chain, family: null, source: null, match: { kind: 'other', text: describeExpressions(expr) }, verdict: verdict ?? 'accept', origin }];
  }
  const families = parts.family ? [parts.family] : FAMILIES;
  return families.map((family) => ({ chain, family, source: parts.source ?? null, ...(parts.destination === undefined ? {} : { destination: parts.destination }), match, verdict, origin }));
}

function lastVerdict(expr: Json): string | undefined {
  if (!Array.isArray(expr) || expr.length === 0) return undefined;
  const last = expr[expr.length - 1];
  return isObject(last) ? Object.keys(last)[0] : undefined;
}

export interface ParsedNftRuleset {
  readonly ruleset: NormalizedRuleset;
  readonly warnings: HostWarning[];
}

/** Dumps larger than this are searched for the items kubewall reads instead of walked item by item. */
export const SPARSE_DUMP_BYTES = 1 << 20;

/**
 * Parses `nft -j list ruleset` output: the table `inet kubewall` becomes
 * normalized rules; other tables are only looked at for what would defeat
 * them (a drop on the input or prerouting hook, firewalld's or ufw's chains).
 * Pure; throws HOST_READ naming `origin` when the text is not such output.
 */
export function parseNftRuleset(text: string, origin: string): ParsedNftRuleset {
  try {
    const sparse = text.length > SPARSE_DUMP_BYTES ? findMarkedItemsSparse(text) : undefined;
    return parseNftItems(text, sparse ?? fullScanSelection(text));
  } catch (error) {
    if (error instanceof NftJsonError || error instanceof SyntaxError) {
      throw new KubewallError('HOST_READ', `${origin}: cannot parse the nftables ruleset: ${error.message}`, { cause: error });
    }
    throw error;
  }
}

/** Every item, each marked by the words it holds: what the full scan hands `parseNftItems`. */
export function fullScanSelection(text: string): { items: Item[]; marks: ArrayLike<number> } {
  const items = findNftItems(text);
  return { items, marks: markItems(text, items) };
}

/**
 * Reads the selected items: kubewall's table in full, the rest only for
 * warnings. Marks decide which items are worth parsing at all; each is
 * checked again once parsed, so a selection may hold more than it needs.
 */
export function parseNftItems(text: string, selection: { readonly items: readonly Item[]; readonly marks: ArrayLike<number> }): ParsedNftRuleset {
  const ours = (body: JsonObject) => body['family'] === NFT_TABLE.family && (body['table'] ?? body['name']) === NFT_TABLE.name;
  let present = false;
  const chains: NormalizedChain[] = [];
  const rules: NormalizedRule[] = [];
  const sets: NormalizedSet[] = [];
  const warnings: HostWarning[] = [];
  const baseChains = new Map<string, { family: string; table: string; name: string; hook: string; policy: string }>();
  const dropRules = new Map<string, number>();
  const tables = new Set<string>();
  let ufwChains = 0;
  const { items, marks } = selection;
  for (let index = 0; index < items.length; index++) {
    const item = items[index]!;
    const mark = marks[index]!;
    const mentionsUs = (mark & MARK.ours) !== 0;
    if (item.kind === 'table') {
      const body = parseItem(text, item);
      tables.add(`${String(body['family'])} ${String(body['name'])}`);
      if (ours(body)) present = true;
      continue;
    }
    if (item.kind === 'chain') {
      if (!mentionsUs && (mark & (MARK.hook | MARK.ufw)) === 0) continue;
      const body = parseItem(text, item);
      const name = String(body['name']);
      if (/^ufw6?-/.test(name)) ufwChains++;
      if (ours(body)) {
        chains.push({
          name,
          policy: body['policy'] === 'drop' ? 'drop' : 'accept',
          details: body['hook'] === undefined ? {} : { type: String(body['type']), hook: String(body['hook']), priority: String(body['prio']) },
        });
      } else if (typeof body['hook'] === 'string' && SHADOWING_HOOKS.has(body['hook']) && body['type'] === 'filter') {
        const key = `${String(body['family'])} ${String(body['table'])} ${name}`;
        baseChains.set(key, { family: String(body['family']), table: String(body['table']), name, hook: body['hook'], policy: String(body['policy'] ?? 'accept') });
      }
      continue;
    }
    if (item.kind === 'set' || item.kind === 'map') {
      if (!mentionsUs) continue;
      const body = parseItem(text, item);
      if (!ours(body)) continue;
      const type = body['type'];
      const family: Family | undefined = type === 'ipv4_addr' ? 'ipv4' : type === 'ipv6_addr' ? 'ipv6' : undefined;
      if (item.kind === 'map' || !family) {
        warnings.push({ code: 'foreign-object', message: `${item.kind} ${String(body['name'])} (type ${JSON.stringify(type)}) in table ${NFT_TABLE.family} ${NFT_TABLE.name} is not kubewall's: applying keeps it (kubewall's file empties and refills only its own sets and chains) and fails if it bears the name of one of them; remove it with nft delete ${item.kind} ${NFT_TABLE.family} ${NFT_TABLE.name} ${String(body['name'])}` });
        continue;
      }
      const raw = Array.isArray(body['elem']) ? body['elem'] : [];
      const elements = raw.map((e) => {
        const element = elementText(e);
        if (element === undefined) throw new NftJsonError(`set ${String(body['name'])}: unexpected element ${JSON.stringify(e)}`);
        return element;
      });
      sets.push({ name: String(body['name']), family, elements });
      continue;
    }
    if (item.kind === 'rule') {
      if (!mentionsUs && (mark & MARK.drop) === 0) continue;
      const body = parseItem(text, item);
      if (ours(body)) {
        if (!Array.isArray(body['expr'])) throw new NftJsonError(`rule at offset ${item.start} has no expr list`);
        rules.push(...normalizeNftRule(String(body['chain']), body['expr'], `handle ${String(body['handle'])}`));
      } else {
        const verdict = lastVerdict(body['expr']);
        if (verdict === 'drop' || verdict === 'reject') {
          const key = `${String(body['family'])} ${String(body['table'])} ${String(body['chain'])}`;
          dropRules.set(key, (dropRules.get(key) ?? 0) + 1);
        }
      }
    }
  }
  for (const [key, chain] of baseChains) {
    if (FIREWALLD_TABLE.test(`${chain.family} ${chain.table}`)) continue;
    const drops = dropRules.get(key) ?? 0;
    const reasons = [chain.policy === 'drop' ? 'policy drop' : '', drops > 0 ? `${drops} drop/reject rule${drops === 1 ? '' : 's'}` : ''].filter(Boolean);
    if (reasons.length === 0) continue;
    warnings.push({
      code: 'shadowing-drop',
      message: `table ${chain.family} ${chain.table} chain ${chain.name} (hook ${chain.hook}) has ${reasons.join(' and ')}: an nftables drop in any table wins, so it can drop what kubewall accepts (chains it jumps to were not followed)`,
    });
  }
  const firewalld = [...tables].filter((t) => FIREWALLD_TABLE.test(t));
  if (firewalld.length > 0) {
    warnings.push({ code: 'firewalld-active', message: `firewalld's table ${firewalld.join(', ')} is present: firewalld filters the same traffic and a reload may change it; run one firewall manager` });
  }
  if (ufwChains > 0) {
    warnings.push({ code: 'ufw-active', message: `ufw's chains are present (${ufwChains} ufw-* chains via iptables-nft): ufw's default deny applies beside kubewall's table; run one firewall manager` });
  }
  const ruleset: NormalizedRuleset = { scope: `table ${NFT_TABLE.family} ${NFT_TABLE.name}`, present, chains, rules, sets };
  return { ruleset, warnings };
}
