import { joinedLines, splitJoinedLines } from '../../render/joined-lines.js';
import { KubewallError } from '../../errors.js';
import type { BackendOptions, Family, PortRange, Protocol } from '../../model.js';
import { formatPortRange } from '../../ports.js';
import { MLD_TYPES, networkIpProtocolRules, networkRules, setName, type IpProtocolRule, type LinkLocalRule, type Plan, type PlanRule, type PeerSet } from '../../plan/types.js';
import { assertIpsetName, assertIptablesAddress, assertIptablesChain, quoteIptablesComment } from './escape.js';

/** The two iptables implementations; a host uses one, and rules in the other silently do not apply. */
export const IPTABLES_VARIANTS = ['nft', 'legacy'] as const;
export type IptablesVariant = (typeof IPTABLES_VARIANTS)[number];

/** kubewall's own chains: declared (so flushed) by every apply, jumped to once. */
export const IPTABLES_CHAINS = {
  /** filter table, jumped from INPUT. */
  input: 'KUBEWALL-INPUT',
  /** mangle table, jumped from PREROUTING (priority -150): sees NodePorts before kube-proxy's DNAT (nat, -100). */
  beforeDnat: 'KUBEWALL-BEFORE-DNAT',
} as const;

/** Every ipset kubewall owns starts with this; upper case, so firewalld's `kubewall-*` sets never match. */
export const IPSET_PREFIX = 'KUBEWALL-';
/** The set each apply fills before swapping it in. */
export const IPSET_NEW_SUFFIX = '-NEW';
/** ipset's default, written out: `create -exist` compares it, so it must never change between renders. */
export const IPSET_MAXELEM = 65536;
/** Audit mode (`render --audit`): the ipsets that record what the enforcing render would drop (source, protocol:port). */
export const IPSET_AUDIT = { ipv4: 'KUBEWALL-AUDIT-V4', ipv6: 'KUBEWALL-AUDIT-V6' } as const;
/** A record lives this long after its first packet (see auditLines). */
export const IPSET_AUDIT_TIMEOUT = 3600;
/**
 * The kernel never resizes a hash from the packet path (`-j SET --add-set`),
 * so an audit set holds at most hashsize x 12 (the bucket size) records: with
 * the default 1024 it stopped at 12,288 (measured). 16384 x 12 leaves room
 * for maxelem with buckets a third full; the empty table costs 128 KB. `create
 * -exist` does not compare hashsize, so a set made by an older render stays.
 */
export const IPSET_AUDIT_HASHSIZE = 16384;
/** A multiport match holds at most 15 ports, a range counting as two. */
const MULTIPORT_SLOTS = 15;

/** The commands of one variant, always named explicitly: never the host's `iptables` alternative. */
export interface VariantCommands {
  /** `iptables-nft` */
  readonly name: string;
  readonly flag: IptablesVariant;
  readonly iptables: Readonly<Record<Family, string>>;
  readonly restore: Readonly<Record<Family, string>>;
  readonly save: Readonly<Record<Family, string>>;
}

export function variantCommands(variant: IptablesVariant): VariantCommands {
  // iptables-nft-restore, not iptables-restore-nft: the variant follows the family's tool name.
  const name = (tool: 'iptables' | 'ip6tables', suffix = '') => `${tool}-${variant}${suffix}`;
  return {
    name: name('iptables'),
    flag: variant,
    iptables: { ipv4: name('iptables'), ipv6: name('ip6tables') },
    restore: { ipv4: name('iptables', '-restore'), ipv6: name('ip6tables', '-restore') },
    save: { ipv4: name('iptables', '-save'), ipv6: name('ip6tables', '-save') },
  };
}

export function otherVariant(variant: IptablesVariant): IptablesVariant {
  return variant === 'nft' ? 'legacy' : 'nft';
}

/**
 * Backend options: `iptablesVariant` (`nft` or `legacy`; without it `nft`,
 * so a library render is deterministic) and `iptablesVariantSource` (how the
 * CLI chose it, for the header).
 */
export function readIptablesVariant(options: BackendOptions): { variant: IptablesVariant; source: string } {
  const value = options['iptablesVariant'];
  if (value === undefined) return { variant: 'nft', source: 'the default when no variant is given' };
  if (!(IPTABLES_VARIANTS as readonly string[]).includes(value)) {
    throw new KubewallError('USAGE', `iptables variant ${JSON.stringify(value)} is unknown (expected ${IPTABLES_VARIANTS.join(', ')})`);
  }
  return { variant: value as IptablesVariant, source: options['iptablesVariantSource'] ?? `--iptables-variant ${value}` };
}

/** `admin-v4` → `KUBEWALL-ADMIN-V4`. */
export function ipsetName(set: Pick<PeerSet, 'name'>): string {
  return assertIpsetName(`${IPSET_PREFIX}${set.name.toUpperCase()}`);
}

/** hash:net cannot hold a /0: "everyone" is stored as its two halves. */
export function ipsetElements(set: Pick<PeerSet, 'family' | 'elements'>): readonly string[] {
  // Nearly every set holds neither: returned as it is, not copied an array per element.
  if (!set.elements.some((element) => element === '0.0.0.0/0' || element === '::/0')) return set.elements;
  return set.elements.flatMap((element) => {
    if (element === '0.0.0.0/0') return ['0.0.0.0/1', '128.0.0.0/1'];
    if (element === '::/0') return ['::/1', '8000::/1'];
    return [element];
  });
}

/**
 * `ipset restore` input: every set is built as `<set>-NEW`, swapped with the
 * live one in one step (rules see either the old or the new contents, never
 * an empty set) and the old contents destroyed. `-exist` makes the creates
 * safe to repeat.
 */
export function buildIpsetLines(plan: Plan, audit = false): string[] {
  return splitJoinedLines(buildIpsetText(plan, audit));
}

/** buildIpsetLines as one text, each line ending in a newline; a set's elements are joined at once (src/render/joined-lines.ts). */
export function buildIpsetText(plan: Plan, audit = false): string {
  const lines: string[] = [];
  if (audit) {
    // Created, never flushed or swapped: what was recorded survives a reload of the audit render.
    for (const family of ['ipv4', 'ipv6'] as const) {
      lines.push(
        `# audit: would-be drops, ${family === 'ipv4' ? 'IPv4' : 'IPv6'} (source,protocol:port; a record lasts ${IPSET_AUDIT_TIMEOUT} s after its first packet)`,
        `create ${assertIpsetName(IPSET_AUDIT[family])} hash:ip,port family ${family === 'ipv4' ? 'inet' : 'inet6'} hashsize ${IPSET_AUDIT_HASHSIZE} maxelem ${IPSET_MAXELEM} timeout ${IPSET_AUDIT_TIMEOUT} counters -exist`,
      );
    }
  }
  for (const set of plan.sets) {
    const name = ipsetName(set);
    const fresh = assertIpsetName(`${name}${IPSET_NEW_SUFFIX}`);
    const elements = ipsetElements(set);
    if (elements.length > IPSET_MAXELEM) {
      throw new KubewallError(
        'CAPABILITY',
        `the iptables backend cannot hold peer set ${set.name}: ${elements.length} addresses, more than an ipset's maxelem ${IPSET_MAXELEM}; merge addresses into CIDRs`,
      );
    }
    const create = `hash:net family ${set.family === 'ipv4' ? 'inet' : 'inet6'} hashsize 1024 maxelem ${IPSET_MAXELEM} -exist`;
    lines.push(
      `# peer class ${set.peer}, ${set.family === 'ipv4' ? 'IPv4' : 'IPv6'}${set.defaulted ? ' (defaulted: private address space)' : ''}: ${set.elements.length === 0 ? 'empty' : `${set.elements.length} ${set.elements.length === 1 ? 'entry' : 'entries'}`}`,
      `create ${fresh} ${create}`,
      `flush ${fresh}`,
    );
    // Every `add` line of the set as one string.
    if (elements.length > 0) lines.push(joinedLines(elements, `add ${fresh} `).slice(0, -1));
    lines.push(`create ${name} ${create}`, `swap ${fresh} ${name}`, `destroy ${fresh}`);
  }
  return joinedLines(lines);
}

/** `-p` and the port match per protocol; a protocol added to the model must be added here (tsc says so). */
const PROTOCOL_MATCH: Record<Protocol, string> = { tcp: 'tcp', udp: 'udp' };

/** The port matches of one rule: one for a single range, else multiport chunks of at most 15 slots. */
export function portMatches(protocol: Protocol, ports: readonly PortRange[]): string[] {
  if (ports.length === 1) return [`-m ${PROTOCOL_MATCH[protocol]} --dport ${formatPortRange(ports[0]!, ':')}`];
  const chunks: string[][] = [];
  let slots = MULTIPORT_SLOTS;
  for (const range of ports) {
    const cost = range.from === range.to ? 1 : 2;
    if (slots + cost > MULTIPORT_SLOTS) {
      chunks.push([]);
      slots = 0;
    }
    chunks[chunks.length - 1]!.push(formatPortRange(range, ':'));
    slots += cost;
  }
  return chunks.map((chunk) => `-m multiport --dports ${chunk.join(',')}`);
}

function sourceMatch(rule: PlanRule | IpProtocolRule, family: Family): string {
  if (rule.peer === 'any' || rule.peer === 'self') return '';
  const set = ipsetName({ name: setName(rule.peer, family) });
  return ` -m set --match-set ${set} src`;
}

/** `-d` as iptables-save prints it back (with the prefix length), so a diff reads the render unchanged. */
function destinationMatch(rule: PlanRule): string {
  if (!rule.destination) return '';
  return ` -d ${assertIptablesAddress(rule.destination.address)}/${rule.destination.family === 'ipv4' ? 32 : 128}`;
}

/** One line per port chunk: the rule for one family, ending in `target`; a rule with a destination only in its family. */
function ruleLines(chain: string, rule: PlanRule, family: Family, target: 'RETURN' | 'DROP' | 'AUDIT', comment: string, withSource = true): string[] {
  if (rule.destination && rule.destination.family !== family) return [];
  const source = withSource ? sourceMatch(rule, family) : '';
  return portMatches(rule.protocol, rule.ports).flatMap((ports) => {
    const match = `-A ${chain}${destinationMatch(rule)} -p ${PROTOCOL_MATCH[rule.protocol]}${source} ${ports}`;
    return target === 'AUDIT' ? auditLines(match, family, comment) : [`${match} -m comment --comment ${quoteIptablesComment(comment)} -j ${target}`];
  });
}

/**
 * What audit mode writes where the enforcing render drops (`match` is the
 * drop's `-A CHAIN …` without its target): a packet already recorded
 * RETURNs through a match on the family's audit set (which counts it);
 * another is added to the set (its counter starts at 1) and RETURNs. The
 * SET target's --exist would refresh the timeout but resets the counter, so
 * a record lasts IPSET_AUDIT_TIMEOUT from its first packet; a full set takes
 * no new record and the packet RETURNs all the same.
 */
export function auditLines(match: string, family: Family, comment: string): string[] {
  const set = assertIpsetName(IPSET_AUDIT[family]);
  const quoted = quoteIptablesComment(`audit: would be dropped (${comment}); recorded and let through`);
  return [
    `${match} -m set --match-set ${set} src,dst -m comment --comment ${quoted} -j RETURN`,
    `${match} -m comment --comment ${quoted} -j SET --add-set ${set} src,dst`,
    `${match} -m comment --comment ${quoted} -j RETURN`,
  ];
}

/** The baseline's IPv6 link-local rules, as iptables-save prints them back; ICMPv6 types one a line. */
function linkLocalLines(chain: string, rule: LinkLocalRule): string[] {
  const tail = `-m comment --comment ${quoteIptablesComment(rule.comment)} -j RETURN`;
  const source = `-s ${assertIptablesAddress(rule.source)}`;
  switch (rule.match.kind) {
    case 'icmpv6':
      return rule.match.types.map((type) => `-A ${chain} ${source} -p ipv6-icmp -m icmp6 --icmpv6-type ${MLD_TYPES[type]} ${tail}`);
    case 'udp':
      return [`-A ${chain} ${source} -p udp -m udp --sport ${rule.match.sourcePort} --dport ${rule.match.port} ${tail}`];
    case 'ip-protocol':
      return [`-A ${chain} ${source} -d ${assertIptablesAddress(rule.match.destination)}/128 -p ${rule.match.protocol} ${tail}`];
  }
}

/** `-p` by number: /etc/protocols names differ between hosts (4 is `ipencap` on Debian, `ipv4` on others). */
function ipProtocolLines(chain: string, rule: IpProtocolRule, family: Family): string[] {
  if (!rule.families.includes(family)) return [];
  return [`-A ${chain} -p ${rule.ipProtocol}${sourceMatch(rule, family)} -m comment --comment ${quoteIptablesComment(rule.comment)} -j RETURN`];
}

/** kube-proxy ipvs: Service and external IPs (local on kube-ipvs0, served at LOCAL_IN) accepted by destination. */
function serviceDestinationLines(chain: string, plan: Plan, family: Family): string[] {
  const comment = quoteIptablesComment('kube-proxy ipvs: Service and external IPs served by IPVS on kube-ipvs0');
  return plan.kubeProxy.serviceDestinations[family].map((address) => `-A ${chain} -d ${address} -m comment --comment ${comment} -j RETURN`);
}

const ICMP_MATCH: Record<Family, (type: string) => string> = {
  ipv4: (type) => `-p icmp -m icmp --icmp-type ${type}`,
  ipv6: (type) => `-p ipv6-icmp -m icmp6 --icmpv6-type ${type}`,
};

/**
 * KUBEWALL-INPUT: allowed traffic RETURNs to INPUT (so kube-proxy's, the
 * CNI's and the host's own rules after the jump still decide, as with an
 * nftables table of its own); the rest is dropped here. kubewall only ever
 * narrows what INPUT lets through, and never changes INPUT's policy.
 */
export function buildInputChain(plan: Plan, family: Family, audit = false): string[] {
  const chain = assertIptablesChain(IPTABLES_CHAINS.input);
  const icmpTypes: readonly string[] = family === 'ipv4' ? plan.baseline.icmp : plan.baseline.icmpv6;
  const icmpComment = quoteIptablesComment(`baseline: ${family === 'ipv4' ? 'ICMP that IPv4' : 'ICMPv6 that IPv6'} needs`);
  return [
    `-A ${chain} -i lo -m comment --comment ${quoteIptablesComment('baseline: the node itself (Used by: Self)')} -j RETURN`,
    `-A ${chain} -m conntrack --ctstate RELATED,ESTABLISHED -m comment --comment ${quoteIptablesComment('baseline: replies and related traffic')} -j RETURN`,
    `-A ${chain} -m conntrack --ctstate INVALID -m comment --comment ${quoteIptablesComment('baseline: invalid packets')} -j DROP`,
    ...icmpTypes.map((type) => `-A ${chain} ${ICMP_MATCH[family](type)} -m comment --comment ${icmpComment} -j RETURN`),
    ...serviceDestinationLines(chain, plan, family),
    ...(family === 'ipv6' ? plan.baseline.linkLocal.flatMap((rule) => linkLocalLines(chain, rule)) : []),
    ...networkRules(plan).flatMap((rule) => ruleLines(chain, rule, family, 'RETURN', rule.comment)),
    ...networkIpProtocolRules(plan).flatMap((rule) => ipProtocolLines(chain, rule, family)),
    ...(audit
      ? auditLines(`-A ${chain}`, family, 'kubewall: new inbound connections no rule allows are dropped')
      : [`-A ${chain} -m comment --comment ${quoteIptablesComment('kubewall: new inbound connections no rule allows are dropped')} -j DROP`]),
  ];
}

/**
 * KUBEWALL-BEFORE-DNAT (mangle PREROUTING, priority -150): kube-proxy DNATs
 * NodePort traffic in nat PREROUTING (-100) to a pod, so INPUT never sees
 * it; restricted NodePorts are dropped here by their original port, only for
 * traffic addressed to this node. Empty when no NodePort is restricted, so a
 * render that lifts a restriction also lifts the drop.
 */
export function buildBeforeDnatChain(plan: Plan, family: Family, audit = false): string[] {
  const chain = assertIptablesChain(IPTABLES_CHAINS.beforeDnat);
  const restricted = networkRules(plan).filter((rule) => rule.filterBeforeDnat && rule.peer !== 'any');
  const { closedNodePorts, nodePortRange } = plan.kubeProxy;
  if (restricted.length === 0 && closedNodePorts.length === 0) return [];
  const lines = [
    `-A ${chain} -i lo -m comment --comment ${quoteIptablesComment('baseline: the node itself')} -j RETURN`,
    `-A ${chain} -m conntrack --ctstate RELATED,ESTABLISHED -m comment --comment ${quoteIptablesComment('baseline: only new connections are filtered here')} -j RETURN`,
    `-A ${chain} -m addrtype ! --dst-type LOCAL -m comment --comment ${quoteIptablesComment('only traffic addressed to this node')} -j RETURN`,
    // ipvs makes Service IPs local: a Service port that happens to be a NodePort number is not a NodePort.
    ...serviceDestinationLines(chain, plan, family),
  ];
  const dropped = new Map<string, PlanRule>();
  for (const rule of restricted) {
    lines.push(...ruleLines(chain, rule, family, 'RETURN', rule.comment));
    dropped.set(`${rule.entry}/${rule.protocol}`, rule);
  }
  for (const rule of dropped.values()) {
    lines.push(...ruleLines(chain, rule, family, audit ? 'AUDIT' : 'DROP', `${rule.entry}: other sources, before kube-proxy DNAT`, false));
  }
  const closedText = `nodePortRange ${formatPortRange(nodePortRange)}: NodePorts no rule allows, before kube-proxy DNAT`;
  const closedComment = quoteIptablesComment(closedText);
  for (const closed of closedNodePorts) {
    lines.push(
      ...portMatches(closed.protocol, closed.ports).flatMap((ports) => {
        const match = `-A ${chain} -p ${PROTOCOL_MATCH[closed.protocol]} ${ports}`;
        return audit ? auditLines(match, family, closedText) : [`${match} -m comment --comment ${closedComment} -j DROP`];
      }),
    );
  }
  return lines;
}

/**
 * `iptables-restore --noflush` input for one family. Declaring a chain in a
 * --noflush restore flushes it, so each table's chains are replaced in one
 * commit; no built-in chain is declared, so their rules and policies stay.
 */
export function buildRestoreLines(plan: Plan, family: Family, audit = false): string[] {
  return [
    '*filter',
    `:${IPTABLES_CHAINS.input} - [0:0]`,
    ...buildInputChain(plan, family, audit),
    'COMMIT',
    '*mangle',
    `:${IPTABLES_CHAINS.beforeDnat} - [0:0]`,
    ...buildBeforeDnatChain(plan, family, audit),
    'COMMIT',
  ];
}

/** A jump from a built-in chain into kubewall's, added by the script when missing. */
export interface IptablesJump {
  readonly command: string;
  readonly table: 'filter' | 'mangle';
  readonly from: 'INPUT' | 'PREROUTING';
  readonly to: string;
}

export function buildJumps(variant: IptablesVariant): IptablesJump[] {
  const commands = variantCommands(variant);
  return (['ipv4', 'ipv6'] as const).flatMap((family) => [
    { command: commands.iptables[family], table: 'filter' as const, from: 'INPUT' as const, to: IPTABLES_CHAINS.input },
    { command: commands.iptables[family], table: 'mangle' as const, from: 'PREROUTING' as const, to: IPTABLES_CHAINS.beforeDnat },
  ]);
}

/** A heredoc in the script: the delimiter must never occur as a line of its body. */
export interface HeredocView {
  readonly command: string;
  readonly delimiter: string;
  /** The body, every line ending in a newline ('' for none). */
  readonly body: string;
  /** The body's lines (computed when read: templates written before `body` use it). */
  readonly lines: readonly string[];
}

function heredoc(command: string, delimiter: string, body: string): HeredocView {
  if (body.startsWith(`${delimiter}\n`) || body.includes(`\n${delimiter}\n`)) throw new Error(`heredoc delimiter ${delimiter} occurs in its body`);
  return {
    command,
    delimiter,
    body,
    get lines() {
      return splitJoinedLines(body);
    },
  };
}

/** What the three templates lay out; every string is already escaped for its grammar. */
export interface IptablesView {
  readonly header: { readonly lines: readonly string[] };
  readonly variant: { readonly name: string; readonly flag: IptablesVariant; readonly restore4: string; readonly restore6: string };
  readonly other: { readonly name: string; readonly flag: IptablesVariant; readonly save4: string; readonly save6: string };
  /** Space-separated commands the script checks for before it changes anything. */
  readonly tools: string;
  readonly ipset: HeredocView;
  readonly restores: readonly HeredocView[];
  /** `ensure_jump` argument lists, one a line. */
  readonly jumps: readonly string[];
  /** The sets this render owns (space-separated), and the pattern of every set kubewall may own. */
  readonly sets: { readonly keep: string; readonly pattern: string };
}

/** The iptables view model: everything the script and the split files lay out, escaped. */
export function buildIptablesView(plan: Plan, headerLines: readonly string[], variant: IptablesVariant, options: { audit?: boolean } = {}): IptablesView {
  const audit = options.audit === true;
  const commands = variantCommands(variant);
  const other = variantCommands(otherVariant(variant));
  return {
    header: { lines: headerLines },
    variant: { name: commands.name, flag: variant, restore4: commands.restore.ipv4, restore6: commands.restore.ipv6 },
    other: { name: other.name, flag: other.flag, save4: other.save.ipv4, save6: other.save.ipv6 },
    tools: ['ipset', commands.restore.ipv4, commands.restore.ipv6, commands.iptables.ipv4, commands.iptables.ipv6].join(' '),
    ipset: heredoc('ipset restore', 'KUBEWALL_IPSET', buildIpsetText(plan, audit)),
    restores: (['ipv4', 'ipv6'] as const).map((family) =>
      heredoc(`${commands.restore[family]} -w --noflush`, `KUBEWALL_RULES_${family === 'ipv4' ? 'V4' : 'V6'}`, joinedLines(buildRestoreLines(plan, family, audit))),
    ),
    jumps: buildJumps(variant).map((j) => `${j.command} ${j.table} ${j.from} ${assertIptablesChain(j.to)}`),
    sets: { keep: [...plan.sets.map(ipsetName), ...(audit ? [IPSET_AUDIT.ipv4, IPSET_AUDIT.ipv6] : [])].join(' '), pattern: `${IPSET_PREFIX}*` },
  };
}
