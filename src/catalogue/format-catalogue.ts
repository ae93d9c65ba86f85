import { IP_PROTOCOL_INFO } from '../model.js';
import { describeEntryTraffic, type Catalogue } from './catalogue.js';

/** `kubewall catalogue`: every entry with roles, peers and provenance. */
export function formatCatalogueTable(catalogue: Catalogue): string {
  const out: string[] = [];
  for (const entry of catalogue.entries) {
    out.push(`${entry.id}  ${describeEntryTraffic(entry)}  ${entry.purpose}`);
    for (const protocol of entry.ipProtocols) {
      const info = IP_PROTOCOL_INFO[protocol];
      out.push(`  ip protocol: ${info.number} (${protocol}: ${info.description}; no ports; ${info.families.length === 2 ? 'IPv4 and IPv6' : `${info.families[0] === 'ipv4' ? 'IPv4' : 'IPv6'} only`})`);
    }
    out.push(`  roles:   ${entry.roles.join(', ')}`);
    out.push(`  peers:   ${entry.peers.join(', ')}   (Used by: ${entry.usedBy})${entry.dnatByKubeProxy ? '   filtered before kube-proxy DNAT' : ''}`);
    out.push(`  source:  ${entry.source.document}; ${entry.source.section}${entry.source.url ? ` <${entry.source.url}>` : ''}`);
    out.push(`  defined: ${entry.origin}`);
    if (entry.profile) out.push(`  profile: ${entry.profile}`);
    out.push('');
  }
  out.push(`${catalogue.entries.length} entries from ${catalogue.files.join(', ')}`);
  const profiles = catalogue.profiles ?? [];
  if (profiles.length > 0) {
    const added = catalogue.entries.filter((e) => e.profile).map((e) => e.id);
    out.push(`profiles: ${profiles.join('; ')}; adding ${added.length > 0 ? added.join(', ') : 'no entries'}`);
    const widened = catalogue.entries.filter((e) => !e.profile && e.origin.includes('catalogue/profiles/')).map((e) => e.id);
    if (widened.length > 0) out.push(`profiles also change: ${widened.join(', ')}`);
  }
  for (const note of catalogue.notes ?? []) out.push(`note: ${note}`);
  return out.join('\n') + '\n';
}

export function formatCatalogueJson(catalogue: Catalogue): string {
  return (
    JSON.stringify(
      { apiVersion: 'kubewall.dev/catalogue/v1', files: catalogue.files, profiles: catalogue.profiles ?? [], notes: catalogue.notes ?? [], entries: catalogue.entries },
      null,
      2,
    ) + '\n'
  );
}
