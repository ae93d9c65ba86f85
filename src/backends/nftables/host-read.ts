import { normalizePlan } from '../../diff/normalize-plan.js';
import type { HostWarning, NormalizedRule, NormalizedRuleset } from '../../diff/types.js';
import { FAMILIES } from '../../model.js';
import { KubewallError } from '../../errors.js';
import { requireOutput } from '../../host/describe-failure.js';
import { gatherCommonProbes, warningsFromProbes } from '../../host/probes.js';
import type { CommandOutcome, CommandRunner, HostReader, RawHostState } from '../../host/types.js';
import { savedDumpFileSize, withSavedDumpFile } from '../../host/saved-dump.js';
import { selectNftItemsFromDump } from './json-items.js';
import { parseNftRuleset, SPARSE_DUMP_BYTES } from './parse.js';
import { NFT_BEFORE_DNAT_PRIORITY, NFT_TABLE } from './view.js';

const LIST_OURS = ['-j', 'list', 'table', NFT_TABLE.family, NFT_TABLE.name] as const;
const LIST_CHAINS = ['-j', 'list', 'chains'] as const;
const NFT_JSON = 'nft-json';
/** A note naming a base chain that could shadow kubewall's but was not listed; parse turns it into a warning. */
const UNREAD_CHAIN_NOTE = 'nft-unread-chain: ';
/** Hooks where another table's drop defeats kubewall's accepts (as in parse.ts). */
const SHADOWING_HOOKS = new Set(['input', 'prerouting']);
const NFT_FAMILIES = new Set(['ip', 'ip6', 'inet', 'arp', 'bridge', 'netdev']);
/**
 * Names diff passes to `nft list chain`: nft joins its arguments into one
 * command line, so a name with spaces or `;` could smuggle in a second
 * command. The read-only guard holds the same rule (src/host/read-only.ts).
 */
export const NFT_SAFE_NAME = /^[A-Za-z_][\w.-]*$/;

type JsonObject = Record<string, unknown>;

function nftItems(text: string, origin: string): JsonObject[] {
  try {
    const doc = JSON.parse(text) as unknown;
    const items = (doc as { nftables?: unknown } | null)?.nftables;
    if (!Array.isArray(items)) throw new SyntaxError('expected {"nftables": [...]}');
    return items.filter((item): item is JsonObject => typeof item === 'object' && item !== null && !Array.isArray(item));
  } catch (error) {
    throw new KubewallError('HOST_READ', `${origin}: cannot parse the nftables ruleset: ${(error as Error).message}`, { cause: error });
  }
}

const isOurs = (body: JsonObject) => body['family'] === NFT_TABLE.family && (body['table'] ?? body['name']) === NFT_TABLE.name;

/**
 * What a live diff reads, instead of `nft -j list ruleset` (39 s and 60 MB
 * on a node with kube-proxy's 5,000 Services): kubewall's own table; the
 * list of chains (no rules), for the tables that exist, ufw's chains and
 * the base chains of other tables on the input and prerouting hooks; and
 * the rules of just those base chains, whose drops can defeat kubewall's
 * accepts. Put together as one `{"nftables": [...]}` document, so the
 * parser reads a live host and a saved dump alike. Commands run in
 * parallel: each waits mostly on the kernel.
 */
async function gatherOwnAndShadowing(runner: CommandRunner): Promise<{ text: string; origin: string; notes: string[] }> {
  const [ours, chains] = await Promise.all([runner.run('nft', LIST_OURS), runner.run('nft', LIST_CHAINS)]);
  const oursCommand = `nft ${LIST_OURS.join(' ')}`;
  const missing = (outcome: CommandOutcome) => outcome.status === 'exited' && outcome.exitCode !== 0 && /No such file or directory/.test(outcome.stderr);
  const oursItems = missing(ours) ? [] : nftItems(requireOutput(ours, { command: oursCommand, packageName: 'nftables' }), oursCommand);
  const chainsCommand = `nft ${LIST_CHAINS.join(' ')}`;
  const chainItems = nftItems(requireOutput(chains, { command: chainsCommand, packageName: 'nftables' }), chainsCommand);
  const items: JsonObject[] = [...oursItems];
  const tables = new Map<string, JsonObject>();
  const shadowing: JsonObject[] = [];
  for (const item of chainItems) {
    const chain = item['chain'] as JsonObject | undefined;
    if (typeof chain !== 'object' || chain === null || isOurs(chain)) continue;
    tables.set(`${String(chain['family'])} ${String(chain['table'])}`, { table: { family: chain['family'], name: chain['table'] } });
    const base = chain['type'] === 'filter' && typeof chain['hook'] === 'string' && SHADOWING_HOOKS.has(chain['hook']);
    if (base) shadowing.push(chain);
    if (base || /^ufw6?-/.test(String(chain['name']))) items.push(item);
  }
  items.push(...tables.values());
  const notes: string[] = [];
  const origins = [oursCommand, chainsCommand];
  const listings = await Promise.all(
    shadowing.map(async (chain) => {
      const [family, table, name] = [String(chain['family']), String(chain['table']), String(chain['name'])];
      const where = `table ${family} ${table} chain ${name} (hook ${String(chain['hook'])})`;
      if (!NFT_FAMILIES.has(family) || !NFT_SAFE_NAME.test(table) || !NFT_SAFE_NAME.test(name)) {
        notes.push(`${UNREAD_CHAIN_NOTE}${where}: kubewall does not pass such a name to nft`);
        return [];
      }
      const args = ['-j', 'list', 'chain', family, table, name];
      const outcome = await runner.run('nft', args);
      if (outcome.status !== 'exited' || outcome.exitCode !== 0) {
        notes.push(`${UNREAD_CHAIN_NOTE}${where}: nft ${args.join(' ')} failed`);
        return [];
      }
      origins.push(`nft ${args.join(' ')}`);
      return nftItems(outcome.stdout, `nft ${args.join(' ')}`).filter((item) => 'rule' in item);
    }),
  );
  for (const rules of listings) items.push(...rules);
  // A fake or future nft may answer with more than asked: each item once, in the order found.
  const seen = new Set<string>();
  const unique = items.filter((item) => {
    const key = JSON.stringify(item);
    return seen.has(key) ? false : (seen.add(key), true);
  });
  const metainfo = unique.filter((item) => 'metainfo' in item).slice(0, 1);
  const rest = unique.filter((item) => !('metainfo' in item));
  return { text: JSON.stringify({ nftables: [...metainfo, ...rest] }), origin: origins.join(', '), notes };
}

/** The hook details the render gives each chain (see view.ts), compared with the host's. */
const CHAIN_DETAILS: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  input: { type: 'filter', hook: 'input', priority: '0' },
  'before-dnat': { type: 'filter', hook: 'prerouting', priority: String(NFT_BEFORE_DNAT_PRIORITY) },
};

/**
 * Reads the nftables ruleset, read-only: kubewall's table and the base
 * chains that could shadow it (see gatherOwnAndShadowing), plus the status
 * probes for other firewall managers. Only table inet kubewall is
 * compared; the rest only feeds warnings.
 */
export const nftablesHostReader = {
  commands: [
    `nft ${LIST_OURS.join(' ')}`,
    `nft ${LIST_CHAINS.join(' ')}`,
    'nft -j list chain FAMILY TABLE CHAIN (other tables\' base chains on the input and prerouting hooks)',
    'firewall-cmd --state',
    'ufw status',
    'cat /proc/net/ip{,6}_tables_names',
    'ip{,6}tables-legacy-save -t TABLE (each loaded table but nat)',
  ],
  savedFormat: 'the output of nft -j list ruleset',
  async gather(runner) {
    const [read, probes] = await Promise.all([gatherOwnAndShadowing(runner), gatherCommonProbes(runner)]);
    return { source: 'live', dumps: [{ origin: read.origin, kind: NFT_JSON, text: read.text }, ...probes.dumps], notes: [...read.notes, ...probes.notes] };
  },
  fromSaved(text, origin): RawHostState {
    return { source: origin, dumps: [{ origin, kind: NFT_JSON, text }], notes: [] };
  },
  fromSavedFile(path, origin): RawHostState | undefined {
    // Small dumps and pipes are read whole; a large file through a window, keeping only the items the parse reads.
    const size = savedDumpFileSize(path);
    if (size === undefined || size <= SPARSE_DUMP_BYTES) return undefined;
    const text = withSavedDumpFile(path, (read, fileSize) => selectNftItemsFromDump(read, fileSize));
    return text === undefined ? undefined : { source: origin, dumps: [{ origin, kind: NFT_JSON, text }], notes: [] };
  },
  parse(raw) {
    const dump = raw.dumps.find((d) => d.kind === NFT_JSON);
    if (!dump) throw new Error('nftables host reader: no nft -j dump gathered');
    const { ruleset, warnings } = parseNftRuleset(dump.text, dump.origin);
    const all: HostWarning[] = [...warnings];
    for (const warning of warningsFromProbes(raw)) if (!all.some((w) => w.code === warning.code)) all.push(warning);
    for (const note of raw.notes.filter((n) => n.startsWith(UNREAD_CHAIN_NOTE))) {
      all.push({ code: 'not-compared', message: `${note.slice(UNREAD_CHAIN_NOTE.length)}: its drops were not checked` });
    }
    return { ruleset, warnings: all };
  },
  normalizePlan(plan, capabilities): NormalizedRuleset {
    const desired = normalizePlan(plan, capabilities, `table ${NFT_TABLE.family} ${NFT_TABLE.name}`);
    // The render ends the input chain with an explicit drop and gives every base chain policy
    // accept (see view.ts: a policy drop dropped new connections while `nft -f` replaced the
    // table), so the plan's input policy is that rule here, and a host still carrying
    // `policy drop` (kubewall before this change) diffs as a policy change.
    const lastInput = desired.rules.map((r) => r.chain).lastIndexOf('input');
    const finalDrop: NormalizedRule[] = FAMILIES.map((family) => ({ chain: 'input', family, source: null, match: { kind: 'all' }, verdict: plan.baseline.inputPolicy, origin: 'baseline: explicit final drop' }));
    return {
      ...desired,
      chains: desired.chains.map((chain) => ({ ...chain, policy: 'accept', details: CHAIN_DETAILS[chain.name] ?? {} })),
      rules: [...desired.rules.slice(0, lastInput + 1), ...finalDrop, ...desired.rules.slice(lastInput + 1)],
    };
  },
} satisfies HostReader;
