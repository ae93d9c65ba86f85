import { joinedLines } from '../../render/joined-lines.js';
import {
  FIREWALLD_IPSET_PREFIX,
  type FirewalldConfig,
  type FirewalldIpset,
  type FirewalldRichRule,
  type FirewalldZone,
  type FirewalldZoneItem,
} from './config.js';
import { assertFirewalldName, escapeXml, quoteSh, shCommentText, xmlCommentText } from './escape.js';

/**
 * View models for the firewalld templates: the script and the XML files are
 * laid out from the same `FirewalldConfig`, each escaped for its grammar here.
 */

/** Ends the here-document that feeds ipset entries to firewall-cmd; no address can equal it. */
export const ENTRIES_HEREDOC = 'KUBEWALL_ENTRIES';

/** A canonical address or CIDR: the only thing allowed inside the unquoted here-document. */
function assertEntry(entry: string): string {
  if (!/^[0-9a-fA-F.:]+(\/\d{1,3})?$/.test(entry)) throw new Error(`not an address or CIDR: ${JSON.stringify(entry)}`);
  return entry;
}

function assertEntries(entries: readonly string[]): readonly string[] {
  for (const entry of entries) assertEntry(entry);
  return entries;
}

/** The rich-rule language as firewall-cmd takes it (`--add-rich-rule`). */
export function formatRichRule(rule: FirewalldRichRule): string {
  const parts = ['rule'];
  if (rule.family) parts.push(`family="${rule.family}"`);
  if (rule.sourceIpset) parts.push(`source ipset="${assertFirewalldName(rule.sourceIpset, 'ipset')}"`);
  if (rule.sourceAddress) parts.push(`source address="${assertEntry(rule.sourceAddress)}"`);
  if (rule.destinationAddress) parts.push(`destination address="${assertEntry(rule.destinationAddress)}"`);
  if (rule.port) parts.push(`port port="${rule.port.port}" protocol="${rule.port.protocol}"`);
  if (rule.icmpType) parts.push(`icmp-type name="${rule.icmpType}"`);
  if (rule.protocol !== undefined) parts.push(`protocol value="${rule.protocol}"`);
  parts.push(rule.action);
  return parts.join(' ');
}

/** The same rule as an element of a zone file. */
export function formatRichRuleXml(rule: FirewalldRichRule): string {
  const family = rule.family ? ` family="${escapeXml(rule.family)}"` : '';
  const children = [
    rule.sourceIpset ? `<source ipset="${escapeXml(rule.sourceIpset)}"/>` : '',
    rule.sourceAddress ? `<source address="${assertEntry(rule.sourceAddress)}"/>` : '',
    rule.destinationAddress ? `<destination address="${assertEntry(rule.destinationAddress)}"/>` : '',
    rule.port ? `<port port="${escapeXml(rule.port.port)}" protocol="${escapeXml(rule.port.protocol)}"/>` : '',
    rule.icmpType ? `<icmp-type name="${escapeXml(rule.icmpType)}"/>` : '',
    rule.protocol !== undefined ? `<protocol value="${rule.protocol}"/>` : '',
    `<${rule.action}/>`,
  ];
  return `<rule${family}>${children.join('')}</rule>`;
}

function itemArgs(item: FirewalldZoneItem): string {
  return item.kind === 'port'
    ? `--add-port=${quoteSh(`${item.port.port}/${item.port.protocol}`)}`
    : `--add-rich-rule=${quoteSh(formatRichRule(item.rule))}`;
}

function itemXml(item: FirewalldZoneItem): string {
  return item.kind === 'port'
    ? `<port port="${escapeXml(item.port.port)}" protocol="${escapeXml(item.port.protocol)}"/>`
    : formatRichRuleXml(item.rule);
}

export interface ScriptCommandView {
  /** One `# ...` line above the command, or null. */
  readonly comment: string | null;
  /** Everything after `firewall-cmd --permanent `, quoted for sh. */
  readonly args: string;
}

export interface ScriptIpsetView {
  readonly comment: string;
  /** `--new-ipset=...`, quoted for sh. */
  readonly createArgs: string;
  /** The command that reads `entriesText` from a here-document, or null for an empty set. */
  readonly entriesArgs: string | null;
  /** One entry a line, every line ending in a newline. */
  readonly entriesText: string;
  /** The same lines as a list (computed when read: templates written before entriesText use it). */
  readonly entryLines: readonly string[];
  readonly heredoc: string;
}

/**
 * Every item of one kind goes to firewall-cmd in one call (each call costs a
 * Python start and a D-Bus round trip), collected with `set -- "$@" ...` so
 * each keeps its own comment line.
 */
export interface ScriptItemGroupView {
  readonly title: string;
  readonly items: readonly { readonly comment: string; readonly arg: string }[];
  /** How many distinct items the zone must hold after the call, and how the script counts them. */
  readonly count: number;
  readonly noun: string;
  readonly listOption: string;
  readonly countCommand: string;
}

export interface FirewalldScriptView {
  readonly header: { readonly lines: readonly string[] };
  /** Checked names, safe unquoted in sh. */
  readonly zone: string;
  readonly ipsetPattern: string;
  /** The ipset names' prefix (`kubewall-`), safe in a grep -E pattern. */
  readonly ipsetPrefix: string;
  readonly ipsets: readonly ScriptIpsetView[];
  readonly zoneCommands: readonly ScriptCommandView[];
  readonly itemGroups: readonly ScriptItemGroupView[];
}

function ipsetScriptView(ipset: FirewalldIpset): ScriptIpsetView {
  const name = assertFirewalldName(ipset.name, 'ipset');
  return {
    comment: shCommentText(`ipset ${name}: ${ipset.description}`),
    createArgs: `--new-ipset=${name} --type=${quoteSh(ipset.type)} --option=${quoteSh(`family=${ipset.family}`)}`,
    entriesArgs: ipset.entries.length > 0 ? `--ipset=${name} --add-entries-from-file=/dev/stdin` : null,
    entriesText: joinedLines(assertEntries(ipset.entries)),
    get entryLines() {
      return [...ipset.entries];
    },
    heredoc: ENTRIES_HEREDOC,
  };
}

function zoneCommands(zone: FirewalldZone): ScriptCommandView[] {
  const name = assertFirewalldName(zone.name, 'zone');
  const on = (args: string, comment: string | null = null): ScriptCommandView => ({ comment, args: `--zone=${name} ${args}` });
  return [
    { comment: null, args: `--new-zone=${name}` },
    on(`--set-short=${quoteSh(zone.short)}`),
    on(`--set-description=${quoteSh(zone.description)}`),
    on(`--set-target=${quoteSh(zone.target)}`, 'new inbound connections no rule accepts are dropped'),
    on('--add-forward', 'intra-zone forwarding: forwarded (pod) traffic is left to the CNI and kube-proxy'),
    on(
      zone.sources.map((source) => `--add-source=${quoteSh(source)}`).join(' '),
      "every IPv4 and IPv6 source: classified here, ahead of the interface's zone",
    ),
  ];
}

// --list-ports prints one line of space-separated ports; --list-rich-rules
// one rule per line, and an empty line when there are none.
const ITEM_LISTS = {
  port: { noun: 'ports', listOption: '--list-ports', countCommand: 'wc -w' },
  rule: { noun: 'rich rules', listOption: '--list-rich-rules', countCommand: "grep -c . || true" },
} as const;

function itemGroups(zone: FirewalldZone): ScriptItemGroupView[] {
  const group = (kind: FirewalldZoneItem['kind'], title: string): ScriptItemGroupView => {
    const items = zone.items.filter((item) => item.kind === kind).map((item) => ({ comment: shCommentText(item.comment), arg: itemArgs(item) }));
    return { title, items, count: new Set(items.map((item) => item.arg)).size, ...ITEM_LISTS[kind] };
  };
  return [group('port', 'ports open to every source'), group('rule', 'rich rules: ICMP, then each port and IP protocol from its peer class')].filter(
    (g) => g.items.length > 0,
  );
}

/** The `firewall-cmd --permanent` script: replaces kubewall's zone and ipsets, then reloads. */
export function buildFirewalldScriptView(config: FirewalldConfig, headerLines: readonly string[]): FirewalldScriptView {
  const ipsetPrefix = `${assertFirewalldName(FIREWALLD_IPSET_PREFIX.slice(0, -1), 'ipset')}-`;
  return {
    header: { lines: headerLines.map(shCommentText) },
    zone: assertFirewalldName(config.zone.name, 'zone'),
    ipsetPattern: `${ipsetPrefix}*`,
    ipsetPrefix,
    ipsets: config.ipsets.map(ipsetScriptView),
    zoneCommands: zoneCommands(config.zone),
    itemGroups: itemGroups(config.zone),
  };
}

export interface XmlItemView {
  readonly comment: string;
  readonly xml: string;
}

export interface FirewalldZoneXmlView {
  readonly header: { readonly lines: readonly string[] };
  readonly target: string;
  readonly short: string;
  readonly description: string;
  readonly sources: readonly string[];
  readonly items: readonly XmlItemView[];
  readonly forward: boolean;
}

export interface FirewalldIpsetXmlView {
  readonly header: { readonly lines: readonly string[] };
  /** An XML comment above the element: the script has no short or description for ipsets either. */
  readonly comment: string;
  readonly type: string;
  readonly family: string;
  /** `  <entry>ADDRESS</entry>` a line, every line ending in a newline. */
  readonly entriesXml: string;
  /** The entries, escaped (computed when read: templates written before entriesXml use it). */
  readonly entries: readonly string[];
}

function xmlHeader(lines: readonly string[]): { lines: string[] } {
  return { lines: lines.map(xmlCommentText) };
}

/** `zones/kubewall.xml`, as firewalld reads it from /etc/firewalld/zones/. */
export function buildFirewalldZoneXmlView(zone: FirewalldZone, headerLines: readonly string[]): FirewalldZoneXmlView {
  return {
    header: xmlHeader(headerLines),
    target: escapeXml(zone.target),
    short: escapeXml(zone.short),
    description: escapeXml(zone.description),
    sources: zone.sources.map(escapeXml),
    items: zone.items.map((item) => ({ comment: xmlCommentText(item.comment), xml: itemXml(item) })),
    forward: zone.forward,
  };
}

/** `ipsets/kubewall-<set>.xml`, as firewalld reads it from /etc/firewalld/ipsets/. */
export function buildFirewalldIpsetXmlView(ipset: FirewalldIpset, headerLines: readonly string[]): FirewalldIpsetXmlView {
  return {
    header: xmlHeader(headerLines),
    comment: xmlCommentText(ipset.description),
    type: escapeXml(ipset.type),
    family: escapeXml(ipset.family),
    // assertEntries lets through digits, a-f, '.', ':' and '/' alone: nothing XML escapes.
    entriesXml: joinedLines(assertEntries(ipset.entries), '  <entry>', '</entry>'),
    get entries() {
      return ipset.entries.map((entry) => escapeXml(entry));
    },
  };
}
