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

/**
 * `--iptables-variant`: an explicit variant is used as given; `auto` (and no
 * option at all) asks the host's `iptables -V`. Only the CLI calls this.
 */
export async function resolveIptablesVariant(
  choice: string | undefined,
  readVersion: () => Promise<string | null> = () => readIptablesVersion(),
): Promise<ResolvedIptablesVariant> {
  if (choice !== undefined && !(IPTABLES_VARIANT_CHOICES as readonly string[]).includes(choice)) {
    throw new KubewallError('USAGE', `--iptables-variant: ${unknownValueMessage('value', choice, IPTABLES_VARIANT_CHOICES)}`);
  }
  if (choice === 'nft' || choice === 'legacy') return { variant: choice, source: `--iptables-variant ${choice}` };
  return chooseIptablesVariant(await readVersion());
}
