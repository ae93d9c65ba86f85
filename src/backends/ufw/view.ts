import { joinedLines } from '../../render/joined-lines.js';
import type { AddressPeerClass, Family, PortRange } from '../../model.js';
import { formatPortRanges } from '../../ports.js';
import { networkIpProtocolRules, networkRules, peerClassSizes, type IpProtocolRule, type Plan, type PlanRule } from '../../plan/types.js';
import { assertUfwAddress, ufwCommentText } from './escape.js';

/** Every rule kubewall adds carries a comment starting with this word; it is how an apply finds its own rules. */
export const UFW_TAG_PREFIX = 'kubewall';

/** iptables multiport takes at most 15 ports, a range counting as two; ufw passes a port list to it. */
export const UFW_MULTIPORT_MAX = 15;

/**
 * Above this many addresses in one peer class, kubewall warns: ufw has no
 * sets, so every port rule that uses the class becomes this many ufw rules.
 */
export const UFW_LARGE_PEER_CLASS = 50;

/** One line of the script, already escaped for sh. */
export interface UfwRuleGroupView {
  /** Why these rules exist, safe as a `#` comment. */
  readonly comment: string;
  /** `kw_allow 'kubewall ...' proto tcp from 10.0.0.0/8 to any port 6443` */
  readonly lines: readonly string[];
  /** The lines as one text, each ending in a newline (what the shipped template writes). */
  readonly linesText: string;
}

export interface UfwView {
  readonly header: { readonly lines: readonly string[] };
  /** SSH from the admin networks: added before anything else, so enabling ufw cannot lock operators out. */
  readonly ssh: readonly UfwRuleGroupView[];
  readonly rules: readonly UfwRuleGroupView[];
  /** `yes` when a rule names an IPv6 peer address, which ufw only accepts with IPV6=yes. */
  readonly needIpv6: 'yes' | 'no';
  /** How many `kw_allow` lines the script holds (an address-free rule is one line, two ufw rules with IPV6=yes). */
  readonly ruleCount: number;
  readonly tagPrefix: string;
}

/** A peer class large enough that one-rule-per-address costs. */
export interface LargePeerClass {
  readonly peer: AddressPeerClass;
  readonly addresses: number;
  /** Port rules (after splitting long port lists) that use the class. */
  readonly portRules: number;
}

/** Splits port ranges into lists ufw (iptables multiport) accepts: at most 15 ports, a range counting two. */
export function chunkPortRanges(ranges: readonly PortRange[]): PortRange[][] {
  const chunks: PortRange[][] = [];
  let current: PortRange[] = [];
  let weight = 0;
  for (const range of ranges) {
    const cost = range.from === range.to ? 1 : 2;
    if (weight + cost > UFW_MULTIPORT_MAX) {
      chunks.push(current);
      current = [];
      weight = 0;
    }
    current.push(range);
    weight += cost;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

function peerAddresses(plan: Plan, peer: AddressPeerClass, families: readonly Family[] = ['ipv4', 'ipv6']): string[] {
  return plan.sets.filter((set) => set.peer === peer && families.includes(set.family)).flatMap((set) => set.elements.map(assertUfwAddress));
}

/** What the ufw rules made from one plan rule and one port list share. */
interface UfwRuleShape {
  readonly protocol: string;
  /** Empty for an IP protocol (ufw's portless protocols: esp, vrrp...). */
  readonly ports: string;
  /** The destination address; null: any of this node's. */
  readonly to: string | null;
  /** The plan rule ids its rules start with. */
  readonly ids: readonly string[];
  /** The escaped start of the tag of a rule whose ids are still `ids` (made once for all of them). */
  tagStart?: string;
}

interface UfwRule {
  readonly shape: UfwRuleShape;
  /** null: from any address, both families. */
  readonly address: string | null;
  /** The shape's ids until another plan rule is merged into this rule; then its own list. */
  ids: readonly string[];
}

/**
 * The ufw rules made so far, by protocol, ports, destination and source, so a
 * rule another plan rule asks for again is merged instead of repeated.
 */
class UfwRuleSet {
  private readonly byShape = new Map<string, Map<string | null, UfwRule>>();
  private count = 0;

  get size(): number {
    return this.count;
  }

  private sources(protocol: string, ports: string, to: string | null): Map<string | null, UfwRule> {
    const key = `${protocol} ${ports} ${to ?? 'any'}`;
    let sources = this.byShape.get(key);
    if (sources === undefined) this.byShape.set(key, (sources = new Map()));
    return sources;
  }

  /** The rule for this shape and source: the existing one (this plan rule's id added), or a new one. */
  add(shape: UfwRuleShape, address: string | null, id: string): { rule: UfwRule; created: boolean } {
    const sources = this.sources(shape.protocol, shape.ports, shape.to);
    const existing = sources.get(address);
    if (existing) {
      existing.ids = [...existing.ids, id];
      return { rule: existing, created: false };
    }
    const rule: UfwRule = { shape, address, ids: shape.ids };
    sources.set(address, rule);
    this.count++;
    return { rule, created: true };
  }

  hasIpv6Source(): boolean {
    for (const sources of this.byShape.values()) for (const address of sources.keys()) if (address?.includes(':')) return true;
    return false;
  }
}

function tagStart(shape: UfwRuleShape, ids: readonly string[]): string {
  const what = shape.ports === '' ? `proto ${shape.protocol}` : `port ${shape.ports}`;
  return ufwCommentText(`${UFW_TAG_PREFIX} ${ids.join('+')} ${what}`);
}

/**
 * `kw_allow 'TAG' proto P [from A] to D [port N]`. The tag is
 * ufwCommentText of `kubewall IDS WHAT from A [to D]`; the addresses passed
 * assertUfwAddress (hex digits, '.', ':', '/'), which ufwCommentText keeps
 * as they are, so only the start is escaped, once per shape: a 50,000-node
 * peer class is 100,000 lines, and escaping each whole tag cost most of a
 * fleet render. No `'` survives ufwCommentText, so the quotes are plain.
 */
function ruleLine(rule: UfwRule): string {
  const { shape, address } = rule;
  const start = rule.ids === shape.ids ? (shape.tagStart ??= tagStart(shape, shape.ids)) : tagStart(shape, rule.ids);
  const tag = `${start} from ${address ?? 'any'}${shape.to === null ? '' : ` to ${shape.to}`}`;
  const from = address === null ? '' : ` from ${address}`;
  return `kw_allow '${tag}' proto ${shape.protocol}${from} to ${shape.to ?? 'any'}${shape.ports === '' ? '' : ` port ${shape.ports}`}`;
}

function ruleGroupView(comment: string, lines: readonly string[]): UfwRuleGroupView {
  return { comment, lines, linesText: joinedLines(lines) };
}

/**
 * VRRPv3 over IPv6 (RFC 5798 §5.1.2.1) comes from the link-local address to
 * ff02::12, which no node set matches. MLD and DHCPv6 replies need no rule
 * here: ufw's stock before6.rules accept them from fe80::/10.
 */
function linkLocalGroups(plan: Plan, seen: UfwRuleSet): UfwRuleGroupView[] {
  return plan.baseline.linkLocal.flatMap((rule) => {
    if (rule.match.kind !== 'ip-protocol') return [];
    const id = `baseline-${rule.id}`;
    const shape: UfwRuleShape = { protocol: 'vrrp', ports: '', to: assertUfwAddress(rule.match.destination), ids: [id] };
    const { rule: created } = seen.add(shape, assertUfwAddress(rule.source), id);
    return [ruleGroupView(ufwCommentText(rule.comment), [ruleLine(created)])];
  });
}

/** The addresses a rule comes from: `null` is any address of both families, which ufw adds as one command. */
function ruleAddresses(plan: Plan, rule: PlanRule | IpProtocolRule): readonly (string | null)[] {
  const families = 'families' in rule ? rule.families : rule.destination ? [rule.destination.family] : (['ipv4', 'ipv6'] as const);
  if (rule.peer === 'self') return [];
  if (rule.peer !== 'any') return peerAddresses(plan, rule.peer, families);
  if (families.length === 2) return [null];
  return families.map((family) => (family === 'ipv4' ? '0.0.0.0/0' : '::/0'));
}

/**
 * The ufw rules one plan rule asks for: one per (port list, peer address),
 * ufw having no sets. Rules another plan rule already produced (defaulted
 * peer classes share addresses) are merged into it, so ufw never sees the
 * same rule twice with two comments (it would rewrite it on every apply).
 */
function groupRules(plan: Plan, rules: readonly (PlanRule | IpProtocolRule)[], seen: UfwRuleSet): UfwRuleGroupView[] {
  const groups: { comment: string; rules: UfwRule[] }[] = [];
  for (const rule of rules) {
    const own: UfwRule[] = [];
    const addresses = ruleAddresses(plan, rule);
    const to = 'destination' in rule && rule.destination ? assertUfwAddress(rule.destination.address) : null;
    const ids = [rule.id];
    // An IP protocol (esp, vrrp) is one rule per address, without ports.
    const portLists = 'ports' in rule ? chunkPortRanges(rule.ports).map((chunk) => formatPortRanges(chunk, ':')) : [''];
    for (const ports of portLists) {
      const shape: UfwRuleShape = { protocol: rule.protocol, ports, to, ids };
      // Indexed: a for…of over a fleet's addresses in code that runs once allocates per step.
      for (let i = 0; i < addresses.length; i++) {
        const added = seen.add(shape, addresses[i]!, rule.id);
        if (added.created) own.push(added.rule);
      }
    }
    const note = own.length === 0 ? (addresses.length === 0 ? ' (no addresses in this peer class: nothing to open)' : ' (same ufw rules as above)') : '';
    groups.push({ comment: ufwCommentText(`${rule.comment}${note}`), rules: own });
  }
  // Lines are built last: a rule's tag lists every plan rule merged into it.
  return groups.map((group) => ruleGroupView(group.comment, group.rules.map(ruleLine)));
}

/** Peer classes with more than UFW_LARGE_PEER_CLASS addresses that some rule uses. */
export function findLargePeerClasses(plan: Plan): LargePeerClass[] {
  const large: LargePeerClass[] = [];
  const rules = networkRules(plan);
  // Counted, not listed: peerAddresses checks every address, which a fleet's warning does not need.
  for (const [peer, addresses] of peerClassSizes(plan)) {
    const portRules =
      rules.filter((rule) => rule.peer === peer).reduce((sum, rule) => sum + chunkPortRanges(rule.ports).length, 0) +
      networkIpProtocolRules(plan).filter((rule) => rule.peer === peer).length;
    if (addresses > UFW_LARGE_PEER_CLASS && portRules > 0) large.push({ peer, addresses, portRules });
  }
  return large;
}

/** The warning for one large peer class: what it costs, and why the threshold is where it is. */
export function describeLargePeerClass(large: LargePeerClass): string {
  return (
    `ufw has no sets: peer class ${large.peer} has ${large.addresses} addresses (more than ${UFW_LARGE_PEER_CLASS}), ` +
    `so its ${large.portRules} port rule(s) become ${large.addresses * large.portRules} ufw rules; ` +
    'every new inbound connection walks that linear chain, and the first apply runs one ufw process per rule, each parsing every rule already there; ' +
    'use CIDRs in the cluster file, or the nftables backend (sets)'
  );
}

/** The ufw view model: everything the template lays out, escaped for sh and ufw. */
export function buildUfwView(plan: Plan, headerLines: readonly string[]): UfwView {
  const rules = networkRules(plan);
  const seen = new UfwRuleSet();
  const sshRules = groupRules(plan, rules.filter((rule) => rule.entry === 'ssh'), seen);
  const ssh = sshRules.length > 0 ? sshRules : [ruleGroupView('NO SSH RULE: rendered with --allow-lockout, enabling ufw drops new SSH connections', [])];
  const rest = [...groupRules(plan, [...rules.filter((rule) => rule.entry !== 'ssh'), ...networkIpProtocolRules(plan)], seen), ...linkLocalGroups(plan, seen)];
  const needIpv6 = seen.hasIpv6Source();
  return {
    header: { lines: headerLines },
    ssh,
    rules: rest,
    needIpv6: needIpv6 ? 'yes' : 'no',
    ruleCount: seen.size,
    tagPrefix: UFW_TAG_PREFIX,
  };
}
