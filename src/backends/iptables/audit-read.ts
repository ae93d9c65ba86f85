import type { AuditReadResult, AuditRecord } from '../../audit/types.js';
import { KubewallError } from '../../errors.js';
import { FAMILIES, type Family } from '../../model.js';
import type { BackendAudit } from '../types.js';
import { IPSET_AUDIT } from './view.js';

/** `ipset save KUBEWALL-AUDIT-V4` (and -V6): read-only, allowed by the guard. */
export const IPSET_AUDIT_COMMANDS = FAMILIES.map((family) => ['save', IPSET_AUDIT[family]] as const);

/** `10.0.0.9,tcp:9100`, `fd00::9,udp:53`, `10.0.0.9,icmp:8/0`, `10.0.0.9,gre:0`, `10.0.0.9,47:0`. */
const ELEMENT = /^(?<source>[0-9a-fA-F.:]+),(?:(?<protocol>[a-z0-9-]+):)?(?<port>\d+|[\w-]+(?:\/\d+)?)$/;

function toRecord(family: Family, words: readonly string[]): AuditRecord | null {
  const match = ELEMENT.exec(words[0] ?? '');
  if (!match?.groups) return null;
  const { source = '', protocol = 'tcp', port = '0' } = match.groups;
  const option = (name: string): number | null => {
    const at = words.indexOf(name);
    const value = at >= 0 ? Number(words[at + 1]) : NaN;
    return Number.isFinite(value) ? value : null;
  };
  // ICMP records its type/code where the port is: no port in kubewall's terms.
  const portNumber = /^\d+$/.test(port) && !protocol.startsWith('icmp') && protocol !== 'ipv6-icmp' ? Number(port) : 0;
  return { family, source, protocol, port: portNumber === 0 ? null : portNumber, packets: option('packets'), expiresInSeconds: option('timeout') };
}

/**
 * Pure: the records of ipsets KUBEWALL-AUDIT-V4 and -V6 in `ipset save`
 * output (other sets in the dump are ignored, so a full `ipset save` works).
 */
export function parseIpsetAudit(text: string, origin: string): AuditReadResult {
  const records: AuditRecord[] = [];
  const found = new Set<Family>();
  const byName = new Map<string, Family>(FAMILIES.map((family) => [IPSET_AUDIT[family], family]));
  for (const [index, raw] of text.split('\n').entries()) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const words = line.split(/\s+/);
    const family = byName.get(words[1] ?? '');
    if (!family) continue;
    if (words[0] === 'create') {
      found.add(family);
      continue;
    }
    if (words[0] !== 'add') continue;
    const record = toRecord(family, words.slice(2));
    if (!record) throw new KubewallError('HOST_READ', `${origin}: line ${index + 1}: cannot read ${JSON.stringify(line.slice(0, 120))} (expected add ${words[1]} ADDRESS,PROTOCOL:PORT …)`);
    found.add(family);
    records.push(record);
  }
  const notes = FAMILIES.filter((family) => !found.has(family)).map(
    (family) => `${origin}: no ipset ${IPSET_AUDIT[family]} (is the audit render, kubewall render --audit, applied?)`,
  );
  return { records, notes };
}

export const iptablesAudit: BackendAudit = {
  commands: IPSET_AUDIT_COMMANDS.map((args) => `ipset ${args.join(' ')}`),
  savedFormat: `the output of ipset save ${IPSET_AUDIT.ipv4} and ipset save ${IPSET_AUDIT.ipv6} (or of a plain ipset save)`,
  async gather(runner) {
    const texts: string[] = [];
    for (const args of IPSET_AUDIT_COMMANDS) {
      const command = `ipset ${args.join(' ')}`;
      const outcome = await runner.run('ipset', args);
      if (outcome.status === 'not-found') throw new KubewallError('HOST_READ', `${command}: ipset is not installed (package ipset)`);
      if (outcome.status === 'timed-out') throw new KubewallError('HOST_READ', `${command}: no answer within ${outcome.timeoutMs / 1000} s`);
      if (outcome.exitCode !== 0) {
        // "The set with the given name does not exist": no audit render here.
        if (/does not exist/.test(outcome.stderr)) continue;
        throw new KubewallError('HOST_READ', `${command} failed (exit ${outcome.exitCode}): ${outcome.stderr.trim().split('\n')[0] ?? ''}`);
      }
      texts.push(outcome.stdout.trim());
    }
    return { text: texts.join('\n'), notes: [] };
  },
  parse: parseIpsetAudit,
};
