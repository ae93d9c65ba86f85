import type { CommandOutcome } from '../host/types.js';

/**
 * The detect probes and the capture format, below both gather.ts (which
 * runs them) and parse-snapshot.ts (which reads their answers).
 */

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
