import { KubewallError } from '../errors.js';
import type { CommandOutcome, CommandRunner } from '../host/types.js';
import { chainProbe, DETECT_CAPTURE_API_VERSION, DETECT_COMMANDS, type CapturedOutcome, type DetectCapture } from './commands.js';
import { parseNftTables, parseProcTableNames } from './parse-snapshot.js';

export { chainProbe, DETECT_CAPTURE_API_VERSION, DETECT_COMMANDS, KUBE_PROXY_NAT_CHAIN, type CapturedOutcome, type DetectCapture } from './commands.js';

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
