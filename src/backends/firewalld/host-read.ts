import { diffRulesets } from '../../diff/diff-rulesets.js';
import { normalizePlan } from '../../diff/normalize-plan.js';
import type { HostWarning, NormalizedRule, NormalizedRuleset } from '../../diff/types.js';
import { LINK_LOCAL_V6 } from '../../plan/types.js';
import { KubewallError } from '../../errors.js';
import { isPermissionFailure, requireOutput } from '../../host/describe-failure.js';
import { countSaveRules, gatherCommonProbes, warningsFromProbes } from '../../host/probes.js';
import type { CommandOutcome, CommandRunner, HostDump, HostReader, HostState, RawHostState } from '../../host/types.js';
import { FIREWALLD_IPSET_PREFIX, FIREWALLD_ZONE, ipsetName } from './config.js';
import {
  FirewalldParseError,
  parseFirewallCmdInfo,
  splitSections,
  unparsable,
  type FirewalldIpsetState,
  type FirewalldState,
  type FirewalldZoneState,
} from './host-state.js';
import { DESIRED_ZONE_DETAILS, describeRuntimePermanentDifference, FIREWALLD_SCOPE, normalizeFirewalld } from './normalize-host.js';

/** What each dump holds, for the parser. */
const KIND = {
  runtime: 'firewall-cmd-runtime',
  permanent: 'firewall-cmd-permanent',
  zoneXml: 'firewalld-zone-xml',
  ipsetXml: 'firewalld-ipset-xml',
  version: 'firewall-cmd-version',
  conf: 'firewalld-conf',
  iptablesSave: 'iptables-save',
  ignored: 'ignored',
} as const;

const FIREWALLD_CONF = '/etc/firewalld/firewalld.conf';
/** The kind `gatherCommonProbes` gives its legacy iptables dumps. */
const LEGACY_DUMP = 'iptables-legacy-save';

/** The one line that saves the permanent configuration, also when firewalld is stopped. */
export const FIREWALLD_SAVE_XML = 'tail -v -n +1 /etc/firewalld/zones/*.xml /etc/firewalld/ipsets/*.xml';
/** The one line that saves the runtime configuration (kubewall's ipsets included) from a running firewalld; fits in `sh -c '...'`. */
export const FIREWALLD_SAVE_RUNTIME =
  `for a in --list-all-zones $(firewall-cmd --get-ipsets | tr " " "\\n" | sed -n "s/^${FIREWALLD_IPSET_PREFIX}/--info-ipset=&/p"); do echo "==> firewall-cmd $a <=="; firewall-cmd $a; done`;

const PACKAGE = 'firewalld';

function command(args: readonly string[]): string {
  return ['firewall-cmd', ...args].join(' ');
}

/** Exit 252 ("not running") or a D-Bus error (no system bus, firewalld not on it): the zone is not enforced at all. */
function notRunning(outcome: CommandOutcome & { status: 'exited' }): KubewallError {
  const detail = `${outcome.stdout} ${outcome.stderr}`.trim().split('\n').filter((l) => l.trim() !== '').slice(-1)[0]?.trim() ?? `exit code ${outcome.exitCode}`;
  return new KubewallError(
    'HOST_READ',
    `firewall-cmd --list-all-zones: firewalld is not running (${detail}), so nothing in zone ${FIREWALLD_ZONE} is enforced; start firewalld, ` +
      `or diff its permanent configuration: ${FIREWALLD_SAVE_XML} | kubewall diff --backend firewalld ... --from -`,
  );
}

async function firewallCmd(runner: CommandRunner, args: readonly string[], kind: string): Promise<HostDump> {
  const text = requireOutput(await runner.run('firewall-cmd', args), { command: command(args), packageName: PACKAGE });
  return { origin: command(args), kind, text };
}

/** How many firewall-cmd run at once: each is CPU-bound at start, and a busy host must not push one past --timeout. */
const CONCURRENCY = 4;

/** `Promise.all` over `items`, at most CONCURRENCY at a time, results in order. */
async function mapLimited<T, R>(items: readonly T[], fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await fn(items[index]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, items.length) }, worker));
  return results;
}

/** `firewall-cmd --get-ipsets` output → kubewall's ipset names. */
function ownIpsets(text: string): string[] {
  return text.split(/\s+/).filter((name) => name.startsWith(FIREWALLD_IPSET_PREFIX) && /^[\w.-]+$/.test(name));
}

async function optional(runner: CommandRunner, cmd: string, args: readonly string[], kind: string, origin = [cmd, ...args].join(' ')): Promise<HostDump[]> {
  const outcome = await runner.run(cmd, args);
  return outcome.status === 'exited' && outcome.exitCode === 0 ? [{ origin, kind, text: outcome.stdout }] : [];
}

/** firewalld before 2.0 flushes every iptables table on reload (see docs/backends/firewalld.md). */
function flushesIptables(version: string | undefined): boolean {
  const major = version === undefined ? undefined : /^(\d+)\./.exec(version.trim())?.[1];
  return major === undefined || Number(major) < 2;
}

/** What a `--from` section's name says it holds; throws for a name it does not know. */
function classifySection(name: string, text: string, origin: string): HostDump {
  const where = name === '' ? origin : `${origin}: ${name}`;
  const xml = /(?:^|\/)(zones|ipsets|services|icmptypes|policies|helpers)\/([^/]+)\.xml$/.exec(name);
  if (xml) {
    const kind = xml[1] === 'zones' ? KIND.zoneXml : xml[1] === 'ipsets' ? KIND.ipsetXml : KIND.ignored;
    return { origin: where, kind, text };
  }
  if (/(^|\/)firewalld\.conf$/.test(name)) return { origin: where, kind: KIND.conf, text };
  if (/^firewall-cmd --version$/.test(name)) return { origin: where, kind: KIND.version, text };
  if (/^ip6?tables(-nft)?-save$/.test(name)) return { origin: where, kind: KIND.iptablesSave, text };
  if (/^ip6?tables-legacy-save$/.test(name)) return { origin: where, kind: LEGACY_DUMP, text };
  const cmd = /^firewall-cmd( --permanent)? --(list-all-zones|list-all|info-zone=[\w.-]+|info-ipset=[\w.-]+|get-ipsets|state)$/.exec(name);
  if (cmd) {
    if (cmd[2] === 'get-ipsets' || cmd[2] === 'state') return { origin: where, kind: KIND.ignored, text };
    return { origin: where, kind: cmd[1] ? KIND.permanent : KIND.runtime, text };
  }
  // No header at all: what `firewall-cmd --list-all-zones` (or --info-zone) printed.
  if (name === '' && !text.trimStart().startsWith('<')) return { origin: where, kind: KIND.runtime, text };
  throw new KubewallError(
    'HOST_READ',
    `${where}: not a section kubewall diff reads (expected zones/NAME.xml, ipsets/NAME.xml, firewalld.conf, or the output of firewall-cmd [--permanent] --list-all-zones / --info-zone=NAME / --info-ipset=NAME, each after a "==> NAME <==" line: ${FIREWALLD_SAVE_XML})`,
  );
}

interface StateBuilder {
  readonly zones: Map<string, FirewalldZoneState>;
  readonly ipsets: Map<string, FirewalldIpsetState>;
  read: boolean;
}

const newState = (): StateBuilder => ({ zones: new Map(), ipsets: new Map(), read: false });

function fileName(origin: string): string {
  return /([^/]+)\.xml$/.exec(origin)?.[1] ?? origin;
}

/** Reads the dumps into the runtime and permanent configurations; XML needs the parser, loaded here only. */
async function readStates(raw: RawHostState): Promise<{ runtime: StateBuilder; permanent: StateBuilder }> {
  const runtime = newState();
  const permanent = newState();
  const xmlDumps = raw.dumps.filter((d) => d.kind === KIND.zoneXml || d.kind === KIND.ipsetXml);
  const xml = xmlDumps.length > 0 ? await import('./parse-xml.js') : undefined;
  for (const dump of raw.dumps) {
    try {
      if (dump.kind === KIND.runtime || dump.kind === KIND.permanent) {
        const into = dump.kind === KIND.runtime ? runtime : permanent;
        const { zones, ipsets } = parseFirewallCmdInfo(dump.text);
        for (const zone of zones) into.zones.set(zone.name, zone);
        for (const ipset of ipsets) into.ipsets.set(ipset.name, ipset);
        into.read = true;
      } else if (dump.kind === KIND.zoneXml && xml) {
        const zone = xml.parseZoneXml(dump.text, fileName(dump.origin));
        permanent.zones.set(zone.name, zone);
        permanent.read = true;
      } else if (dump.kind === KIND.ipsetXml && xml) {
        const ipset = xml.parseIpsetXml(dump.text, fileName(dump.origin));
        permanent.ipsets.set(ipset.name, ipset);
        permanent.read = true;
      }
    } catch (error) {
      if (error instanceof FirewalldParseError) unparsable(dump.origin, error);
      throw error;
    }
  }
  return { runtime, permanent };
}

/**
 * Zone kubewall and the ipsets kubewall-* as one string, lists sorted
 * (firewalld lists rich rules in no particular order): when runtime and
 * permanent give the same key, comparing them semantically is skipped, which
 * matters for an ipset of tens of thousands of entries.
 */
function ownStateKey(state: FirewalldState): string {
  const zone = state.zones.get(FIREWALLD_ZONE);
  const ipsets = [...state.ipsets.values()]
    .filter((ipset) => ipset.name.startsWith(FIREWALLD_IPSET_PREFIX))
    .map((ipset) => ({ ...ipset, entries: [...ipset.entries].sort() }))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return JSON.stringify({ zone: zone && { ...zone, richRules: zone.richRules.map((r) => r.text).sort() }, ipsets });
}

function normalize(state: FirewalldState, origin: string) {
  try {
    return normalizeFirewalld(state);
  } catch (error) {
    if (error instanceof FirewalldParseError) unparsable(origin, error);
    throw error;
  }
}

/** Warnings about how firewalld itself runs: its backend and the iptables flush on reload. */
function daemonWarnings(raw: RawHostState): HostWarning[] {
  const warnings: HostWarning[] = [];
  const conf = raw.dumps.find((d) => d.kind === KIND.conf)?.text;
  const backend = conf === undefined ? undefined : /^\s*FirewallBackend\s*=\s*(\S+)/m.exec(conf)?.[1];
  if (backend === 'iptables') {
    warnings.push({ code: 'firewalld-iptables-backend', message: `${FIREWALLD_CONF} sets FirewallBackend=iptables: every reload flushes all iptables chains, kube-proxy's included; kubewall's script refuses to apply there` });
  }
  const version = raw.dumps.find((d) => d.kind === KIND.version)?.text.trim();
  const saves = raw.dumps.filter((d) => d.kind === KIND.iptablesSave);
  const withRules = saves.map((d) => ({ name: d.origin.replace(/^.*: /, ''), rules: countSaveRules(d.text).rules })).filter((d) => d.rules > 0);
  if (backend !== 'iptables' && withRules.length > 0 && flushesIptables(version)) {
    const rules = withRules.reduce((n, d) => n + d.rules, 0);
    warnings.push({
      code: 'firewalld-flushes-iptables',
      message: `firewalld ${version ?? '(version unknown)'} flushes every iptables table on reload (before 2.0), and ${withRules.map((d) => d.name).join(' and ')} show${withRules.length === 1 ? 's' : ''} ${rules} rule${rules === 1 ? '' : 's'} (kube-proxy's, a CNI's?): applying reloads firewalld, so kubewall's script refuses unless KUBEWALL_ALLOW_IPTABLES_FLUSH=yes`,
    });
  }
  return warnings;
}

/**
 * Writes gathered dumps in the `--from` format: each after a `==> NAME <==`
 * line, NAME being the command or file it came from. Reading it back gives
 * the same state (the capture script saves fixtures this way).
 */
export function formatFirewalldDump(raw: RawHostState): string {
  return raw.dumps
    .filter((dump) => dump.kind !== KIND.ignored)
    .map((dump) => `==> ${dump.origin} <==\n${dump.text.endsWith('\n') ? dump.text : `${dump.text}\n`}`)
    .join('\n');
}

/**
 * Reads firewalld's configuration, read-only, through firewall-cmd: the
 * runtime configuration is compared (it is what filters now), the permanent
 * one is read too and any difference is reported as a warning. Only zone
 * kubewall and the ipsets kubewall-* become rules and sets; other zones only
 * feed warnings. `--from` takes the permanent XML files or firewall-cmd's
 * output, each after a `==> NAME <==` line.
 */
export const firewalldHostReader: HostReader = {
  commands: [
    'firewall-cmd [--permanent] --list-all-zones',
    'firewall-cmd [--permanent] --get-ipsets',
    `firewall-cmd [--permanent] --info-ipset=${FIREWALLD_IPSET_PREFIX}*`,
    'firewall-cmd --version',
    `cat ${FIREWALLD_CONF}`,
    'ip{,6}tables-save',
    'ufw status',
    'cat /proc/net/ip{,6}_tables_names',
    'ip{,6}tables-legacy-save',
  ],
  savedFormat: `firewalld's XML files or firewall-cmd output, each after a "==> NAME <==" line: ${FIREWALLD_SAVE_XML}`,
  async gather(runner) {
    // The first call tells a stopped firewalld (exit 252, or no D-Bus) from a missing or refused firewall-cmd.
    const zones = await runner.run('firewall-cmd', ['--list-all-zones']);
    if (zones.status === 'exited' && zones.exitCode !== 0 && !isPermissionFailure(zones) && /not running|DBUS_ERROR|dbus/i.test(`${zones.stdout} ${zones.stderr}`)) {
      throw notRunning(zones);
    }
    const dumps: HostDump[] = [{ origin: command(['--list-all-zones']), kind: KIND.runtime, text: requireOutput(zones, { command: command(['--list-all-zones']), packageName: PACKAGE }) }];
    // Each firewall-cmd is a Python start and a D-Bus round trip (0.3-1 s): the rest run side by side.
    const [permanentZones, ipsets, permanentIpsets, version, conf] = await Promise.all([
      firewallCmd(runner, ['--permanent', '--list-all-zones'], KIND.permanent),
      firewallCmd(runner, ['--get-ipsets'], KIND.ignored),
      firewallCmd(runner, ['--permanent', '--get-ipsets'], KIND.ignored),
      optional(runner, 'firewall-cmd', ['--version'], KIND.version),
      optional(runner, 'cat', [FIREWALLD_CONF], KIND.conf, FIREWALLD_CONF),
    ]);
    dumps.push(
      permanentZones,
      ...(await mapLimited(
        [...ownIpsets(ipsets.text).map((name) => [`--info-ipset=${name}`]), ...ownIpsets(permanentIpsets.text).map((name) => ['--permanent', `--info-ipset=${name}`])],
        (args) => firewallCmd(runner, args, args[0] === '--permanent' ? KIND.permanent : KIND.runtime),
      )),
      ...version,
      ...conf,
    );
    if (flushesIptables(version[0]?.text)) {
      for (const save of ['iptables-save', 'ip6tables-save']) dumps.push(...(await optional(runner, save, [], KIND.iptablesSave)));
    }
    const probes = await gatherCommonProbes(runner, { firewalld: false });
    return { source: 'live', dumps: [...dumps, ...probes.dumps], notes: probes.notes };
  },
  fromSaved(text, origin): RawHostState {
    const dumps = splitSections(text).map((section) => classifySection(section.name, section.text, origin));
    return { source: origin, dumps, notes: [] };
  },
  async parse(raw): Promise<HostState> {
    const { runtime, permanent } = await readStates(raw);
    if (!runtime.read && !permanent.read) {
      throw new KubewallError('HOST_READ', `${raw.source}: no firewalld configuration in it (no zones/*.xml, ipsets/*.xml or firewall-cmd --list-all-zones output): ${FIREWALLD_SAVE_XML}`);
    }
    const compared = runtime.read ? runtime : permanent;
    const origin = raw.source === 'live' ? (runtime.read ? 'firewall-cmd --list-all-zones' : 'firewall-cmd --permanent --list-all-zones') : raw.source;
    const { ruleset, warnings } = normalize(compared, origin);
    const all: HostWarning[] = [...warnings];
    if (runtime.read && permanent.read && ownStateKey(runtime) !== ownStateKey(permanent)) {
      const difference = describeRuntimePermanentDifference(diffRulesets(ruleset, normalize(permanent, origin).ruleset));
      if (difference) all.push(difference);
    } else if (!runtime.read) {
      all.push({ code: 'firewalld-permanent-only', message: `${raw.source} holds only firewalld's permanent configuration: it is compared as if loaded; runtime-only changes (made without --permanent) cannot be seen` });
    }
    all.push(...daemonWarnings(raw));
    for (const warning of warningsFromProbes(raw)) if (!all.some((w) => w.code === warning.code)) all.push(warning);
    return { ruleset, warnings: all };
  },
  normalizePlan(plan, capabilities): NormalizedRuleset {
    const desired = normalizePlan(plan, capabilities, FIREWALLD_SCOPE);
    const ipsets = new Map(plan.sets.map((set) => [set.name, ipsetName(set.name)]));
    return {
      ...desired,
      chains: desired.chains.map((chain) => ({ ...chain, details: DESIRED_ZONE_DETAILS })),
      // firewalld accepts loopback and established traffic and drops invalid packets itself, before any zone.
      rules: desired.rules
        .filter((rule) => rule.match.kind !== 'loopback' && rule.match.kind !== 'established' && rule.match.kind !== 'invalid')
        // firewalld names no MLD icmptype: the render accepts ICMPv6 from fe80::/10 as a protocol (linkLocalItems).
        .map((rule): NormalizedRule => (rule.source === LINK_LOCAL_V6 && rule.match.kind === 'icmp' ? { ...rule, match: { kind: 'link-local', id: 'mld' } } : rule))
        .map((rule) => (rule.source === null ? rule : { ...rule, source: ipsets.get(rule.source) ?? rule.source })),
      sets: desired.sets.map((set) => ({ ...set, name: ipsets.get(set.name) ?? set.name })),
    };
  },
};
