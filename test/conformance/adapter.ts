import type { ChildProcess } from 'node:child_process';
import type { Family, Plan, Role } from '../../src/index.js';

/**
 * The contract between the conformance harness and one firewall backend.
 *
 * The harness builds the network-namespace topology, installs kube-proxy-like
 * state in the node namespace, renders kubewall's output with
 * `kubewall render --backend <backend> --out-dir DIR`, and then asks the
 * adapter to apply that output inside the node namespace. Everything else
 * (listeners, probes, expected cells, diffs) is the harness's job, so a new
 * backend plugs in by writing one object like `nftablesAdapter`
 * (`test/conformance/adapters/nftables.ts`) and listing it in
 * `test/conformance/adapters/index.ts`.
 *
 * Rules for adapters: every command that changes state runs through
 * `ctx.exec` / `ctx.spawn` (inside the node namespace, never on the host);
 * `apply` must be safe to call many times in a row (idempotency and the
 * atomic-replacement loop call it repeatedly).
 */
export interface ConformanceAdapter {
  /** The backend's registry name, as passed to `kubewall render --backend`. */
  readonly backend: string;
  /**
   * Commands that must be on PATH (e.g. `['nft']`, `['iptables-nft-restore']`,
   * `['firewalld', 'dbus-daemon']`). When one is missing the suite skips with
   * a message (and fails under CI=true).
   */
  readonly tools: readonly string[];
  /** Extra arguments for `kubewall render` (e.g. `['--iptables-variant', 'nft']`). */
  readonly renderArgs?: readonly string[];
  /**
   * Runs once per node namespace, after the kube-proxy-like state is in and
   * before the first `apply`: start a daemon (firewalld on a private D-Bus),
   * write `/etc/netns/<ns>/...` (ufw). Anything started with `ctx.spawn` is
   * killed by the harness; files under `ctx.etcDir` are removed by it.
   */
  setup?(ctx: AdapterContext): Promise<void>;
  /**
   * Applies the rendered output inside `ctx.netns`, replacing whatever an
   * earlier `apply` put there. Throw (with the tool's stderr) when it fails.
   */
  apply(ctx: AdapterContext, output: RenderedOutput): Promise<void>;
  /**
   * The live rules, normalized (no packet/byte counters, no timestamps), split
   * into what the backend owns and everything else. `own` proves idempotency
   * (apply twice = apply once) and must not be empty after `apply`; `foreign`
   * proves coexistence (identical before and after kubewall). The harness
   * separately compares the kube-proxy-like iptables nat state and its own
   * nftables table, so an adapter cannot hide a change there.
   */
  snapshot(ctx: AdapterContext): Promise<LiveRules>;
  /** Runs before the namespace is deleted, also after a failure; must not throw on half-set-up state. */
  teardown?(ctx: AdapterContext): Promise<void>;
  /**
   * What this backend documents it cannot enforce. A mismatch in a cell a gap
   * covers is printed as a known gap instead of failing; a gap that no cell
   * needed is printed too, so stale entries get noticed. Keep each reason
   * the same sentence the backend's README/capabilities give.
   */
  readonly knownGaps?: readonly KnownGap[];
}

/** What the harness hands to every adapter call. */
export interface AdapterContext {
  /** The node namespace under test (`kw-node-...`). */
  readonly netns: string;
  /** Interfaces inside the node namespace. */
  readonly interfaces: { readonly lan: string; readonly pod: string };
  /** The node's own addresses (on `interfaces.lan`). */
  readonly nodeAddresses: Readonly<Record<Family, string>>;
  /** A scratch folder on the host for this node namespace; deleted afterwards. */
  readonly workDir: string;
  /**
   * `/etc/netns/<netns>/`: `ip netns exec` bind-mounts files here over `/etc`
   * (ufw, firewalld configuration). Created on first use by the adapter;
   * removed by the harness.
   */
  readonly etcDir: string;
  /** Runs a command inside the node namespace; rejects on a non-zero exit unless `reject: false`. */
  exec(command: string, args: readonly string[], options?: ExecOptions): Promise<ExecResult>;
  /** Starts a long-running process inside the node namespace; the harness kills it in its finally path. */
  spawn(command: string, args: readonly string[], options?: { readonly env?: Readonly<Record<string, string>> }): ChildProcess;
  /** One line into the test output, prefixed with the backend name. */
  log(message: string): void;
}

export interface ExecOptions {
  readonly input?: string;
  readonly env?: Readonly<Record<string, string>>;
  readonly reject?: boolean;
  readonly timeoutMs?: number;
}

export interface ExecResult {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** `kubewall render --out-dir` for one (cluster, roles, backend). */
export interface RenderedOutput {
  /** The folder every rendered file was written to. */
  readonly dir: string;
  /** The first, self-contained file (what `--out` writes). */
  readonly main: RenderedOutputFile;
  /** Every file, the main one first, as `--out-dir` wrote them. */
  readonly files: readonly RenderedOutputFile[];
  /** The plan the output was rendered from (`kubewall plan --format json`). */
  readonly plan: Plan;
}

export interface RenderedOutputFile {
  /** Relative name, as the backend gave it (`kubewall.nft`, `zones/kubewall.xml`). */
  readonly name: string;
  /** Absolute path on the host. */
  readonly path: string;
  readonly content: string;
}

/** The live ruleset split by ownership; both parts normalized text. */
export interface LiveRules {
  readonly own: string;
  readonly foreign: string;
}

/** The harness's assertions, by name (also used in test titles and gap lists). */
export const ASSERTIONS = ['matrix', 'nodeport-dnat', 'coexistence', 'idempotency', 'atomic-replacement'] as const;
export type AssertionName = (typeof ASSERTIONS)[number];

/** The peers the harness places; `self` is the node itself probing its own address. */
export const PEERS = ['self', 'control-plane', 'worker', 'etcd', 'load-balancer', 'admin', 'pod', 'outsider'] as const;
export type PeerName = (typeof PEERS)[number];

/**
 * The protocols the harness probes with sockets. Plan rules for other IP
 * protocols (if the catalogue grows them) have no port to probe; the harness
 * lists them in a note instead.
 */
export type ProbeProtocol = 'tcp' | 'udp';

/** One (peer, port, protocol, family) cell of the reachability matrix. */
export interface Cell {
  readonly peer: PeerName;
  readonly port: number;
  readonly protocol: ProbeProtocol;
  readonly family: Family;
  /** True for the NodePort that kube-proxy-like state DNATs to the pod. */
  readonly dnat: boolean;
}

/** Where a cell is checked: which cluster file (null = embedded default) and roles. */
export interface CellScope {
  readonly cluster: string | null;
  readonly roles: readonly Role[];
  readonly plan: Plan;
}

/** One documented thing a backend cannot enforce. */
export interface KnownGap {
  /** One line for humans, e.g. `iptables: NodePort peers are not filtered before DNAT (no prerouting filter)`. */
  readonly reason: string;
  /** The assertion it excuses. */
  readonly assertion: AssertionName;
  /** For `matrix` and `nodeport-dnat`: the cells it covers; omitted = the whole assertion. */
  readonly cells?: (cell: Cell, scope: CellScope) => boolean;
}
