import { KubewallError } from '../errors.js';
import type { CommandOutcome, CommandRunner } from '../host/types.js';
import { parseNftTables, parseProcTableNames } from './parse-snapshot.js';

/** The shape of `kubewall detect --capture`: what each read-only command answered, replayable with --from. */
export const DETECT_CAPTURE_API_VERSION = 'kubewall.dev/detect-capture/v1';

export interface CapturedOutcome {
  /** The command line as run: `ip -d -j addr show`. */
  readonly command: string;
  readonly outcome: CommandOutcome;
}

export interface DetectCapture {
  readonly apiVersion: typeof DETECT_CAPTURE_API_VERSION;
  readonly outputs: readonly CapturedOutcome[];
}

/**
 * The probes, cheapest first. Each answers one question without dumping a
 * ruleset: on a node with thousands of Services `iptables-save -t nat` takes
 * seconds, while listing one rule of KUBE-SERVICES or the table names does not.
 */
export const DETECT_COMMANDS = {
  addresses: ['ip', '-d', '-j', 'addr', 'show'],
  sockets: ['ss', '-H', '-lntuwp'],
  nftTables: ['nft', '-j', 'list', 'tables'],
  legacyV4: ['cat', '/proc/net/ip_tables_names'],
  legacyV6: ['cat', '/proc/net/ip6_tables_names'],
} as const;

/** The chain kube-proxy creates in the nat table in iptables (and ipvs) mode. */
export const KUBE_PROXY_NAT_CHAIN = 'KUBE-SERVICES';

/** `iptables-nft -t nat -S KUBE-SERVICES 1`: prints at most one rule, exit 0 iff the chain exists. */
export function chainProbe(tool: string): string[] {
  return [tool, '-t', 'nat', '-S', KUBE_PROXY_NAT_CHAIN, '1'];
}

/**
 * Runs the read-only probes through `runner` (the CLI's is wrapped in
 * `guardReadOnly`). The iptables chain probes run only for a nat table that
 * exists: asking iptables-legacy about a table that is not loaded would load
 * its module and create it.
 */
export async function gatherDetectCapture(runner: CommandRunner): Promise<DetectCapture> {
  const outputs: CapturedOutcome[] = [];
  const run = async (argv: readonly string[]): Promise<CommandOutcome> => {
    const outcome = await runner.run(argv[0]!, argv.slice(1));
    outputs.push({ command: argv.join(' '), outcome });
    return outcome;
  };
  const stdoutOf = (outcome: CommandOutcome) => (outcome.status === 'exited' && outcome.exitCode === 0 ? outcome.stdout : null);
  await run(DETECT_COMMANDS.addresses);
  await run(DETECT_COMMANDS.sockets);
  const nftText = stdoutOf(await run(DETECT_COMMANDS.nftTables));
  const nftTables = nftText === null ? [] : parseNftTables(nftText, 'nft -j list tables');
  const v4 = stdoutOf(await run(DETECT_COMMANDS.legacyV4));
  const v6 = stdoutOf(await run(DETECT_COMMANDS.legacyV6));
  const legacy = [...parseProcTableNames(v4 ?? '', 'ip'), ...parseProcTableNames(v6 ?? '', 'ip6')];
  for (const family of ['ip', 'ip6'] as const) {
    const prefix = family === 'ip' ? 'iptables' : 'ip6tables';
    if (nftTables.includes(`${family} nat`)) await run(chainProbe(`${prefix}-nft`));
    if (legacy.includes(`${family} nat`)) await run(chainProbe(`${prefix}-legacy`));
  }
  return { apiVersion: DETECT_CAPTURE_API_VERSION, outputs };
}

/** Reads a saved capture (`kubewall detect --capture > node.json`); `origin` names it in errors. */
export function parseDetectCapture(text: string, origin: string): DetectCapture {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new KubewallError('HOST_READ', `${origin}: not JSON (expected the output of kubewall detect --capture): ${(error as Error).message}`, { cause: error });
  }
  const record = value as { apiVersion?: unknown; outputs?: unknown };
  if (typeof value !== 'object' || value === null || record.apiVersion !== DETECT_CAPTURE_API_VERSION) {
    throw new KubewallError('HOST_READ', `${origin}: apiVersion: ${JSON.stringify(record?.apiVersion)} is not a detect capture (expected ${JSON.stringify(DETECT_CAPTURE_API_VERSION)}, from kubewall detect --capture)`);
  }
  if (!Array.isArray(record.outputs)) throw new KubewallError('HOST_READ', `${origin}: outputs: expected a list of {command, outcome}`);
  record.outputs.forEach((item: unknown, index: number) => {
    const entry = item as { command?: unknown; outcome?: { status?: unknown } };
    const status = entry?.outcome?.status;
    if (typeof entry?.command !== 'string' || !['exited', 'not-found', 'timed-out'].includes(String(status))) {
      throw new KubewallError('HOST_READ', `${origin}: outputs[${index}]: expected {command: string, outcome: {status: exited|not-found|timed-out, ...}}`);
    }
  });
  return value as DetectCapture;
}
