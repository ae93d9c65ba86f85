/**
 * What kubewall owns under ufw: the rules whose comment starts with
 * "kubewall " in ufw's user rules files, with their places among the other
 * rules; the incoming default policy (the script sets deny); and whether ufw
 * runs (the script enables it). Pure functions from file and command text to
 * that state, and from (saved, current) to what a restore writes and runs.
 */
import { decodeTupleComment } from './parse.js';
import { UFW_TAG_PREFIX } from './view.js';
import { KubewallError } from '../../errors.js';

/** ufw's rule files, IPv4 then IPv6 (ip netns exec bind-mounts /etc/netns/<ns>/ufw over /etc/ufw). */
export const UFW_RULES_FILES = ['/etc/ufw/user.rules', '/etc/ufw/user6.rules'] as const;
export const UFW_DEFAULTS_FILE = '/etc/default/ufw';
export const UFW_CONF_FILE = '/etc/ufw/ufw.conf';
/** ufw's own start/stop script (ufw.common.state_dir on Debian and Ubuntu): stops ufw without touching ENABLED. */
export const UFW_INIT = '/lib/ufw/ufw-init';

/** One of kubewall's rules as ufw wrote it: the `### tuple ###` line and the iptables lines after it, blank line included. */
export interface UfwOwnedBlock {
  /** How many rules without kubewall's tag come before it in the file. */
  readonly position: number;
  readonly text: string;
}

export interface UfwSnapshot {
  readonly backend: 'ufw';
  /** Per user rules file: kubewall's rules in file order, or null when the file did not exist. */
  readonly rules: Readonly<Record<string, readonly UfwOwnedBlock[] | null>>;
  /** DEFAULT_INPUT_POLICY in /etc/default/ufw, unquoted (DROP, ACCEPT, REJECT), or null when not set. */
  readonly defaultInputPolicy: string | null;
  /** What `ufw status` said: its user chains were loaded. */
  readonly active: boolean;
  /** ENABLED=yes in /etc/ufw/ufw.conf (ufw starts at boot); it can be yes while ufw is not running. */
  readonly enabled: boolean;
  /** Per family: whether any ufw chain was in iptables at all (a ufw that never ran has none; a stopped one keeps empty ones). */
  readonly chainsLoaded: { readonly ipv4: boolean; readonly ipv6: boolean };
}

interface Block {
  readonly tagged: boolean;
  readonly lines: readonly string[];
}

/** A user rules file cut around its rules: what comes before the first rule, each rule, and from `### END RULES ###` on. */
interface RulesFile {
  readonly head: readonly string[];
  readonly blocks: readonly Block[];
  readonly tail: readonly string[];
  /** Whether the file has the `### END RULES ###` line ufw writes (the package's template lacks it). */
  readonly hasEnd: boolean;
}

const TUPLE = '### tuple ###';
const END_RULES = '### END RULES ###';

function isKubewallTuple(line: string): boolean {
  return (decodeTupleComment(line) ?? '').startsWith(`${UFW_TAG_PREFIX} `);
}

/**
 * Pure: a user rules file as ufw writes it (`_write_rules`): the chains, `### RULES ###`, then per rule a
 * blank line, its `### tuple ### ... [comment=<hex of the UTF-8 comment>]` line and its `-A` lines, then a
 * blank line and `### END RULES ###`. A rule's block here is its tuple line up to the next tuple or the end
 * marker, so it carries the blank line after it; ufw itself reads only the tuple lines.
 */
function cutRulesFile(text: string): RulesFile {
  const lines = text.split('\n');
  const head: string[] = [];
  const blocks: { tagged: boolean; lines: string[] }[] = [];
  let index = 0;
  for (; index < lines.length; index++) {
    const line = lines[index]!;
    if (line.startsWith(END_RULES) || line === 'COMMIT') break;
    if (line.startsWith(TUPLE)) blocks.push({ tagged: isKubewallTuple(line), lines: [line] });
    else if (blocks.length > 0) blocks[blocks.length - 1]!.lines.push(line);
    else head.push(line);
  }
  const tail = lines.slice(index);
  return { head, blocks, tail, hasEnd: tail[0]?.startsWith(END_RULES) === true };
}

/** Pure: kubewall's rules in a user rules file, each with the number of other rules before it. */
export function readOwnedUfwBlocks(text: string): UfwOwnedBlock[] {
  const owned: UfwOwnedBlock[] = [];
  let others = 0;
  for (const block of cutRulesFile(text).blocks) {
    if (block.tagged) owned.push({ position: others, text: block.lines.join('\n') });
    else others += 1;
  }
  return owned;
}

/**
 * Pure: the user rules file with kubewall's rules as saved. Every rule with
 * the tag now in the file goes; each saved one comes back after as many
 * other rules as it had before it (after all of them, if someone removed
 * rules since). Other rules, and everything outside `### RULES ###`, stay as
 * they are now. Restoring what this returns gives it back unchanged.
 */
export function restoredUfwRules(saved: readonly UfwOwnedBlock[], current: string, file: string): string {
  const cut = cutRulesFile(current);
  const others = cut.blocks.filter((b) => !b.tagged);
  if (saved.length > 0 && cut.blocks.length === 0 && !cut.hasEnd) {
    throw new KubewallError('APPLY', `${file}: no "${END_RULES}" line to put kubewall's ${saved.length} saved rule(s) before: not a user rules file as ufw writes it`);
  }
  const out: string[] = [...cut.head];
  for (let place = 0; place <= others.length; place++) {
    for (const block of saved) if (Math.min(block.position, others.length) === place) out.push(block.text);
    if (place < others.length) out.push(...others[place]!.lines);
  }
  out.push(...cut.tail);
  return out.join('\n');
}

/** Pure: one `KEY=value` of /etc/default/ufw or ufw.conf, unquoted; the last one wins, as in a shell. Null when absent. */
export function readUfwSetting(text: string, key: string): string | null {
  let value: string | null = null;
  for (const line of text.split('\n')) {
    const match = /^([A-Z_0-9]+)=(.*)$/.exec(line.trim());
    if (match?.[1] === key) value = match[2]!.trim().replace(/^["']|["']$/g, '');
  }
  return value;
}

/** Pure: `ufw status` → whether ufw's rules are loaded (it checks for its user chains). */
export function ufwStatusActive(statusOutput: string, command = 'ufw status'): boolean {
  const status = /^Status: (\w+)/m.exec(statusOutput)?.[1];
  if (status === 'active') return true;
  if (status === 'inactive') return false;
  throw new KubewallError('APPLY', `${command}: expected "Status: active" or "Status: inactive", got ${JSON.stringify(statusOutput.trim().split('\n')[0] ?? '')}`);
}

const POLICY_WORDS: Readonly<Record<string, string>> = { ACCEPT: 'allow', DROP: 'deny', REJECT: 'reject' };

export interface UfwNow {
  readonly defaultInputPolicy: string | null;
  readonly active: boolean;
  /** ENABLED=yes in ufw.conf: ufw reloads on a policy change, and `ufw reload` does anything, only then. */
  readonly enabled: boolean;
  readonly filesChanged: boolean;
}

/**
 * Pure: the commands (program and arguments) that finish a restore once the
 * rule files are back. A ufw that ran only because of the apply is stopped:
 * `ufw disable` when it was disabled before (it writes ENABLED=no, and the
 * policy is then set without a reload); ufw-init stop, after the policy,
 * when it was enabled but not running (`ufw default` starts an enabled ufw
 * again, and `ufw disable` would write ENABLED=no). `ufw default` reloads an
 * enabled ufw by itself; otherwise a running, enabled ufw reloads once if its
 * files changed. A ufw someone stopped meanwhile stays stopped: the apply
 * never stops it.
 */
export function ufwRestoreCommands(saved: Pick<UfwSnapshot, 'defaultInputPolicy' | 'active' | 'enabled'>, now: UfwNow): string[][] {
  const stop = !saved.active && now.active;
  const policyChanged = saved.defaultInputPolicy !== null && saved.defaultInputPolicy !== now.defaultInputPolicy;
  const word = policyChanged ? POLICY_WORDS[saved.defaultInputPolicy!.toUpperCase()] : undefined;
  if (policyChanged && !word) throw new KubewallError('APPLY', `saved DEFAULT_INPUT_POLICY="${saved.defaultInputPolicy}": not one ufw can set back (ACCEPT, DROP or REJECT)`);
  const policy = word ? [['ufw', 'default', word, 'incoming']] : [];
  if (stop && !saved.enabled) return [['ufw', 'disable'], ...policy];
  if (stop) return [...policy, [UFW_INIT, 'stop']];
  if (word) return policy;
  return now.enabled && now.active && now.filesChanged ? [['ufw', 'reload']] : [];
}

/** Pure: whether an `iptables-save` holds any of ufw's chains (`ufw-*` for IPv4, `ufw6-*` for IPv6). */
export function ufwChainsLoaded(saveText: string): boolean {
  return /^:ufw6?-/m.test(saveText);
}

/**
 * Pure: `iptables-restore --noflush` input that removes the empty chains a
 * stopped ufw leaves behind (`ufw disable` keeps them and the jumps into
 * them), so a host where ufw had never run gets its `iptables-save` back.
 * Only ufw's chains and rules jumping into them are named. Empty when there
 * are none.
 */
export function ufwLeftoverRemoval(saveText: string): string {
  const out: string[] = [];
  let table: string | null = null;
  let chains: string[] = [];
  let jumps: string[] = [];
  for (const line of saveText.split('\n')) {
    if (line.startsWith('*')) {
      table = line.slice(1).trim();
      chains = [];
      jumps = [];
    } else if (table !== null && line.startsWith(':ufw')) {
      const name = line.slice(1).split(' ')[0]!;
      if (/^ufw6?-/.test(name)) chains.push(name);
    } else if (table !== null && line.startsWith('-A ')) {
      const [, chain = '', spec = ''] = /^-A (\S+) (.*)$/.exec(line) ?? [];
      if (!/^ufw6?-/.test(chain) && /(^|\s)-[jg] ufw6?-/.test(spec)) jumps.push(`-D ${chain} ${spec}`);
    } else if (table !== null && line.trim() === 'COMMIT') {
      if (chains.length > 0 || jumps.length > 0) {
        // Declaring a chain flushes it, so rules between ufw's chains go before -X.
        out.push(`*${table}`, ...chains.map((c) => `:${c} - [0:0]`), ...jumps, ...chains.map((c) => `-X ${c}`), 'COMMIT');
      }
      table = null;
    }
  }
  return out.length === 0 ? '' : `${out.join('\n')}\n`;
}
