import type { HostWarning, NormalizedRule, NormalizedRuleset, Verdict } from '../../diff/types.js';
import { KubewallError } from '../../errors.js';
import { normalizeSavedRule } from '../../host/iptables-rule.js';
import type { HostDump, HostUnread } from '../../host/types.js';
import type { Family } from '../../model.js';
import { UFW_TAG_PREFIX } from './view.js';

/** Every part of a ufw dump is read the same way, so a saved concatenation needs no markers. */
export const UFW_DUMP_KIND = 'ufw';

/** Where kubewall's ufw rules live, for messages. */
export const UFW_SCOPE = `ufw rules tagged "${UFW_TAG_PREFIX} ..."`;

/** ufw's user chain for inbound rules, per family: kubewall only adds `allow ... in` rules. */
const INPUT_CHAINS: Readonly<Record<Family, string>> = { ipv4: 'ufw-user-input', ipv6: 'ufw6-user-input' };

/** What the status, the settings and the user rules files say, before normalizing. */
export interface UfwFacts {
  /** `active` or `inactive` (ufw status), or undefined when the dump has no status. */
  status?: string;
  /** DEFAULT_INPUT_POLICY, else `ufw status verbose`'s `Default: deny (incoming)`, as a verdict. */
  inputPolicy?: Verdict;
  ipv6Setting?: string;
  forwardPolicy?: string;
  /** Families whose user rules file was in the dump. */
  readonly families: Set<Family>;
  readonly rules: NormalizedRule[];
  /** Rules in the user chains without kubewall's tag (the operator's own). */
  untagged: number;
}

function unquote(value: string): string {
  return value.trim().replace(/^["']|["']$/g, '');
}

/** ufw stores a rule's comment hex-encoded in its `### tuple ###` line. */
export function decodeTupleComment(tuple: string): string | null {
  const hex = /\scomment=([0-9a-fA-F]*)\s*$/.exec(tuple)?.[1];
  if (hex === undefined || hex.length % 2 !== 0) return null;
  return Buffer.from(hex, 'hex').toString('utf8');
}

function policyVerdict(word: string): Verdict | undefined {
  const value = word.toLowerCase();
  return value === 'drop' || value === 'deny' || value === 'reject' ? 'drop' : value === 'accept' || value === 'allow' ? 'accept' : undefined;
}

/**
 * Reads one part of a ufw dump line by line: `ufw status verbose`,
 * /etc/default/ufw, and /etc/ufw/user.rules or user6.rules (iptables-restore
 * text whose `### tuple ###` comments carry each rule's comment, hence
 * kubewall's tag). Parts may be concatenated in any order. Pure.
 */
export function readUfwDump(text: string, origin: string, facts: UfwFacts): void {
  let block: { family: Family | undefined; tagged: boolean | undefined; lines: number } | undefined;
  const lines = text.split('\n');
  for (let index = 0; index < lines.length; index++) {
    const line = lines[index]!.trimEnd();
    if (block) {
      if (line === 'COMMIT') {
        block = undefined;
        continue;
      }
      if (line.startsWith(':')) {
        const family: Family = line.startsWith(':ufw6-') ? 'ipv6' : 'ipv4';
        if (block.family === undefined) {
          block.family = family;
          facts.families.add(family);
        }
        continue;
      }
      if (line.startsWith('### tuple ###')) {
        block.tagged = (decodeTupleComment(line) ?? '').startsWith(`${UFW_TAG_PREFIX} `);
        continue;
      }
      if (line.startsWith('### END RULES')) {
        block.tagged = undefined;
        continue;
      }
      if (line === '' || line.startsWith('#')) continue;
      const rule = /^-[AI] (\S+) (.*)$/.exec(line);
      if (!rule) throw new KubewallError('HOST_READ', `${origin}: line ${index + 1}: not a ufw user rules line: ${JSON.stringify(line.slice(0, 80))} (expected the content of /etc/ufw/user.rules)`);
      const [, chain, body] = rule;
      // Rules outside "### RULES ###" (logging, rate limiting) are ufw's own machinery.
      if (block.tagged === undefined || block.family === undefined) continue;
      if (!block.tagged) {
        if (chain === INPUT_CHAINS[block.family]) facts.untagged++;
        continue;
      }
      const where = `${block.family} ${chain} rule ${++block.lines}`;
      facts.rules.push(
        chain === INPUT_CHAINS[block.family]
          ? normalizeSavedRule('input', block.family, body!, where)
          : { chain: 'input', family: null, source: null, match: { kind: 'other', text: `${block.family}: -A ${chain} ${body!}` }, verdict: 'accept', origin: where },
      );
      continue;
    }
    if (line === '*filter') {
      block = { family: undefined, tagged: undefined, lines: 0 };
      continue;
    }
    const status = /^Status: (\w+)/.exec(line);
    if (status) facts.status = status[1];
    const defaults = /^Default: (\w+) \(incoming\)/.exec(line);
    if (defaults && facts.inputPolicy === undefined) facts.inputPolicy = policyVerdict(defaults[1]!);
    const setting = /^([A-Z_0-9]+)=(.*)$/.exec(line);
    if (setting) {
      const value = unquote(setting[2]!);
      if (setting[1] === 'DEFAULT_INPUT_POLICY') facts.inputPolicy = policyVerdict(value) ?? facts.inputPolicy;
      if (setting[1] === 'IPV6') facts.ipv6Setting = value;
      if (setting[1] === 'DEFAULT_FORWARD_POLICY') facts.forwardPolicy = value;
    }
  }
  if (block) throw new KubewallError('HOST_READ', `${origin}: a *filter block has no COMMIT (truncated file?)`);
}

export interface ParsedUfwHost {
  readonly ruleset: NormalizedRuleset;
  readonly warnings: HostWarning[];
  readonly unread?: HostUnread;
}

/**
 * The ufw host state, normalized: kubewall's tagged rules (one per address,
 * ufw having no sets), in chain `input`, whose policy is ufw's default
 * incoming policy and whose detail `ufw` says whether ufw is active.
 */
export function parseUfwDumps(dumps: readonly HostDump[]): ParsedUfwHost {
  const facts: UfwFacts = { families: new Set(), rules: [], untagged: 0 };
  for (const dump of dumps) if (dump.kind === UFW_DUMP_KIND) readUfwDump(dump.text, dump.origin, facts);
  if (facts.families.size === 0) {
    const origin = dumps[0]?.origin ?? 'the dump';
    throw new KubewallError('HOST_READ', `${origin}: no ufw user rules found (expected the content of /etc/ufw/user.rules: *filter, :ufw-user-input - [0:0], ..., COMMIT)`);
  }
  const warnings: HostWarning[] = [];
  const unreadFamilies: Family[] = [];
  const unreadDetails: string[] = [];
  if (!facts.families.has('ipv6')) {
    unreadFamilies.push('ipv6');
    const reason = facts.ipv6Setting !== undefined && facts.ipv6Setting !== 'yes' ? `IPV6=${facts.ipv6Setting} in /etc/default/ufw, so ufw holds no IPv6 rules` : 'the dump holds no /etc/ufw/user6.rules';
    warnings.push({ code: 'not-compared', message: `${reason}: IPv6 rules were not compared (a plan with IPv6 peers needs IPV6=yes)` });
  } else if (facts.ipv6Setting !== undefined && facts.ipv6Setting !== 'yes') {
    warnings.push({ code: 'ufw-ipv6-off', message: `IPV6=${facts.ipv6Setting} in /etc/default/ufw: ufw loads no IPv6 rules, so the IPv6 rules listed here do not apply` });
  }
  if (facts.status === undefined) {
    unreadDetails.push('ufw');
    warnings.push({ code: 'not-compared', message: 'the dump holds no ufw status output: whether ufw is enabled was not compared' });
  }
  if (facts.untagged > 0) {
    warnings.push({
      code: 'untagged-ufw-rules',
      message: `${facts.untagged} ufw rule${facts.untagged === 1 ? '' : 's'} without the ${UFW_TAG_PREFIX} tag in ufw's user rules (IPv4 and IPv6 counted apart): they may open more than this plan (ufw show added)`,
    });
  }
  if (facts.forwardPolicy !== undefined && facts.forwardPolicy !== 'ACCEPT') {
    warnings.push({
      code: 'ufw-forward-drop',
      message: `DEFAULT_FORWARD_POLICY="${facts.forwardPolicy}" in /etc/default/ufw: ufw drops routed traffic (pods, DNATed NodePorts) that the CNI or kube-proxy does not accept in FORWARD themselves`,
    });
  }
  const details: Record<string, string> = facts.status === undefined ? {} : { ufw: facts.status };
  const ruleset: NormalizedRuleset = {
    scope: UFW_SCOPE,
    present: facts.rules.length > 0,
    // Unknown policy (no status, no settings): taken as the plan's, and said so.
    chains: [{ name: 'input', policy: facts.inputPolicy ?? 'drop', details }],
    rules: facts.rules,
    sets: [],
  };
  if (facts.inputPolicy === undefined) warnings.push({ code: 'not-compared', message: "the dump holds neither /etc/default/ufw nor ufw status verbose: ufw's default incoming policy was not compared" });
  const unread = unreadFamilies.length + unreadDetails.length > 0 ? { families: unreadFamilies, chainDetails: unreadDetails } : undefined;
  return { ruleset, warnings, ...(unread ? { unread } : {}) };
}
