import { escapeTerminalLine } from '../../text/terminal.js';
import type { Command } from 'commander';
import { BACKEND_NAMES, requireAudit } from '../../backends/registry.js';
import { KubewallError } from '../../errors.js';
import { resolveIptablesVariant } from '../../host/detect-iptables-variant.js';
import { planFromFiles } from '../../load-plan.js';
import { writeFileAtomic } from '../../output/write-atomic.js';
import { renderPlan } from '../../render/render-plan.js';
import { addPlanOptions, collect, parseRoles, planInputs, printWarnings, requireBackend, type PlanInputFlags } from '../options.js';

interface RenderFlags extends PlanInputFlags {
  backend: string;
  templates?: string;
  out?: string;
  outDir?: string;
  iptablesVariant?: string;
  inventory?: string;
  groupRole?: string[];
  format?: string;
  audit?: boolean;
}

export function registerRender(program: Command): void {
  addPlanOptions(program.command('render'))
    .description('render firewall rules for a node role with one backend')
    .option('-b, --backend <name>', `firewall backend (${BACKEND_NAMES.join(', ')}; required)`)
    .option('--templates <dir>', 'use your own copy of the templates folder instead of the shipped one')
    .option('-o, --out <file>', 'write to this file (atomically: temporary file, then rename) instead of stdout')
    .option('--out-dir <dir>', 'write every rendered file into this folder (backends that render several files)')
    .option('-i, --inventory <file>', 'Ansible inventory (YAML or INI): its hosts are the nodes; without --role, --out-dir gets one output per host')
    .option('--group-role <group=roles>', 'map an inventory group to roles, e.g. masters=control-plane or bastion=none (repeatable; defaults: kubespray, k3s-ansible)', collect)
    .option('-f, --format <format>', 'files (default: the backend\'s own), ansible (a role), cloud-init (#cloud-config), script (provisioning sh)')
    .option('--iptables-variant <variant>', 'iptables backend: nft, legacy or auto (the default: from the binary iptables resolves to, else iptables -V; nft when iptables is not installed)')
    .option('--audit', 'audit mode (nftables, iptables): the same rules, but what would be dropped is accepted and recorded; list it with kubewall audit. Does NOT enforce')
    .addHelpText(
      'after',
      `
Examples:
  $ kubewall render --backend nftables --role control-plane
  $ kubewall render --backend nftables --role worker --cluster examples/cluster.yaml --out /tmp/worker.nft
  $ sudo nft -c -f /tmp/worker.nft && sudo nft -f /tmp/worker.nft
  $ kubewall render -b nftables --inventory examples/inventory/kubespray.ini --cluster examples/inventory/cluster.yaml --out-dir out/
  $ kubewall render -b nftables -i examples/inventory/k3s.yaml -c examples/inventory/cluster.yaml --format ansible --out-dir site/
  $ ansible-playbook -i examples/inventory/k3s.yaml site/playbook.yml --check --diff
  $ kubewall render -b iptables -r worker --format script --out kubewall-apply.sh
  $ kubewall render -b nftables -r control-plane --format cloud-init --out user-data
  $ kubewall render -b nftables -r worker -c cluster.yaml --audit -o audit.nft   # records instead of dropping; see kubewall audit --help

The nftables output replaces only table inet kubewall, in one transaction; kube-proxy's
and the CNI's tables are never touched. Warnings (defaulted peers, gaps) go to stderr
and into the output's header.

--inventory: kubespray's kube_control_plane, kube_node, etcd and k3s-ansible's server,
agent groups give the roles (--group-role GROUP=ROLE to change); addresses come from
ip, access_ip, ip6, access_ip6, else ansible_host or the host name. One plan per role
combination; every host gets its own file under --out-dir.`,
    )
    .action(async (flags: RenderFlags) => {
      flags.backend = requireBackend(flags.backend, BACKEND_NAMES);
      const roles = flags.inventory !== undefined && flags.role === undefined ? [] : parseRoles(flags.role);
      if (flags.out === '') throw new KubewallError('USAGE', '--out: empty file name');
      if (flags.iptablesVariant !== undefined && flags.backend !== 'iptables') {
        throw new KubewallError('USAGE', `--iptables-variant applies to --backend iptables only (got --backend ${flags.backend})`);
      }
      if (flags.audit === true) requireAudit(flags.backend);
      if (flags.inventory !== undefined || (flags.format !== undefined && flags.format !== 'files')) {
        await renderFleetOrPayload(flags);
        return;
      }
      if (flags.groupRole !== undefined) throw new KubewallError('USAGE', '--group-role needs --inventory');
      const iptables = flags.backend === 'iptables' ? await resolveIptablesVariant(flags.iptablesVariant) : undefined;
      const backendOptions = { ...(iptables ? { iptablesVariant: iptables.variant, iptablesVariantSource: iptables.source } : {}), ...auditOption(flags) };
      const plan = await planFromFiles({ roles, ...planInputs(flags) });
      const result = await renderPlan(plan, flags.backend, { templatesDir: flags.templates, backendOptions });
      const [main, ...rest] = result.files;
      if (!main) throw new Error(`backend ${result.backend} rendered no file`);
      if (flags.out !== undefined && flags.outDir !== undefined) throw new KubewallError('USAGE', '--out and --out-dir exclude each other');
      printWarnings([...plan.warnings, ...(iptables?.warning ? [iptables.warning] : []), ...result.warnings]);
      if (rest.length > 0 && flags.outDir === undefined) {
        // The first file is self-contained; the others split it for tooling (validation, config management).
        process.stderr.write(`kubewall: note: ${main.name} is self-contained; --out-dir DIR also writes ${rest.map((f) => escapeTerminalLine(f.name)).join(', ')}\n`);
      }
      if (flags.outDir !== undefined) {
        const { writeRenderedFiles } = await import('../../output/write-files.js');
        await writeRenderedFiles(flags.outDir, result.files);
      } else if (flags.out === undefined) process.stdout.write(main.content);
      else await writeFileAtomic(flags.out, main.content, main.mode);
    });
}

/** `render --audit` as the backend option the nftables and iptables views read (src/render/header.ts: auditRequested). */
function auditOption(flags: RenderFlags): { audit?: string } {
  return flags.audit === true ? { audit: 'true' } : {};
}

/** --inventory and --format: loaded only when asked, so a plain render does not pay for them at start-up. */
async function renderFleetOrPayload(flags: RenderFlags): Promise<void> {
  const [{ renderPayloads }, { getPayloadFormat }, { writeRenderedFiles }] = await Promise.all([
    import('../../fleet/render-payloads.js'),
    import('../../payloads/formats.js'),
    import('../../output/write-files.js'),
  ]);
  const format = getPayloadFormat(flags.format ?? 'files');
  const fleet = flags.inventory !== undefined && flags.role === undefined;
  if (flags.out !== undefined && flags.outDir !== undefined) throw new KubewallError('USAGE', '--out and --out-dir exclude each other');
  if (fleet && flags.outDir === undefined) {
    throw new KubewallError('USAGE', '--inventory without --role renders one output per host: give --out-dir DIR (or --role R for one output with the inventory\'s peers)');
  }
  if (!format.singleFile && flags.outDir === undefined) throw new KubewallError('USAGE', `--format ${format.name} writes several files: give --out-dir DIR`);
  if (flags.iptablesVariant !== undefined && flags.backend !== 'iptables') {
    throw new KubewallError('USAGE', `--iptables-variant applies to --backend iptables only (got --backend ${flags.backend})`);
  }
  const iptables = flags.backend === 'iptables' ? await resolveIptablesVariant(flags.iptablesVariant) : undefined;
  const output = await renderPayloads({
    backend: flags.backend,
    format: format.name,
    roles: flags.role === undefined ? undefined : parseRoles(flags.role),
    inventory: flags.inventory,
    groupRoles: flags.groupRole,
    ...planInputs(flags),
    templatesDir: flags.templates,
    backendOptions: { ...(iptables ? { iptablesVariant: iptables.variant, iptablesVariantSource: iptables.source } : {}), ...auditOption(flags) },
  });
  printWarnings([...output.warnings, ...(iptables?.warning ? [iptables.warning] : [])]);
  if (output.skipped.length > 0) {
    const shown = output.skipped.slice(0, 10).map(escapeTerminalLine).join(', ');
    process.stderr.write(`kubewall: note: ${output.skipped.length} inventory host(s) in no group mapped to a role get no file: ${shown}${output.skipped.length > 10 ? ', …' : ''} (map groups with --group-role GROUP=ROLE)\n`);
  }
  if (flags.outDir !== undefined) {
    await writeRenderedFiles(flags.outDir, output.files);
    if (fleet) process.stderr.write(`kubewall: wrote ${output.files.length} files for ${output.hosts} hosts (${output.plans} distinct plans) to ${escapeTerminalLine(flags.outDir)}\n`);
    return;
  }
  const [main] = output.files;
  if (!main) throw new KubewallError('OUTPUT', 'nothing was rendered');
  if (flags.out === undefined) process.stdout.write(main.content);
  else await writeFileAtomic(flags.out, main.content, main.mode);
}
