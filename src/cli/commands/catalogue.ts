import { escapeJsonText, escapeStringsDeep } from '../../text/terminal.js';
import type { Command } from 'commander';
import { formatCatalogueJson, formatCatalogueTable } from '../../catalogue/format-catalogue.js';
import { loadInputs } from '../../load-plan.js';
import { addProfileOptions, collect, parseChoice, profileFlags } from '../options.js';

interface CatalogueFlags {
  cluster?: string;
  catalogue?: string[];
  format: string;
  distribution?: string;
  cni?: string;
  addon?: string[];
}

export function registerCatalogue(program: Command): void {
  addProfileOptions(program.command('catalogue'))
    .description('list every catalogue entry with its roles, peers and provenance')
    .option('-c, --cluster <file>', "apply this cluster file's overrides first")
    .option('--catalogue <glob>', "extra catalogue fragments, e.g. 'ports.d/*.yaml' (repeatable)", collect)
    .option('-f, --format <format>', 'table or json', 'table')
    .addHelpText(
      'after',
      `
Examples:
  $ kubewall catalogue
  $ kubewall catalogue --cni cilium              # what the Cilium profile adds
  $ kubewall catalogue --distribution rke2 --addon metrics-server
  $ kubewall catalogue --cni calico:ipip --addon keepalived   # IP protocols: IP-in-IP (4), VRRP (112)
  $ kubewall catalogue --catalogue 'ports.d/*.yaml' --format json`,
    )
    .action(async (flags: CatalogueFlags) => {
      const format = parseChoice('--format', flags.format, ['table', 'json'] as const);
      const { catalogue } = await loadInputs({ clusterFile: flags.cluster, cataloguePatterns: flags.catalogue, profiles: profileFlags(flags) });
      process.stdout.write(format === 'json' ? escapeJsonText(formatCatalogueJson(catalogue)) : formatCatalogueTable(escapeStringsDeep(catalogue)));
    });
}
