import { IP_PROTOCOLS } from '../../model.js';
import { auditHeaderLines, auditRequested, buildHeaderLines } from '../../render/header.js';
import { nftablesInstall } from './install.js';
import type { Backend } from '../types.js';
import { nftablesHostReader } from './host-read.js';
import { nftablesApply } from './apply.js';
import { nftablesAudit } from './audit-read.js';
import { AUDIT_SET_SIZE, AUDIT_TIMEOUT_SECONDS, buildNftablesView, NFT_AUDIT_SETS, NFT_TABLE } from './view.js';

const APPLY_LINES = [
  `apply: nft -f FILE  (one transaction: replaces table ${NFT_TABLE.family} ${NFT_TABLE.name} only)`,
  'never touches: other tables (kube-proxy, CNI), the ruleset as a whole, the forward path',
  'note: an nftables drop in any table wins; this table drops new inbound connections no rule accepts',
];

const AUDIT_LINES = [
  `audit: instead of each drop, the packet is recorded in set ${NFT_AUDIT_SETS.ipv4} or ${NFT_AUDIT_SETS.ipv6} (source . protocol . destination port, 0 without ports; a packet counter each) and accepted`,
  `audit: a record lasts ${AUDIT_TIMEOUT_SECONDS / 3600}h after its last packet; at most ${AUDIT_SET_SIZE} records a family (further new ones are accepted unrecorded); ct state invalid is still dropped`,
];

/** nftables: one table of kubewall's own, replaced atomically by `nft -f`. */
export const nftablesBackend: Backend = {
  name: 'nftables',
  description: `an nft -f script owning table ${NFT_TABLE.family} ${NFT_TABLE.name}`,
  capabilities: { filterBeforeDnat: true, addressSets: true, ipProtocols: IP_PROTOCOLS, acceptByDestination: true },
  hostReader: nftablesHostReader,
  apply: nftablesApply,
  install: nftablesInstall,
  audit: nftablesAudit,
  async render(plan, context) {
    const template = await context.templates.load('nftables/kubewall.nft.hbs');
    const audit = auditRequested(context.options);
    const header = buildHeaderLines(plan, 'nftables', [...(audit ? [...APPLY_LINES.slice(0, 2), ...AUDIT_LINES] : APPLY_LINES), ...context.warnings.map((w) => `warning: ${w}`)]);
    const lines = audit ? [...auditHeaderLines(`nft -j list set ${NFT_TABLE.family} ${NFT_TABLE.name} ${NFT_AUDIT_SETS.ipv4} and ${NFT_AUDIT_SETS.ipv6}`), ...header] : header;
    return [{ name: 'kubewall.nft', content: template.render(buildNftablesView(plan, lines, { audit })), mode: 0o755 }];
  },
};
