import { buildHeaderLines } from '../../render/header.js';
import { ufwInstall } from './install.js';
import type { Backend } from '../types.js';
import { ufwHostReader } from './host-read.js';
import { ufwApply } from './apply.js';
import { buildUfwView, describeLargePeerClass, findLargePeerClasses, UFW_LARGE_PEER_CLASS, UFW_TAG_PREFIX } from './view.js';

/** The one rendered file: a POSIX sh script of `ufw` commands. */
export const UFW_SCRIPT = 'kubewall-ufw.sh';

/** What every ufw script says about applying it next to kube-proxy and the CNI. */
export const UFW_HEADER_LINES = [
  `apply: sudo sh ${UFW_SCRIPT}   (preview: sudo sh ${UFW_SCRIPT} --dry-run, every ufw command with --dry-run)`,
  `owns: ufw rules whose comment starts with "${UFW_TAG_PREFIX} " (see ufw show added); an apply adds the missing ones, SSH first, then deletes the ${UFW_TAG_PREFIX}-tagged rules this file no longer lists; a second run changes nothing`,
  'never touches: ufw rules without that tag (the script counts them on stderr: they may open more than this plan), ufw route rules, /etc/ufw/*.rules, /etc/default/ufw but for DEFAULT_INPUT_POLICY, kube-proxy\'s and the CNI\'s chains and tables',
  'final drop: ufw default deny incoming, run only when DEFAULT_INPUT_POLICY in /etc/default/ufw is not "DROP" (ufw writes it there and reloads once), then ufw --force enable when ufw is not running',
  'ufw has no sets: one ufw rule per (port rule, peer address); rules from any address are one command, which ufw adds for IPv4 and IPv6',
  `cost: above ${UFW_LARGE_PEER_CLASS} addresses in one peer class kubewall warns: ufw's user chain is linear, walked by every new inbound connection, and the first apply runs one ufw process per rule, each parsing every rule already there`,
  'relies on Debian\'s /etc/ufw/before.rules and before6.rules: loopback accept (Used by: Self), established/related accept, invalid drop, the plan\'s ICMP and ICMPv6 types; the script stops if the loopback or established lines are missing',
  'note: those files also accept DHCP client replies, mDNS (5353) and SSDP (1900) multicast, and more ICMPv6 (MLD): slightly more than the plan\'s baseline',
  'IPv6: ufw needs IPV6=yes in /etc/default/ufw; the script stops before changing anything when the plan has IPv6 peers and IPV6 is not yes',
  'forward: ufw drops routed traffic by default (DEFAULT_FORWARD_POLICY="DROP"), and pod and DNATed NodePort traffic is routed: set DEFAULT_FORWARD_POLICY="ACCEPT" in /etc/default/ufw (then ufw reload) or make sure the CNI and kube-proxy accept it in FORWARD; kubewall does not change it and warns when it is not ACCEPT',
  'NodePorts: kube-proxy DNATs them in PREROUTING, before ufw sees them; ufw filters INPUT only, so a NodePort limited to some peers is enforced only for traffic that is not DNATed',
  'while ufw is active, a rule is added with one iptables append; each rule deleted (or re-commented) reloads ufw\'s user chains: for that moment new connections to the plan\'s ports are dropped, never accepted; established ones continue',
  'persistence: the rules live in /etc/ufw/user.rules and user6.rules; ufw.service loads them at boot (ENABLED=yes in /etc/ufw/ufw.conf, set by ufw enable)',
];

/** ufw: a `ufw` command script whose rules carry a kubewall tag, so re-running replaces only kubewall's rules. */
export const ufwBackend: Backend = {
  name: 'ufw',
  description: `a ufw command script owning the ufw rules tagged "${UFW_TAG_PREFIX} ..."`,
  // ufw filters INPUT: kube-proxy's DNAT has already rewritten NodePort traffic; and it has no address sets.
  // ufw 0.36 takes `proto esp` and `proto vrrp` (portless_protocols in ufw/util.py), but not protocol 4 (ipip).
  capabilities: { filterBeforeDnat: false, addressSets: false, ipProtocols: ['esp', 'vrrp'], acceptByDestination: false },
  install: ufwInstall,
  hostReader: ufwHostReader,
  apply: ufwApply,
  planWarnings: (plan) => findLargePeerClasses(plan).map(describeLargePeerClass),
  async render(plan, context) {
    const template = await context.templates.load('ufw/kubewall-ufw.sh.hbs');
    const header = buildHeaderLines(plan, 'ufw', [...UFW_HEADER_LINES, ...context.warnings.map((w) => `warning: ${w}`)]);
    return [{ name: UFW_SCRIPT, content: template.render(buildUfwView(plan, header)), mode: 0o755 }];
  },
};
