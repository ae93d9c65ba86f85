import type { Command } from 'commander';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { BACKEND_NAMES } from '../../backends/registry.js';
import { KubewallError } from '../../errors.js';
import { resolveIptablesVariant } from '../../host/detect-iptables-variant.js';
import { planFromFiles } from '../../load-plan.js';
import { writeFileAtomic } from '../../output/write-atomic.js';
import { renderPlan } from '../../render/render-plan.js';
import { addProfileOptions, collect, collectList, parseRoles, printWarnings, profileFlags } from '../options.js';

interface RenderFlags {
  backend: string;
  role?: string[];
  cluster?: string;
  catalogue?: string[];
  templates?: string;
  out?: string;
  outDir?: string;
  allowLockout?: boolean;
  distribution?: string;
  cni?: string;
  addon?: string[];
  iptablesVariant?: string;
}

export function registerRender(program: Command): void {
  addProfileOptions(program.command('render'))
    .description('render firewall rules for a node role with one backend')
    .requiredOption('-b, --backend <name>', `firewall backend (${BACKEND_NAMES.join(', ')})`)
    .option('-r, --role <roles>', 'node role(s): control-plane, worker, etcd; comma-separated or repeated', collectList)
    .option('-c, --cluster <file>', 'cluster file (YAML/JSON): nodes, load balancers, admin networks, overrides; without it the embedded default is used')
    .option('--catalogue <glob>', "extra catalogue fragments, e.g. 'ports.d/*.yaml' (repeatable)", collect)
    .option('--templates <dir>', 'use your own copy of the templates folder instead of the shipped one')
    .option('-o, --out <file>', 'write to this file (atomically: temporary file, then rename) instead of stdout')
    .option('--out-dir <dir>', 'write every rendered file into this folder (backends that render several files)')
    .option('--allow-lockout', 'render even if no SSH rule would remain (you have console access)')
    .option('--iptables-variant <variant>', 'iptables backend: nft, legacy or auto (detect from iptables -V; the default, nft when iptables is not installed)')
    .addHelpText(
      'after',
      `
Examples:
  $ kubewall render --backend nftables --role control-plane
  $ kubewall render --backend nftables --role worker --cluster examples/cluster.yaml --out /tmp/worker.nft
  $ sudo nft -c -f /tmp/worker.nft && sudo nft -f /tmp/worker.nft

The nftables output replaces only table inet kubewall, in one transaction; kube-proxy's
and the CNI's tables are never touched. Warnings (defaulted peers, gaps) go to stderr
and into the output's header.`,
    )
    .action(async (flags: RenderFlags) => {
      const roles = parseRoles(flags.role);
      if (flags.out === '') throw new KubewallError('USAGE', '--out: empty file name');
      if (flags.iptablesVariant !== undefined && flags.backend !== 'iptables') {
        throw new KubewallError('USAGE', `--iptables-variant applies to --backend iptables only (got --backend ${flags.backend})`);
      }
      const iptables = flags.backend === 'iptables' ? await resolveIptablesVariant(flags.iptablesVariant) : undefined;
      const backendOptions = iptables ? { iptablesVariant: iptables.variant, iptablesVariantSource: iptables.source } : {};
      const plan = await planFromFiles({
        roles,
        clusterFile: flags.cluster,
        cataloguePatterns: flags.catalogue,
        allowLockout: flags.allowLockout,
        profiles: profileFlags(flags),
      });
      const result = await renderPlan(plan, flags.backend, { templatesDir: flags.templates, backendOptions });
      const [main, ...rest] = result.files;
      if (!main) throw new Error(`backend ${result.backend} rendered no file`);
      if (flags.out !== undefined && flags.outDir !== undefined) throw new KubewallError('USAGE', '--out and --out-dir exclude each other');
      printWarnings([...plan.warnings, ...(iptables?.warning ? [iptables.warning] : []), ...result.warnings]);
      if (rest.length > 0 && flags.outDir === undefined) {
        // The first file is self-contained; the others split it for tooling (validation, config management).
        process.stderr.write(`kubewall: note: ${main.name} is self-contained; --out-dir DIR also writes ${rest.map((f) => f.name).join(', ')}\n`);
      }
      if (flags.outDir !== undefined) {
        await mkdir(flags.outDir, { recursive: true });
        for (const file of result.files) {
          const target = path.join(flags.outDir, file.name);
          await mkdir(path.dirname(target), { recursive: true });
          await writeFileAtomic(target, file.content, file.mode);
        }
      } else if (flags.out === undefined) process.stdout.write(main.content);
      else await writeFileAtomic(flags.out, main.content, main.mode);
    });
}
