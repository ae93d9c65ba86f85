import { realpathSync, statSync } from 'node:fs';
import path from 'node:path';
import { IPTABLES_VARIANTS, type IptablesVariant } from '../backends/iptables/view.js';
import { KubewallError } from '../errors.js';
import { unknownValueMessage } from '../suggest.js';

/** What `--iptables-variant` accepts: a variant, or `auto` to ask the host. */
export const IPTABLES_VARIANT_CHOICES = [...IPTABLES_VARIANTS, 'auto'] as const;
export type IptablesVariantChoice = (typeof IPTABLES_VARIANT_CHOICES)[number];

/** The variant a host uses, and a sentence saying how it was chosen (for the output header). */
export interface ResolvedIptablesVariant {
  readonly variant: IptablesVariant;
  readonly source: string;
  /** Set when detection fell back to a guess the user should check. */
  readonly warning?: string;
}

/**
 * Parses `iptables -V`: `iptables v1.8.9 (nf_tables)` → nft,
 * `iptables v1.8.9 (legacy)` → legacy; anything else (iptables before 1.8
 * printed no variant) → null.
 */
export function parseIptablesVersion(output: string): IptablesVariant | null {
  const line = output.trim().split('\n')[0] ?? '';
  if (/\(nf_tables\)\s*$/.test(line)) return 'nft';
  if (/\(legacy\)\s*$/.test(line)) return 'legacy';
  return null;
}

/** Runs `iptables -V`; null when iptables is not installed (or not on PATH). */
export async function readIptablesVersion(env: NodeJS.ProcessEnv = process.env): Promise<string | null> {
  // Loaded on demand: only --backend iptables asks the host, and execa is not free to load.
  const { execa } = await import('execa');
  const result = await execa('iptables', ['-V'], { reject: false, env, extendEnv: false });
  if (result.failed && (result as { code?: string }).code === 'ENOENT') return null;
  return `${result.stdout}\n${result.stderr}`.trim();
}

/**
 * Turns `iptables -V` output (null: no iptables) into a variant: what the
 * host's `iptables` is, else nft, the default of current distributions.
 */
export function chooseIptablesVariant(versionOutput: string | null): ResolvedIptablesVariant {
  if (versionOutput === null) return { variant: 'nft', source: 'iptables not found on this host: nft, the default' };
  const firstLine = versionOutput.split('\n')[0]!.trim();
  const variant = parseIptablesVersion(versionOutput);
  if (variant) return { variant, source: `detected from iptables -V: ${firstLine}` };
  return {
    variant: 'nft',
    source: `iptables -V printed no variant (${firstLine}): nft, the default`,
    warning: `cannot tell the iptables variant from "iptables -V" (${firstLine}); rendering for iptables-nft: pass --iptables-variant legacy if this host uses iptables-legacy`,
  };
}

/** The multi-call binaries of iptables 1.8+ (and their per-variant names); their name is the variant. */
const VARIANT_BINARY = /^(?:xtables-(nft|legacy)-multi|iptables-(nft|legacy))$/;

/** The `iptables` the PATH finds, with symlinks (the alternatives system) resolved; null when there is none. */
export function findIptablesBinary(env: NodeJS.ProcessEnv = process.env): { found: string; real: string } | null {
  for (const dir of (env['PATH'] ?? '').split(path.delimiter)) {
    if (dir === '') continue;
    const found = path.join(dir, 'iptables');
    try {
      if (!statSync(found).isFile()) continue;
      return { found, real: realpathSync(found) };
    } catch {
      // Not in this directory (or a dangling link): keep looking, as the shell would.
    }
  }
  return null;
}

/**
 * The variant from the name `iptables` resolves to (xtables-nft-multi,
 * xtables-legacy-multi): what `iptables -V` would print, without starting a
 * process, which cost a render half a `node -e 0`. Undefined when the name
 * does not say (iptables before 1.8, a wrapper script): then ask `iptables -V`.
 */
export function variantFromBinary(binary: { found: string; real: string }): ResolvedIptablesVariant | undefined {
  const match = VARIANT_BINARY.exec(path.basename(binary.real));
  const variant = (match?.[1] ?? match?.[2]) as IptablesVariant | undefined;
  if (!variant) return undefined;
  return { variant, source: `detected from ${binary.found} -> ${binary.real}` };
}

/** The host's variant: from where `iptables` resolves to, else from `iptables -V`. */
export async function detectIptablesVariant(env: NodeJS.ProcessEnv = process.env): Promise<ResolvedIptablesVariant> {
  const binary = findIptablesBinary(env);
  if (binary === null) return chooseIptablesVariant(null);
  return variantFromBinary(binary) ?? chooseIptablesVariant(await readIptablesVersion(env));
}

/**
 * `--iptables-variant`: an explicit variant is used as given; `auto` (and no
 * option at all) asks the host (detectIptablesVariant, or readVersion's
 * `iptables -V` output when given). Only the CLI calls this.
 */
export async function resolveIptablesVariant(
  choice: string | undefined,
  readVersion?: () => Promise<string | null>,
): Promise<ResolvedIptablesVariant> {
  if (choice !== undefined && !(IPTABLES_VARIANT_CHOICES as readonly string[]).includes(choice)) {
    throw new KubewallError('USAGE', `--iptables-variant: ${unknownValueMessage('value', choice, IPTABLES_VARIANT_CHOICES)}`);
  }
  if (choice === 'nft' || choice === 'legacy') return { variant: choice, source: `--iptables-variant ${choice}` };
  return readVersion ? chooseIptablesVariant(await readVersion()) : detectIptablesVariant();
}
