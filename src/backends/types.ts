import type { WriteRunner } from '../apply/write-runner.js';
import type { AuditReadResult } from '../audit/types.js';
import type { CommandRunner, HostReader } from '../host/types.js';
import type { BackendCapabilities, BackendOptions } from '../model.js';
import type { Plan } from '../plan/types.js';
import type { TemplateEngine } from '../render/template-engine.js';

export type { BackendCapabilities, BackendOptions } from '../model.js';

/** One file of a rendering; most backends produce exactly one. */
export interface RenderedFile {
  /** A relative file name, may contain folders (e.g. `kubewall.nft`, `zones/kubewall.xml`). */
  readonly name: string;
  readonly content: string;
  /** File mode for --out/--out-dir; scripts are 0o755. */
  readonly mode?: number;
}

/**
 * A file whose content is rendered when first read. The main file is what
 * `render` prints; a backend's other files (iptables' restore files,
 * firewalld's XML) are needed only with --out-dir or a payload, and for a
 * fleet-sized cluster each repeats megabytes of addresses.
 */
export function lazyRenderedFile(name: string, mode: number, render: () => string): RenderedFile {
  let content: string | undefined;
  return {
    name,
    mode,
    get content() {
      content ??= render();
      return content;
    },
  };
}

export interface RenderResult {
  readonly backend: string;
  readonly files: readonly RenderedFile[];
  /** Harmless gaps and notes; also written into the output header. */
  readonly warnings: readonly string[];
}

export interface BackendContext {
  readonly templates: TemplateEngine;
  readonly options: BackendOptions;
  /** Warnings from the capability check, for the header. */
  readonly warnings: readonly string[];
}

/** kubewall.service as a backend wants it; argv words, `%s` standing for the installed file. */
export interface BootUnit {
  /** ExecStart (and ExecReload): by default the backend's apply command. Absolute: systemd runs it without a shell. */
  readonly start?: readonly string[];
  /** ExecStop: what `systemctl stop kubewall` (and shutdown) runs; none: stopping leaves the rules. */
  readonly stop?: readonly string[];
  /** Units whose start must come first (a distribution's firewall service that loads its own file). */
  readonly after?: readonly string[];
}

/**
 * One step that makes the rules survive a reboot, as data the fleet formats
 * (ansible, cloud-init, script) lay out without knowing the backend:
 * `line` ensures a line in a file, `remove-line` removes exactly one line an
 * earlier kubewall version added (nothing else in the file changes), `link`
 * a symlink (how `systemctl enable` records a unit, so it works without a
 * running systemd), `boot-unit` installs kubewall.service running the apply
 * command at boot, and `native` says the tool keeps its own configuration.
 */
export type PersistStep =
  | { readonly kind: 'line'; readonly file: string; readonly line: string; readonly why: string }
  | { readonly kind: 'remove-line'; readonly file: string; readonly line: string; readonly why: string }
  | { readonly kind: 'link'; readonly path: string; readonly target: string; readonly why: string }
  | ({ readonly kind: 'boot-unit'; readonly why: string } & BootUnit)
  | { readonly kind: 'native'; readonly why: string };

/** How the fleet formats install, check, load and persist a backend's main file. */
export interface BackendInstall {
  /** Programs the main file needs on the host. */
  readonly tools: readonly string[];
  /** What to install when one is missing (for the message). */
  readonly toolsHint: string;
  /** Where the main file is installed (absolute). */
  readonly path: string;
  /** Checks a file without applying it; `%s` stands for the file. */
  readonly validate: readonly string[];
  /** Loads a file in one step, replacing only what kubewall owns; `%s` stands for the file. */
  readonly apply: readonly string[];
  readonly persist: readonly PersistStep[];
}

/** What `kubewall apply` saved of one backend: JSON in the state directory, shaped by the backend. */
export interface BackendSnapshot {
  /** The backend that took it, and restores it. */
  readonly backend: string;
}

/**
 * The apply side of a backend (`kubewall apply`, `confirm`, `rollback`):
 * save what kubewall owns, load the rendered main file, put the saved state
 * back when the apply is not confirmed. `snapshot` only reads; `restore`
 * computes each step from what is there now, so restoring twice is the same
 * as once. Neither names anything kubewall does not own.
 */
export interface BackendApply<S extends BackendSnapshot = BackendSnapshot> {
  /** What is saved and restored, and nothing else: `table inet kubewall (or its absence)`. */
  readonly owns: string;
  /** Loading is one transaction: a failed load changed nothing, so nothing is restored. */
  readonly atomic: boolean;
  /** How long loading the main file may take (ms); without it the apply default (APPLY_COMMAND_TIMEOUT_MS). */
  readonly loadTimeoutMs?: number;
  /** Reads what kubewall owns now. Nothing is changed. `options`: the backend options the file was rendered with. */
  snapshot(runner: WriteRunner, options: BackendOptions): Promise<S>;
  /** Loads a rendered main file (a path in the state directory). */
  load(file: string, runner: WriteRunner): Promise<void>;
  /** Puts the saved state back. */
  restore(snapshot: S, runner: WriteRunner): Promise<void>;
}

/**
 * The audit side (`render --audit`, `kubewall audit`): the render honours the
 * backend option `audit`, and this reads what an audit render recorded,
 * strictly read-only (every command in src/host/read-only.ts's allow-list).
 */
export interface BackendAudit {
  /** The commands `gather` runs, for --help and messages. */
  readonly commands: readonly string[];
  /** What --from takes, for --help and messages. */
  readonly savedFormat: string;
  /** Reads the records from the host through the (guarded) runner; `text` is what a --from file would hold. */
  gather(runner: CommandRunner, options: BackendOptions): Promise<{ readonly text: string; readonly notes: readonly string[] }>;
  /** Pure: the records in a dump (gathered or saved). */
  parse(text: string, origin: string): AuditReadResult;
}

/**
 * A backend: a folder of templates plus one module like this, registered in
 * `registry.ts`. It receives the backend-neutral plan, never the cluster file.
 */
export interface Backend {
  readonly name: string;
  readonly description: string;
  readonly capabilities: BackendCapabilities;
  /**
   * Optional: what this backend has to say about a plan beyond its
   * capabilities (ufw: a peer class so large that per-address rules cost).
   * Checked before rendering with the capability gaps; the warnings go to
   * stderr and into the header.
   */
  planWarnings?(plan: Plan): readonly string[];
  /**
   * Renders the plan. The first file is the self-contained main output
   * (stdout, --out); further files split it for tooling (--out-dir).
   */
  render(plan: Plan, context: BackendContext): Promise<readonly RenderedFile[]>;
  /**
   * Optional: reads the host's current rules for `kubewall diff`, strictly
   * read-only (`gather(runner)` → raw dumps, pure `parse(raw)` → the
   * normalized form of src/diff/types.ts). A backend without it renders as
   * usual and `diff` says it cannot read that backend yet. See the
   * `HostReader` TSDoc in src/host/types.ts and the nftables reader in
   * src/backends/nftables/host-read.ts.
   */
  readonly hostReader?: HostReader;
  /** Optional: how `--format ansible|cloud-init|script` install the main file (see BackendInstall). */
  install?(options: BackendOptions): BackendInstall;
  /** Optional: how `kubewall apply` saves, loads and restores (see BackendApply). */
  readonly apply?: BackendApply;
  /** Optional: audit mode (see BackendAudit); without it `render --audit` is refused. */
  readonly audit?: BackendAudit;
}
