import { KubewallError } from '../../errors.js';

/**
 * firewalld's configuration as the host reader sees it, before it is
 * normalized: the same shape whether it came from `firewall-cmd` output
 * (runtime or `--permanent`) or from the XML files under /etc/firewalld.
 */

/** One element of a rich rule (`source`, `port`, `icmp-type`, `log`, `accept`, ...) with its attributes. */
export interface RichRuleElement {
  readonly name: string;
  readonly attributes: Readonly<Record<string, string>>;
  /** `source NOT ipset="..."` (text) or `<source invert="True" .../>` (XML). */
  readonly inverted: boolean;
}

export interface RichRule {
  /** Attributes of `rule` itself: family, priority. */
  readonly attributes: Readonly<Record<string, string>>;
  /** In the order written; a nested `limit` follows the element it limits. Empty when the text did not tokenize. */
  readonly elements: readonly RichRuleElement[];
  /** As `firewall-cmd` prints it, for messages. */
  readonly text: string;
}

export interface FirewalldPortState {
  /** `22` or `30000-32767`. */
  readonly port: string;
  readonly protocol: string;
}

export interface FirewalldZoneState {
  readonly name: string;
  /** `DROP`, `ACCEPT`, `%%REJECT%%` or `default`. */
  readonly target: string;
  /** firewalld 2.0 and later; undefined before. */
  readonly ingressPriority?: number;
  /** Addresses, CIDRs, MACs, or `ipset:NAME`. */
  readonly sources: readonly string[];
  readonly interfaces: readonly string[];
  readonly services: readonly string[];
  readonly ports: readonly FirewalldPortState[];
  readonly protocols: readonly string[];
  readonly sourcePorts: readonly FirewalldPortState[];
  /** As firewall-cmd prints them: `port=80:proto=tcp:toport=8080:toaddr=`. */
  readonly forwardPorts: readonly string[];
  readonly icmpBlocks: readonly string[];
  readonly icmpBlockInversion: boolean;
  readonly masquerade: boolean;
  readonly forward: boolean;
  readonly richRules: readonly RichRule[];
}

export interface FirewalldIpsetState {
  readonly name: string;
  readonly type: string;
  /** `family=inet6`, `maxelem=65536`, ... as name → value. */
  readonly options: Readonly<Record<string, string>>;
  readonly entries: readonly string[];
}

/** One configuration (runtime, or permanent), as read. */
export interface FirewalldState {
  readonly zones: ReadonlyMap<string, FirewalldZoneState>;
  readonly ipsets: ReadonlyMap<string, FirewalldIpsetState>;
}

export class FirewalldParseError extends Error {}

/** Throws the one HOST_READ error for a dump that does not parse, naming where. */
export function unparsable(origin: string, error: unknown): never {
  const detail = error instanceof Error ? error.message : String(error);
  throw new KubewallError('HOST_READ', `${origin}: cannot parse firewalld's configuration: ${detail}`, { cause: error });
}

/** `key="value"` or a bare word; firewall-cmd writes values in double quotes without escaping. */
const RICH_TOKEN = /\s*(?:([a-z][a-z0-9-]*)="([^"]*)"|([A-Za-z][A-Za-z0-9-]*))(?=\s|$)/y;

/**
 * Splits a rich rule as firewall-cmd prints it into its elements. Never
 * throws: text it cannot split (a log prefix holding a quote, which
 * firewall-cmd prints unescaped) gives no elements, and the rule is then
 * reported as it is.
 */
export function tokenizeRichRule(text: string): RichRule {
  const trimmed = text.trim();
  const attributes: Record<string, string> = {};
  const elements: { name: string; attributes: Record<string, string>; inverted: boolean }[] = [];
  RICH_TOKEN.lastIndex = 0;
  const first = RICH_TOKEN.exec(trimmed);
  if (!first || first[3] !== 'rule') return { attributes, elements: [], text: trimmed };
  let inverted = false;
  while (RICH_TOKEN.lastIndex < trimmed.length) {
    const token = RICH_TOKEN.exec(trimmed);
    if (!token) return { attributes: {}, elements: [], text: trimmed };
    const [, key, value, word] = token;
    if (word !== undefined) {
      if (word === 'NOT' || word === 'not') {
        inverted = true;
        continue;
      }
      // `source NOT ipset=...`: a NOT is followed by the attributes of the element it inverts.
      if (inverted) return { attributes: {}, elements: [], text: trimmed };
      elements.push({ name: word, attributes: {}, inverted: false });
      inverted = false;
      continue;
    }
    const current = elements[elements.length - 1];
    if (inverted && current) {
      current.inverted = true;
      inverted = false;
    }
    if (current) current.attributes[key!] = value!;
    else attributes[key!] = value!;
  }
  if (inverted) return { attributes: {}, elements: [], text: trimmed };
  return { attributes, elements, text: trimmed };
}

/** The firewall-cmd text of a rich rule read from XML, so both sources print alike. */
export function formatRichRuleText(attributes: Readonly<Record<string, string>>, elements: readonly RichRuleElement[]): string {
  const attrs = (record: Readonly<Record<string, string>>) => Object.entries(record).map(([k, v]) => ` ${k}="${v}"`).join('');
  return `rule${attrs(attributes)}${elements.map((e) => ` ${e.name}${e.inverted ? ' NOT' : ''}${attrs(e.attributes)}`).join('')}`;
}

function words(value: string | undefined): string[] {
  return (value ?? '').split(/\s+/).filter((w) => w !== '');
}

function portList(value: string | undefined, origin: string): FirewalldPortState[] {
  return words(value).map((item) => {
    const match = /^(\d+(?:-\d+)?)\/([a-z]+)$/.exec(item);
    if (!match) throw new FirewalldParseError(`${origin}: not a port/protocol: ${JSON.stringify(item)}`);
    return { port: match[1]!, protocol: match[2]! };
  });
}

interface InfoBlock {
  readonly name: string;
  readonly line: number;
  readonly values: Map<string, string>;
  readonly lists: Map<string, string[]>;
}

/**
 * Splits `firewall-cmd --list-all-zones`, `--info-zone=...` or
 * `--info-ipset=...` output into blocks: a name line, then `  key: value`
 * lines; `forward-ports` and `rich rules` continue on tab-indented lines.
 */
function splitInfoBlocks(text: string): InfoBlock[] {
  const blocks: InfoBlock[] = [];
  let block: InfoBlock | undefined;
  let listKey: string | undefined;
  const lines = text.split('\n');
  for (let index = 0; index < lines.length; index++) {
    const line = lines[index]!.replace(/\r$/, '');
    if (line.trim() === '') continue;
    const head = /^([\w.:+-]+)(?: \(([^)]*)\))?\s*$/.exec(line);
    if (head) {
      block = { name: head[1]!, line: index + 1, values: new Map(), lists: new Map() };
      blocks.push(block);
      listKey = undefined;
      continue;
    }
    const field = /^ {2}([a-z][a-z -]*):(?: (.*))?$/.exec(line);
    if (field && block) {
      listKey = field[1]!;
      block.values.set(listKey, (field[2] ?? '').trim());
      block.lists.set(listKey, []);
      continue;
    }
    const item = /^\t(.*)$/.exec(line);
    if (item && block && listKey) {
      block.lists.get(listKey)!.push(item[1]!.trim());
      continue;
    }
    throw new FirewalldParseError(`line ${index + 1}: expected a zone or ipset name, "  key: value" or a tab-indented item, got ${JSON.stringify(line.slice(0, 80))}`);
  }
  return blocks;
}

function zoneFromBlock(block: InfoBlock): FirewalldZoneState {
  const value = (key: string) => block.values.get(key);
  const yes = (key: string) => value(key) === 'yes';
  const where = `zone ${block.name}`;
  const priority = value('ingress-priority');
  return {
    name: block.name,
    target: value('target') ?? 'default',
    ...(priority !== undefined && /^-?\d+$/.test(priority) ? { ingressPriority: Number(priority) } : {}),
    sources: words(value('sources')),
    interfaces: words(value('interfaces')),
    services: words(value('services')),
    ports: portList(value('ports'), `${where} ports`),
    protocols: words(value('protocols')),
    sourcePorts: portList(value('source-ports'), `${where} source-ports`),
    forwardPorts: [...words(value('forward-ports')), ...(block.lists.get('forward-ports') ?? [])],
    icmpBlocks: words(value('icmp-blocks')),
    icmpBlockInversion: yes('icmp-block-inversion'),
    masquerade: yes('masquerade'),
    forward: yes('forward'),
    richRules: [...(value('rich rules') ? [value('rich rules')!] : []), ...(block.lists.get('rich rules') ?? [])].map(tokenizeRichRule),
  };
}

function ipsetFromBlock(block: InfoBlock): FirewalldIpsetState {
  const options: Record<string, string> = {};
  for (const option of words(block.values.get('options'))) {
    const [name, ...rest] = option.split('=');
    options[name!] = rest.join('=');
  }
  return { name: block.name, type: block.values.get('type') ?? '', options, entries: words(block.values.get('entries')) };
}

/** Zones, ipsets (and policies, skipped) from firewall-cmd's info output. Throws FirewalldParseError. */
export function parseFirewallCmdInfo(text: string): { zones: FirewalldZoneState[]; ipsets: FirewalldIpsetState[] } {
  const zones: FirewalldZoneState[] = [];
  const ipsets: FirewalldIpsetState[] = [];
  for (const block of splitInfoBlocks(text)) {
    if (block.values.has('type') && block.values.has('entries')) ipsets.push(ipsetFromBlock(block));
    else if (block.values.has('ingress-zones') || block.values.has('egress-zones')) continue;
    else if (block.values.has('target')) zones.push(zoneFromBlock(block));
    else throw new FirewalldParseError(`line ${block.line}: ${block.name} is neither a zone (no target:) nor an ipset (no type: and entries:)`);
  }
  return { zones, ipsets };
}

/** One section of a saved dump: `==> NAME <==` (as `tail -v` writes it) and what follows. */
export interface SavedSection {
  readonly name: string;
  readonly text: string;
}

const SECTION_HEAD = /^==> (.+) <==[ \t]*$/gm;

/** Splits a saved dump at its `==> NAME <==` lines; text before the first one is returned as a section named ''. */
export function splitSections(text: string): SavedSection[] {
  const sections: SavedSection[] = [];
  let name = '';
  let start = 0;
  SECTION_HEAD.lastIndex = 0;
  for (let match = SECTION_HEAD.exec(text); match; match = SECTION_HEAD.exec(text)) {
    if (start > 0 || text.slice(0, match.index).trim() !== '') sections.push({ name, text: text.slice(start, match.index) });
    name = match[1]!.trim();
    start = match.index + match[0].length + 1;
  }
  if (start > 0 || text.trim() !== '') sections.push({ name, text: text.slice(start) });
  return sections;
}
