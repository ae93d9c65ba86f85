import type { Command } from 'commander';
import { formatCatalogueJson, formatCatalogueTable } from '../../catalogue/format-catalogue.js';
import { loadInputs } from '../../load-plan.js';
import { collect, parseChoice } from '../options.js';

interface CatalogueFlags {
  cluster?: string;
  catalogue?: string[];
  format: string;
}

export function registerCatalogue(program: Command): void {
  program
    .command('catalogue')
    .description('list every catalogue entry with its roles, peers and provenance')
    .option('-c, --cluster <file>', "apply this cluster file's overrides first")
    .option('--catalogue <glob>', "extra catalogue fragments, e.g. 'ports.d/*.yaml' (repeatable)", collect)
    .option('-f, --format <format>', 'table or json', 'table')
    .addHelpText(
      'after',
      `
Examples:
  $ kubewall catalogue
  $ kubewall catalogue --catalogue 'ports.d/*.yaml' --format json`,
    )
    .action(async (flags: CatalogueFlags) => {
      const format = parseChoice('--format', flags.format, ['table', 'json'] as const);
      const { catalogue } = await loadInputs({ clusterFile: flags.cluster, cataloguePatterns: flags.catalogue });
      process.stdout.write(format === 'json' ? formatCatalogueJson(catalogue) : formatCatalogueTable(catalogue));
    });
}
