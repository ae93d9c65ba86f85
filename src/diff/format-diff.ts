import { IP_PROTOCOL_INFO, IP_PROTOCOLS } from '../model.js';
import { formatPortRange } from '../ports.js';
import type { DiffResult } from './diff-rulesets.js';
import type { HostWarning, NormalizedChain, NormalizedRule } from './types.js';

/** The versioned shape of `kubewall diff --format json`; bump on any incompatible change (docs/diff.md). */
export const DIFF_API_VERSION = 'kubewall.dev/diff/v1';

export interface DiffReport {
  readonly backend: string;
  readonly roles: readonly string[];
  /** `live` or the --from file (`-` for stdin). */
  readonly source: string;
  readonly result: DiffResult;
  readonly warnings: readonly HostWarning[];
}

const IP_PROTOCOL_NAMES = new Map(IP_PROTOCOLS.map((name) => [IP_PROTOCOL_INFO[name].number, name]));

export function formatMatch(rule: NormalizedRule): string {
  const { match } = rule;
  switch (match.kind) {
    case 'loopback':
      return 'iif lo';
    case 'established':
      return 'ct state established,related';
    case 'invalid':
      return 'ct state invalid';
    case 'not-local':
      return 'daddr type != local';
    case 'icmp':
      return `${rule.family === 'ipv6' ? 'icmpv6' : 'icmp'} type ${braces(match.types)}`;
    case 'ports':
      return `${match.protocol} dport ${braces(match.ports.map((p) => formatPortRange(p)))}`;
    case 'ip-protocol':
      return `ip protocol ${match.protocol}${IP_PROTOCOL_NAMES.get(match.protocol) ? ` (${IP_PROTOCOL_NAMES.get(match.protocol)})` : ''}`;
    case 'link-local':
      return `link-local ${match.id}`;
    case 'all':
      return 'every packet:';
    case 'other':
      return match.text;
  }
}

function braces(items: readonly string[]): string {
  return items.length === 1 ? items[0]! : `{ ${items.join(', ')} }`;
}

/** A rule in one line, backend-neutral: `ip saddr`-style words, but no backend's grammar. */
export function formatRule(rule: NormalizedRule): string {
  // A set's name, or an address where the backend has no sets (ufw).
  const source = rule.source === null ? '' : /[.:]/.test(rule.source) ? ` saddr ${rule.source}` : ` saddr @${rule.source}`;
  const destination = rule.destination === undefined ? '' : ` daddr ${rule.destination}`;
  return `${formatMatch(rule)}${source}${destination} ${rule.verdict}`;
}

function jsonRule(rule: NormalizedRule) {
  const { match } = rule;
  return {
    chain: rule.chain,
    family: rule.family,
    source: rule.source,
    ...(rule.destination === undefined ? {} : { destination: rule.destination }),
    verdict: rule.verdict,
    match:
      match.kind === 'ports'
        ? { kind: match.kind, protocol: match.protocol, ports: match.ports.map((p) => formatPortRange(p)) }
        : match,
    text: formatRule(rule),
    origin: rule.origin ?? null,
  };
}

function jsonChain(chain: NormalizedChain) {
  return { name: chain.name, policy: chain.policy, details: chain.details };
}

export function summarize(result: DiffResult) {
  return {
    chainsToAdd: result.chains.add.length,
    chainsToRemove: result.chains.remove.length,
    chainChanges: result.chains.change.length,
    rulesToAdd: result.rules.add.length,
    rulesToRemove: result.rules.remove.length,
    rulesOutOfOrder: result.order.length,
    setsToAdd: result.sets.add.length,
    setsToRemove: result.sets.remove.length,
    setElementsToAdd: result.sets.elements.reduce((n, s) => n + s.add.length, 0),
    setElementsToRemove: result.sets.elements.reduce((n, s) => n + s.remove.length, 0),
    rulesUnchanged: result.rules.unchanged,
    setElementsUnchanged: result.sets.unchangedElements,
  };
}

/** `kubewall diff --format json`: the documented, versioned shape (docs/diff.md). */
export function formatDiffJson(report: DiffReport): string {
  const { result } = report;
  const json = {
    apiVersion: DIFF_API_VERSION,
    backend: report.backend,
    roles: report.roles,
    source: report.source,
    scope: result.scope,
    present: result.present,
    inSync: result.inSync,
    summary: summarize(result),
    chains: { add: result.chains.add.map(jsonChain), remove: result.chains.remove.map(jsonChain), change: result.chains.change },
    rules: { add: result.rules.add.map(jsonRule), remove: result.rules.remove.map(jsonRule), unchanged: result.rules.unchanged },
    order: result.order.map((o) => ({ chain: o.chain, rule: jsonRule(o.rule), after: jsonRule(o.after) })),
    sets: {
      add: result.sets.add,
      remove: result.sets.remove,
      elements: result.sets.elements,
      unchangedElements: result.sets.unchangedElements,
    },
    warnings: report.warnings,
  };
  return `${JSON.stringify(json, null, 2)}\n`;
}

/** ANSI colours, or none: the caller decides (TTY, NO_COLOR). */
export interface Palette {
  add(text: string): string;
  remove(text: string): string;
  change(text: string): string;
  dim(text: string): string;
}

const code = (open: number, close: number) => (text: string) => `\u001b[${open}m${text}\u001b[${close}m`;
export const COLOURS: Palette = { add: code(32, 39), remove: code(31, 39), change: code(33, 39), dim: code(2, 22) };
export const NO_COLOURS: Palette = { add: (t) => t, remove: (t) => t, change: (t) => t, dim: (t) => t };

/** Colour only on a terminal, and never when NO_COLOR is set to anything (https://no-color.org). */
export function choosePalette(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv): Palette {
  return stream.isTTY === true && (env['NO_COLOR'] ?? '') === '' ? COLOURS : NO_COLOURS;
}

/** Rules that differ only in family (ipv4 and ipv6, same everything else) print as one line. */
function coalesceFamilies(rules: readonly NormalizedRule[]): { family: string; rule: NormalizedRule }[] {
  const lines: { family: string; rule: NormalizedRule; key: string }[] = [];
  for (const rule of rules) {
    const key = `${rule.chain}|${formatRule(rule)}|${rule.origin ?? ''}`;
    const twin = lines.find((l) => l.key === key && l.family === 'ipv4' && rule.family === 'ipv6');
    if (twin) twin.family = 'ipv4+ipv6';
    else lines.push({ family: rule.family ?? '-', rule, key });
  }
  return lines;
}

function ruleLines(sign: string, paint: (t: string) => string, rules: readonly NormalizedRule[], palette: Palette): string[] {
  return coalesceFamilies(rules).map(({ family, rule }) => {
    const origin = rule.origin ? palette.dim(`  # ${rule.origin}`) : '';
    return paint(`  ${sign} ${rule.chain.padEnd(11)} ${family.padEnd(9)} ${formatRule(rule)}`) + origin;
  });
}

/** The human report: what applying would add, remove and change, then warnings. */
export function formatDiffText(report: DiffReport, palette: Palette = NO_COLOURS): string {
  const { result } = report;
  const s = summarize(result);
  const out: string[] = [
    `kubewall diff: backend ${report.backend}, roles ${report.roles.join(', ')}, ${result.scope} on ${report.source === 'live' ? 'this host' : report.source}`,
  ];
  if (!result.present) out.push(palette.add(`None of ${result.scope} is on the host: applying creates all of it.`));
  const section = (title: string, lines: string[]) => {
    if (lines.length > 0) out.push('', title, ...lines);
  };
  section('Chains:', [
    ...result.chains.add.map((c) => palette.add(`  + ${c.name} (policy ${c.policy})`)),
    ...result.chains.remove.map((c) => palette.remove(`  - ${c.name} (policy ${c.policy})`)),
    ...result.chains.change.map((c) => palette.change(`  ~ ${c.chain}: ${c.property} ${c.actual} -> ${c.desired}`)),
  ]);
  const adds = ruleLines('+', palette.add, result.rules.add, palette);
  const removes = ruleLines('-', palette.remove, result.rules.remove, palette);
  section(`Rules to add (${adds.length}):`, adds);
  section(`Rules to remove (${removes.length}):`, removes);
  section(
    'Rules out of order (their verdicts differ, so order changes what they do):',
    result.order.map((o) => palette.change(`  ~ ${o.chain}: "${formatRule(o.rule)}" comes after "${formatRule(o.after)}"`)),
  );
  section('Sets:', [
    ...result.sets.add.map((set) => palette.add(`  + ${set.name} (${set.family}, ${set.elements.length} element${set.elements.length === 1 ? '' : 's'})`)),
    ...result.sets.remove.map((set) => palette.remove(`  - ${set.name} (${set.family})`)),
    ...result.sets.elements.flatMap((e) => [
      `  ${e.set}:`,
      ...e.add.map((element) => palette.add(`    + ${element}`)),
      ...e.remove.map((element) => palette.remove(`    - ${element}`)),
    ]),
  ]);
  out.push('', `Unchanged: ${s.rulesUnchanged} rule${s.rulesUnchanged === 1 ? '' : 's'}, ${s.setElementsUnchanged} set element${s.setElementsUnchanged === 1 ? '' : 's'}.`);
  section(`Warnings (${report.warnings.length}), outside kubewall's rules:`, report.warnings.map((w) => palette.change(`  ! ${w.message} [${w.code}]`)));
  out.push(
    '',
    result.inSync
      ? `In sync: applying would change nothing in ${result.scope}.`
      : `Changes pending: applying the render replaces ${result.scope} with the plan (exit code 2).`,
  );
  return `${out.join('\n')}\n`;
}
