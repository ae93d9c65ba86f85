import type { NormalizedRuleset, HostWarning } from '../diff/types.js';
import type { Plan } from '../plan/types.js';
import type { BackendCapabilities, BackendOptions, Family } from '../model.js';

/** How a command ended: the runner never throws for these, so readers decide what each means. */
export type CommandOutcome =
  | { readonly status: 'exited'; readonly exitCode: number; readonly stdout: string; readonly stderr: string }
  | { readonly status: 'not-found' }
  | { readonly status: 'timed-out'; readonly timeoutMs: number };

/**
 * Runs one read-only command. The CLI passes the execa runner wrapped in
 * `guardReadOnly`; tests pass a fake that records and answers.
 */
export interface CommandRunner {
  run(command: string, args: readonly string[]): Promise<CommandOutcome>;
}

/** One raw dump as the host (or a saved file) gave it. */
export interface HostDump {
  /** The command that produced it (`nft -j list ruleset`), or the file it was read from. */
  readonly origin: string;
  /** What the text is, for the parser: `nft-json`, `iptables-save`, `firewall-cmd-state`, ... */
  readonly kind: string;
  readonly text: string;
}

/** Everything a host reader gathered, before parsing. */
export interface RawHostState {
  /** `live` or the file name given to --from (`-` for stdin). */
  readonly source: string;
  readonly dumps: readonly HostDump[];
  /** Facts about other firewall managers: `firewalld-state: running`, `ufw-status: active`, ... */
  readonly notes: readonly string[];
}

/** What a host reader's parser returns: kubewall's own rules, normalized, and what would defeat them. */
export interface HostState {
  readonly ruleset: NormalizedRuleset;
  readonly warnings: readonly HostWarning[];
  /**
   * What the dump did not hold (a saved iptables-save without ip6tables-save
   * or ipset save, a ufw dump without its status): left out of the desired
   * side too, so it is not reported as missing. The parser warns about it.
   */
  readonly unread?: HostUnread;
}

export interface HostUnread {
  /** Rules, sets and chain details of these families are not compared. */
  readonly families?: readonly Family[];
  /** No set contents were read: sets are not compared. */
  readonly sets?: boolean;
  /** Chain detail properties (`ufw`, `jump from INPUT (ipv6)`) that were not read. */
  readonly chainDetails?: readonly string[];
}

/**
 * The host-reading part of a backend, used by `kubewall diff`. Implement it
 * in `src/backends/<name>/host-read.ts` and set `hostReader` on the backend.
 *
 * Rules for implementers:
 * - `gather` runs only list/save/status commands through the runner (the CLI
 *   wraps it in `guardReadOnly`, which refuses anything else; add a new
 *   read-only command to `READ_ONLY_COMMANDS` in src/host/read-only.ts).
 * - `gather` turns a missing tool, a permission error or a timeout of the
 *   main dump into a `KubewallError('HOST_READ', ...)` with `describeFailure`;
 *   optional probes (another firewall manager's status) are skipped instead.
 * - `parse` is pure: only kubewall's own table or chains become rules; the
 *   rest of the host only feeds `warnings`.
 */
export interface HostReader {
  /** The read-only commands `gather` runs, for --help and docs. */
  readonly commands: readonly string[];
  /** What `--from FILE` expects, for --help: `the output of nft -j list ruleset`. */
  readonly savedFormat: string;
  /** `options`: the backend options of the CLI edge (iptables: `iptablesVariant`, else detected through the runner). */
  gather(runner: CommandRunner, options?: BackendOptions): Promise<RawHostState>;
  /** Wraps a saved dump (`--from FILE` or stdin) as if gathered. */
  fromSaved(text: string, origin: string): RawHostState;
  /**
   * Optional: reads only what `parse` needs from a saved dump's file (a
   * kube-proxy host's nft dump is 60 MB), or undefined to have it read whole
   * and given to `fromSaved`. Must reach the same parse as `fromSaved`.
   */
  fromSavedFile?(path: string, origin: string): RawHostState | undefined;
  /**
   * Pure: raw dumps → normalized rules of kubewall's own, plus warnings.
   * Throws (or rejects with) HOST_READ on unparsable input. May return a
   * promise, so that a parser library is loaded only when a dump needs it.
   */
  parse(raw: RawHostState): HostState | Promise<HostState>;
  /**
   * The desired side, when it needs backend details (e.g. nftables hook
   * priorities). Defaults to `normalizePlan(plan, capabilities)`.
   */
  normalizePlan?(plan: Plan, capabilities: BackendCapabilities): NormalizedRuleset;
}
