import { joinedLines } from '../../render/joined-lines.js';
import type { AddressPeerClass, Family, PortRange } from '../../model.js';
import { formatPortRanges } from '../../ports.js';
import { networkIpProtocolRules, networkRules, type IpProtocolRule, type Plan, type PlanRule } from '../../plan/types.js';
import { assertUfwAddress, quoteSh, ufwCommentText } from './escape.js';

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

interface UfwRule {
  readonly protocol: string;
  /** Empty for an IP protocol (ufw's portless protocols: esp, vrrp...). */
  readonly ports: string;
  /** null: from any address, both families. */
  readonly address: string | null;
  /** The destination address; null: any of this node's. */
  readonly to: string | null;
  readonly ids: string[];
}

function ruleGroupView(comment: string, lines: readonly string[]): UfwRuleGroupView {
  return { comment, lines, linesText: joinedLines(lines) };
}

function ruleKey(rule: Omit<UfwRule, 'ids'>): string {
  return `${rule.protocol} ${rule.ports} ${rule.address ?? 'any'} ${rule.to ?? 'any'}`;
}

function ruleLine(rule: UfwRule): string {
  const what = rule.ports === '' ? `proto ${rule.protocol}` : `port ${rule.ports}`;
  const tag = ufwCommentText(`${UFW_TAG_PREFIX} ${rule.ids.join('+')} ${what} from ${rule.address ?? 'any'}${rule.to === null ? '' : ` to ${rule.to}`}`);
  const from = rule.address === null ? '' : ` from ${rule.address}`;
  return `kw_allow ${quoteSh(tag)} proto ${rule.protocol}${from} to ${rule.to ?? 'any'}${rule.ports === '' ? '' : ` port ${rule.ports}`}`;
}

/**
 * VRRPv3 over IPv6 (RFC 5798 §5.1.2.1) comes from the link-local address to
 * ff02::12, which no node set matches. MLD and DHCPv6 replies need no rule
 * here: ufw's stock before6.rules accept them from fe80::/10.
 */
function linkLocalGroups(plan: Plan, seen: Map<string, UfwRule>): UfwRuleGroupView[] {
  return plan.baseline.linkLocal.flatMap((rule) => {
    if (rule.match.kind !== 'ip-protocol') return [];
    const created: UfwRule = { protocol: 'vrrp', ports: '', address: assertUfwAddress(rule.source), to: assertUfwAddress(rule.match.destination), ids: [`baseline-${rule.id}`] };
    seen.set(ruleKey(created), created);
    return [ruleGroupView(ufwCommentText(rule.comment), [ruleLine(created)])];
  });
}

/**
 * The ufw rules one plan rule asks for: one per (port list, peer address),
 * ufw having no sets. Rules another plan rule already produced (defaulted
 * peer classes share addresses) are merged into it, so ufw never sees the
 * same rule twice with two comments (it would rewrite it on every apply).
 */
/** The addresses a rule comes from: `null` is any address of both families, which ufw adds as one command. */
function ruleAddresses(plan: Plan, rule: PlanRule | IpProtocolRule): (string | null)[] {
  const families = 'families' in rule ? rule.families : rule.destination ? [rule.destination.family] : (['ipv4', 'ipv6'] as const);
  if (rule.peer === 'self') return [];
  if (rule.peer !== 'any') return peerAddresses(plan, rule.peer, families);
  if (families.length === 2) return [null];
  return families.map((family) => (family === 'ipv4' ? '0.0.0.0/0' : '::/0'));
}

function groupRules(plan: Plan, rules: readonly (PlanRule | IpProtocolRule)[], seen: Map<string, UfwRule>): UfwRuleGroupView[] {
  const groups: { comment: string; rules: UfwRule[] }[] = [];
  for (const rule of rules) {
    const own: UfwRule[] = [];
    const addresses = ruleAddresses(plan, rule);
    // An IP protocol (esp, vrrp) is one rule per address, without ports.
    const portLists = 'ports' in rule ? chunkPortRanges(rule.ports).map((chunk) => formatPortRanges(chunk, ':')) : [''];
    for (const ports of portLists) {
      for (const address of addresses) {
        const to = 'destination' in rule && rule.destination ? assertUfwAddress(rule.destination.address) : null;
        const candidate = { protocol: rule.protocol, ports, address, to };
        const existing = seen.get(ruleKey(candidate));
        if (existing) {
          existing.ids.push(rule.id);
          continue;
        }
        const created = { ...candidate, ids: [rule.id] };
        seen.set(ruleKey(candidate), created);
        own.push(created);
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
  for (const peer of new Set(plan.sets.map((set) => set.peer))) {
    const addresses = peerAddresses(plan, peer).length;
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
  const seen = new Map<string, UfwRule>();
  const sshRules = groupRules(plan, rules.filter((rule) => rule.entry === 'ssh'), seen);
  const ssh = sshRules.length > 0 ? sshRules : [ruleGroupView('NO SSH RULE: rendered with --allow-lockout, enabling ufw drops new SSH connections', [])];
  const rest = [...groupRules(plan, [...rules.filter((rule) => rule.entry !== 'ssh'), ...networkIpProtocolRules(plan)], seen), ...linkLocalGroups(plan, seen)];
  const needIpv6 = [...seen.values()].some((rule) => rule.address?.includes(':'));
  return {
    header: { lines: headerLines },
    ssh,
    rules: rest,
    needIpv6: needIpv6 ? 'yes' : 'no',
    ruleCount: seen.size,
    tagPrefix: UFW_TAG_PREFIX,
  };
}
