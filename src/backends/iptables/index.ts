import { IP_PROTOCOLS } from '../../model.js';
import { iptablesInstall } from './install.js';
import { auditHeaderLines, auditRequested, buildHeaderLines } from '../../render/header.js';
import { iptablesAudit } from './audit-read.js';
import { lazyRenderedFile, type Backend } from '../types.js';
import { iptablesHostReader } from './host-read.js';
import { iptablesApply } from './apply.js';
import {
  buildIptablesView,
  IPSET_AUDIT,
  IPSET_AUDIT_TIMEOUT,
  IPSET_MAXELEM,
  IPSET_NEW_SUFFIX,
  IPSET_PREFIX,
  IPTABLES_CHAINS,
  readIptablesVariant,
  variantCommands,
  type IptablesVariant,
} from './view.js';

export { IPTABLES_VARIANTS, readIptablesVariant, type IptablesVariant } from './view.js';

/** The self-contained main file (stdout, --out); the split files follow it with --out-dir. */
export const IPTABLES_SCRIPT = 'kubewall.sh';
export const IPTABLES_FILES = { ipset: 'kubewall.ipset', v4: 'kubewall.rules.v4', v6: 'kubewall.rules.v6' } as const;

/** What every iptables file says about its variant and about applying it next to kube-proxy and the CNI. */
export function iptablesHeaderLines(variant: IptablesVariant, source: string): string[] {
  const c = variantCommands(variant);
  const { input, beforeDnat } = IPTABLES_CHAINS;
  return [
    `variant: ${c.name} (${source}); every command names ${c.restore.ipv4}, ${c.restore.ipv6}, ${c.iptables.ipv4} or ${c.iptables.ipv6}, never the other variant`,
    `apply: sh ${IPTABLES_SCRIPT}  (as root; stops at the first error; refuses to run when the host has rules in the other variant)`,
    `check: sh ${IPTABLES_SCRIPT} --check  (as root; changes nothing here: creates the sets and runs ${c.restore.ipv4} --test and ${c.restore.ipv6} --test in a throwaway network namespace, unshare --net)`,
    `replaces: ipsets ${IPSET_PREFIX}* (each filled as <set>${IPSET_NEW_SUFFIX} and swapped in), then chains ${input} (filter) and ${beforeDnat} (mangle) for IPv4 and IPv6, each table in one --noflush commit`,
    `adds once: the jumps INPUT -> ${input} and mangle PREROUTING -> ${beforeDnat}, at the top of the chain when missing, never twice`,
    `${input}: allowed traffic RETURNs to INPUT, where the rules after the jump and INPUT's policy still apply; everything else is dropped. kubewall only narrows`,
    `${beforeDnat}: mangle PREROUTING (priority -150) sees NodePorts before kube-proxy's DNAT (nat, -100); drops restricted NodePorts from other sources, only for traffic addressed to this node`,
    "never touches: the nat table and kube-proxy's KUBE-* chains, FORWARD (pod traffic is the CNI's), built-in chain policies, other chains and ipsets",
    `persist: run this script at boot (a oneshot unit before kubelet.service), or after applying run netfilter-persistent save (iptables-persistent, ipset-persistent): it saves the whole ruleset, kube-proxy's chains too`,
  ];
}

/**
 * iptables: chains of kubewall's own (KUBEWALL-INPUT, KUBEWALL-BEFORE-DNAT)
 * loaded with `iptables-restore --noflush`, peers in ipsets, as one POSIX sh
 * script plus the same content split for tooling.
 */
export const iptablesBackend: Backend = {
  name: 'iptables',
  description: `a sh script feeding ipset restore and iptables-restore --noflush, owning chains ${IPTABLES_CHAINS.input} and ${IPTABLES_CHAINS.beforeDnat} and ipsets ${IPSET_PREFIX}*`,
  capabilities: { filterBeforeDnat: true, addressSets: true, ipProtocols: IP_PROTOCOLS, acceptByDestination: true },
  install: iptablesInstall,
  hostReader: iptablesHostReader,
  apply: iptablesApply,
  audit: iptablesAudit,
  async render(plan, context) {
    const audit = auditRequested(context.options);
    const { variant, source } = readIptablesVariant(context.options);
    const [script, ipset, rules] = await Promise.all([
      context.templates.load('iptables/kubewall.sh.hbs'),
      context.templates.load('iptables/kubewall.ipset.hbs'),
      context.templates.load('iptables/kubewall.rules.hbs'),
    ]);
    const auditLines = audit
      ? [
          `audit: instead of each DROP, the packet is added to ipset ${IPSET_AUDIT.ipv4} or ${IPSET_AUDIT.ipv6} (hash:ip,port: source,protocol:port; counters) and RETURNs to INPUT; INVALID is still dropped`,
          `audit: a record lasts ${IPSET_AUDIT_TIMEOUT} s after its first packet (then the next packet records anew); about ${IPSET_MAXELEM} records a family (ipset counts maxelem per lock region, so a few hundred more; further new ones are let through unrecorded)`,
        ]
      : [];
    const built = buildHeaderLines(plan, 'iptables', [...iptablesHeaderLines(variant, source), ...auditLines, ...context.warnings.map((w) => `warning: ${w}`)]);
    const header = audit ? [...auditHeaderLines(`ipset save ${IPSET_AUDIT.ipv4} and ${IPSET_AUDIT.ipv6}`), ...built] : built;
    const view = buildIptablesView(plan, header, variant, { audit });
    const [restore4, restore6] = view.restores;
    const fileHeader = (line: string) => ({ lines: [...header, line] });
    return [
      { name: IPTABLES_SCRIPT, content: script.render(view), mode: 0o755 },
      lazyRenderedFile(IPTABLES_FILES.ipset, 0o644, () =>
        ipset.render({ ...view, header: fileHeader(`this file: ipset restore -file ${IPTABLES_FILES.ipset}  (before the rules files)`) }),
      ),
      ...([
        [IPTABLES_FILES.v4, restore4!],
        [IPTABLES_FILES.v6, restore6!],
      ] as const).map(([name, restore]) =>
        lazyRenderedFile(name, 0o644, () => rules.render({ header: fileHeader(`this file: ${restore.command} < ${name}  (the jumps are added by ${IPTABLES_SCRIPT})`), restore })),
      ),
    ];
  },
};
