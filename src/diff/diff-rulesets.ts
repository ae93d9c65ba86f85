import type { Family, PortRange } from '../model.js';
import { intersectIntervals, parseAddressElement, subtractIntervals, unionIntervals, formatAddressIntervals, type Interval } from './intervals.js';
import type { NormalizedChain, NormalizedRule, NormalizedRuleset, NormalizedSet, RuleMatch } from './types.js';

export interface ChainChange {
  readonly chain: string;
  readonly property: string;
  readonly desired: string;
  readonly actual: string;
}

export interface OrderChange {
  readonly chain: string;
  /** A rule that sits after `after` on the host, where the plan puts it before (their verdicts differ). */
  readonly rule: NormalizedRule;
  readonly after: NormalizedRule;
}

export interface SetElementChanges {
  readonly set: string;
  readonly family: Family;
  /** Minimal addresses and CIDRs the host set lacks. */
  readonly add: readonly string[];
  /** Addresses and CIDRs the host set has and the plan does not. */
  readonly remove: readonly string[];
  /** Desired elements fully present on the host. */
  readonly unchanged: number;
}

/** What applying the plan would change on the host; pure data, formatted by `format-diff.ts`. */
export interface DiffResult {
  readonly scope: string;
  /** Whether the host had any of kubewall's rules at all. */
  readonly present: boolean;
  readonly inSync: boolean;
  readonly chains: { readonly add: readonly NormalizedChain[]; readonly remove: readonly NormalizedChain[]; readonly change: readonly ChainChange[] };
  /** Rules narrowed to what differs: a rule missing one port of three is reported with that port only. */
  readonly rules: { readonly add: readonly NormalizedRule[]; readonly remove: readonly NormalizedRule[]; readonly unchanged: number };
  readonly order: readonly OrderChange[];
  readonly sets: {
    readonly add: readonly NormalizedSet[];
    readonly remove: readonly NormalizedSet[];
    readonly elements: readonly SetElementChanges[];
    readonly unchangedElements: number;
  };
}

/** Rules with the same key differ only in their values (ports, ICMP types), which are compared as sets. */
function ruleKey(rule: NormalizedRule): string {
  const { match } = rule;
  const kind =
    match.kind === 'ports' || match.kind === 'ip-protocol'
      ? `${match.kind}/${match.protocol}`
      : match.kind === 'other'
        ? `other/${match.text}`
        : match.kind === 'link-local'
          ? `link-local/${match.id}`
          : match.kind;
  return `${rule.chain}|${rule.family ?? '*'}|${rule.source ?? '*'}|${rule.destination ?? '*'}|${rule.verdict}|${kind}`;
}

/** Interns ICMP type names as numbers so every value set is an interval list. */
class Values {
  private readonly names = new Map<string, bigint>();

  of(match: RuleMatch): Interval[] {
    if (match.kind === 'ports') return unionIntervals(match.ports.map((p) => ({ from: BigInt(p.from), to: BigInt(p.to) })));
    if (match.kind === 'icmp') return unionIntervals(match.types.map((t) => this.intern(t)).map((v) => ({ from: v, to: v })));
    return [{ from: 0n, to: 0n }];
  }

  /** The match narrowed to `values`. */
  narrow(match: RuleMatch, values: readonly Interval[]): RuleMatch {
    if (match.kind === 'ports') {
      const ports: PortRange[] = values.map((v) => ({ from: Number(v.from), to: Number(v.to) }));
      return { ...match, ports };
    }
    if (match.kind === 'icmp') {
      const types = match.types.filter((t) => values.some((v) => v.from <= this.intern(t) && this.intern(t) <= v.to));
      return { ...match, types };
    }
    return match;
  }

  private intern(name: string): bigint {
    let value = this.names.get(name);
    if (value === undefined) {
      value = BigInt(this.names.size);
      this.names.set(name, value);
    }
    return value;
  }
}

function groupByKey(rules: readonly NormalizedRule[]): Map<string, NormalizedRule[]> {
  const groups = new Map<string, NormalizedRule[]>();
  for (const rule of rules) {
    const key = ruleKey(rule);
    const group = groups.get(key);
    if (group) group.push(rule);
    else groups.set(key, [rule]);
  }
  return groups;
}

/** For each desired (or actual) rule, the part of its values in `pending`, each part reported once. */
function narrowedParts(rules: readonly NormalizedRule[], pending: Interval[], values: Values): { changed: NormalizedRule[]; unchanged: number } {
  const changed: NormalizedRule[] = [];
  let unchanged = 0;
  let left = pending;
  for (const rule of rules) {
    const part = intersectIntervals(values.of(rule.match), left);
    if (part.length === 0) {
      unchanged++;
      continue;
    }
    changed.push({ ...rule, match: values.narrow(rule.match, part) });
    left = subtractIntervals(left, part);
  }
  return { changed, unchanged };
}

function diffRules(desired: readonly NormalizedRule[], actual: readonly NormalizedRule[]) {
  const values = new Values();
  const want = groupByKey(desired);
  const have = groupByKey(actual);
  const add: NormalizedRule[] = [];
  const remove: NormalizedRule[] = [];
  let unchanged = 0;
  for (const [key, rules] of want) {
    const wanted = unionIntervals(rules.flatMap((r) => values.of(r.match)));
    const had = unionIntervals((have.get(key) ?? []).flatMap((r) => values.of(r.match)));
    const result = narrowedParts(rules, subtractIntervals(wanted, had), values);
    add.push(...result.changed);
    unchanged += result.unchanged;
  }
  for (const [key, rules] of have) {
    const wanted = unionIntervals((want.get(key) ?? []).flatMap((r) => values.of(r.match)));
    const had = unionIntervals(rules.flatMap((r) => values.of(r.match)));
    remove.push(...narrowedParts(rules, subtractIntervals(had, wanted), values).changed);
  }
  return { add, remove, unchanged, order: diffOrder(desired, actual, values) };
}

/** A packet meets the rules of one chain and family: iptables keeps each family in a chain of its own. */
function orderKey(rule: NormalizedRule): string {
  return `${rule.chain}|${rule.family ?? '*'}`;
}

/**
 * Order matters only between runs of different verdicts (an accept moved
 * behind a drop, or the reverse); rules within a run may be in any order.
 */
function diffOrder(desired: readonly NormalizedRule[], actual: readonly NormalizedRule[], values: Values): OrderChange[] {
  const stage = new Map<string, { stage: number; values: Interval[] }>();
  const runs = new Map<string, { verdict: string; stage: number }>();
  for (const rule of desired) {
    const run = runs.get(orderKey(rule));
    const current = !run ? 0 : run.verdict === rule.verdict ? run.stage : run.stage + 1;
    runs.set(orderKey(rule), { verdict: rule.verdict, stage: current });
    const key = ruleKey(rule);
    const known = stage.get(key);
    stage.set(key, { stage: Math.min(known?.stage ?? current, current), values: unionIntervals([...(known?.values ?? []), ...values.of(rule.match)]) });
  }
  const changes: OrderChange[] = [];
  const latest = new Map<string, { stage: number; rule: NormalizedRule }>();
  for (const rule of actual) {
    const wanted = stage.get(ruleKey(rule));
    if (!wanted || intersectIntervals(values.of(rule.match), wanted.values).length === 0) continue;
    const before = latest.get(orderKey(rule));
    if (before && wanted.stage < before.stage) changes.push({ chain: rule.chain, rule, after: before.rule });
    else latest.set(orderKey(rule), { stage: wanted.stage, rule });
  }
  return changes;
}

function diffChains(desired: readonly NormalizedChain[], actual: readonly NormalizedChain[]) {
  const have = new Map(actual.map((c) => [c.name, c]));
  const want = new Set(desired.map((c) => c.name));
  const change: ChainChange[] = [];
  const add: NormalizedChain[] = [];
  for (const chain of desired) {
    const host = have.get(chain.name);
    if (!host) {
      add.push(chain);
      continue;
    }
    if (host.policy !== chain.policy) change.push({ chain: chain.name, property: 'policy', desired: chain.policy, actual: host.policy });
    for (const [property, value] of Object.entries(chain.details)) {
      const hostValue = host.details[property] ?? '(none)';
      if (hostValue !== value) change.push({ chain: chain.name, property, desired: value, actual: hostValue });
    }
  }
  return { add, remove: actual.filter((c) => !want.has(c.name)), change };
}

function setIntervals(set: NormalizedSet): Interval[] {
  return unionIntervals(
    set.elements.map((element) => {
      const interval = parseAddressElement(element, set.family);
      if (!interval) throw new Error(`set ${set.name}: not an ${set.family} element: ${JSON.stringify(element)}`);
      return interval;
    }),
  );
}

/**
 * The elements of `set` that fall in `pending`, as the set writes them where
 * a whole element differs, else as the fewest CIDRs of the part that does.
 */
function elementParts(set: NormalizedSet, pending: Interval[]): { parts: string[]; touched: number } {
  const parts: string[] = [];
  let touched = 0;
  let left = pending;
  for (const element of set.elements) {
    if (left.length === 0) break;
    const interval = parseAddressElement(element, set.family)!;
    const part = intersectIntervals([interval], left);
    if (part.length === 0) continue;
    touched++;
    const whole = part.length === 1 && part[0]!.from === interval.from && part[0]!.to === interval.to;
    parts.push(...(whole ? [element] : formatAddressIntervals(part, set.family)));
    left = subtractIntervals(left, part);
  }
  return { parts, touched };
}

function diffSets(desired: readonly NormalizedSet[], actual: readonly NormalizedSet[]) {
  const have = new Map(actual.map((s) => [s.name, s]));
  const want = new Map(desired.map((s) => [s.name, s]));
  const add: NormalizedSet[] = [];
  const remove: NormalizedSet[] = [];
  const elements: SetElementChanges[] = [];
  let unchangedElements = 0;
  for (const set of desired) {
    const host = have.get(set.name);
    if (!host || host.family !== set.family) {
      add.push(set);
      if (host) remove.push(host);
      continue;
    }
    const missing = elementParts(set, subtractIntervals(setIntervals(set), setIntervals(host)));
    const extra = elementParts(host, subtractIntervals(setIntervals(host), setIntervals(set)));
    const unchanged = set.elements.length - missing.touched;
    unchangedElements += unchanged;
    if (missing.parts.length > 0 || extra.parts.length > 0) elements.push({ set: set.name, family: set.family, add: missing.parts, remove: extra.parts, unchanged });
  }
  remove.push(...actual.filter((s) => !want.has(s.name)));
  return { add, remove, elements, unchangedElements };
}

/**
 * Compares what the plan would render with what the host has, semantically:
 * port ranges and ICMP types as sets, set contents as address intervals,
 * rule order only where verdicts change. Pure.
 */
export function diffRulesets(desired: NormalizedRuleset, actual: NormalizedRuleset): DiffResult {
  const chains = diffChains(desired.chains, actual.chains);
  const { order, ...rules } = diffRules(desired.rules, actual.rules);
  const sets = diffSets(desired.sets, actual.sets);
  const inSync =
    chains.add.length + chains.remove.length + chains.change.length + rules.add.length + rules.remove.length + order.length + sets.add.length + sets.remove.length + sets.elements.length ===
    0;
  return { scope: desired.scope, present: actual.present, inSync, chains, rules, order, sets };
}
