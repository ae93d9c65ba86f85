import { IP_PROTOCOLS } from '../../model.js';
import { buildHeaderLines } from '../../render/header.js';
import { nftablesInstall } from './install.js';
import type { Backend } from '../types.js';
import { nftablesHostReader } from './host-read.js';
import { nftablesApply } from './apply.js';
import { buildNftablesView, NFT_TABLE } from './view.js';

const APPLY_LINES = [
  `apply: nft -f FILE  (one transaction: replaces table ${NFT_TABLE.family} ${NFT_TABLE.name} only)`,
  'never touches: other tables (kube-proxy, CNI), the ruleset as a whole, the forward path',
  'note: an nftables drop in any table wins; this table drops new inbound connections no rule accepts',
];

/** nftables: one table of kubewall's own, replaced atomically by `nft -f`. */
export const nftablesBackend: Backend = {
  name: 'nftables',
  description: `an nft -f script owning table ${NFT_TABLE.family} ${NFT_TABLE.name}`,
  capabilities: { filterBeforeDnat: true, addressSets: true, ipProtocols: IP_PROTOCOLS, acceptByDestination: true },
  hostReader: nftablesHostReader,
  apply: nftablesApply,
  install: nftablesInstall,
  async render(plan, context) {
    const template = await context.templates.load('nftables/kubewall.nft.hbs');
    const header = buildHeaderLines(plan, 'nftables', [...APPLY_LINES, ...context.warnings.map((w) => `warning: ${w}`)]);
    return [{ name: 'kubewall.nft', content: template.render(buildNftablesView(plan, header)), mode: 0o755 }];
  },
};
