import type { AuditReadResult, AuditRecord } from '../../audit/types.js';
import { KubewallError } from '../../errors.js';
import { FAMILIES, type Family } from '../../model.js';
import type { BackendAudit } from '../types.js';
import { NFT_AUDIT_SETS, NFT_TABLE } from './view.js';

/** `nft -j list set inet kubewall audit-v4` (and -v6): the exact forms the read-only guard allows. */
export const NFT_AUDIT_COMMANDS = FAMILIES.map((family) => ['-j', 'list', 'set', NFT_TABLE.family, NFT_TABLE.name, NFT_AUDIT_SETS[family]] as const);

interface NftSetElem {
  readonly val?: unknown;
  readonly elem?: { readonly val?: unknown; readonly expires?: unknown; readonly counter?: { readonly packets?: unknown } };
}

function isAuditSet(set: Record<string, unknown>): Family | null {
  if (set['family'] !== NFT_TABLE.family || set['table'] !== NFT_TABLE.name) return null;
  for (const family of FAMILIES) if (set['name'] === NFT_AUDIT_SETS[family]) return family;
  return null;
}

function toRecord(family: Family, element: unknown): AuditRecord | null {
  const item = element as NftSetElem;
  const wrapped = item && typeof item === 'object' && 'elem' in item ? item.elem : undefined;
  const val = wrapped ? wrapped.val : element;
  const concat = val && typeof val === 'object' && Array.isArray((val as { concat?: unknown }).concat) ? (val as { concat: unknown[] }).concat : null;
  if (!concat || concat.length !== 3) return null;
  const [source, protocol, port] = concat;
  if (typeof source !== 'string' || (typeof protocol !== 'string' && typeof protocol !== 'number') || typeof port !== 'number') return null;
  const packets = wrapped?.counter?.packets;
  const expires = wrapped?.expires;
  return {
    family,
    source,
    protocol: String(protocol),
    port: port === 0 ? null : port,
    packets: typeof packets === 'number' ? packets : null,
    expiresInSeconds: typeof expires === 'number' ? expires : null,
  };
}

/** The JSON documents in a dump: one (nft -j list ruleset), or one a line (several nft -j list set). */
function jsonDocuments(text: string, origin: string): unknown[] {
  const trimmed = text.trim();
  if (trimmed === '') return [];
  try {
    return [JSON.parse(trimmed)];
  } catch {
    return trimmed
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line, index) => {
        try {
          return JSON.parse(line) as unknown;
        } catch (error) {
          throw new KubewallError('HOST_READ', `${origin}: line ${index + 1} is not JSON (expected the output of nft -j list set or nft -j list ruleset): ${(error as Error).message}`);
        }
      });
  }
}

/**
 * Pure: the records of sets audit-v4 and audit-v6 of table inet kubewall in
 * `nft -j list set …` or `nft -j list ruleset` output. A dump without either
 * set says so in the notes (the host does not run the audit render).
 */
export function parseNftAudit(text: string, origin: string): AuditReadResult {
  const records: AuditRecord[] = [];
  const found = new Set<Family>();
  for (const doc of jsonDocuments(text, origin)) {
    const items = doc && typeof doc === 'object' && Array.isArray((doc as { nftables?: unknown }).nftables) ? (doc as { nftables: unknown[] }).nftables : null;
    if (!items) throw new KubewallError('HOST_READ', `${origin}: not nft -j output (expected an object with an "nftables" array)`);
    for (const item of items) {
      const set = item && typeof item === 'object' ? (item as { set?: Record<string, unknown> }).set : undefined;
      if (!set) continue;
      const family = isAuditSet(set);
      if (!family) continue;
      found.add(family);
      for (const element of Array.isArray(set['elem']) ? set['elem'] : []) {
        const record = toRecord(family, element);
        if (record) records.push(record);
      }
    }
  }
  const notes = FAMILIES.filter((family) => !found.has(family)).map(
    (family) => `${origin}: no set ${NFT_TABLE.family} ${NFT_TABLE.name} ${NFT_AUDIT_SETS[family]} (is the audit render, kubewall render --audit, applied?)`,
  );
  return { records, notes };
}

export const nftablesAudit: BackendAudit = {
  commands: NFT_AUDIT_COMMANDS.map((args) => `nft ${args.join(' ')}`),
  savedFormat: `the output of nft -j list set ${NFT_TABLE.family} ${NFT_TABLE.name} ${NFT_AUDIT_SETS.ipv4} (and ${NFT_AUDIT_SETS.ipv6}, one a line), or of nft -j list ruleset`,
  async gather(runner) {
    const texts: string[] = [];
    const notes: string[] = [];
    for (const args of NFT_AUDIT_COMMANDS) {
      const command = `nft ${args.join(' ')}`;
      const outcome = await runner.run('nft', args);
      if (outcome.status === 'not-found') throw new KubewallError('HOST_READ', `${command}: nft is not installed (package nftables)`);
      if (outcome.status === 'timed-out') throw new KubewallError('HOST_READ', `${command}: no answer within ${outcome.timeoutMs / 1000} s`);
      if (outcome.exitCode !== 0) {
        // nft says "No such file or directory" for a missing table or set: no audit render here.
        if (/No such file or directory/.test(outcome.stderr)) continue;
        throw new KubewallError('HOST_READ', `${command} failed (exit ${outcome.exitCode}): ${outcome.stderr.trim().split('\n')[0] ?? ''}`);
      }
      texts.push(outcome.stdout.trim());
    }
    return { text: texts.join('\n'), notes };
  },
  parse: parseNftAudit,
};
