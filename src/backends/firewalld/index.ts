import { IP_PROTOCOLS } from '../../model.js';
import { buildHeaderLines } from '../../render/header.js';
import { firewalldInstall } from './install.js';
import { lazyRenderedFile, type Backend, type RenderedFile } from '../types.js';
import { buildFirewalldConfig, FIREWALLD_CATCH_ALL_SOURCES, FIREWALLD_IPSET_PREFIX, FIREWALLD_ZONE } from './config.js';
import { firewalldHostReader } from './host-read.js';
import { firewalldApply } from './apply.js';
import { buildFirewalldIpsetXmlView, buildFirewalldScriptView, buildFirewalldZoneXmlView } from './view.js';

/** The self-contained main file (stdout, --out); the XML files follow it with --out-dir. */
export const FIREWALLD_SCRIPT = 'kubewall.sh';

/** What every firewalld file says about applying it next to kube-proxy and the CNI. */
export const FIREWALLD_HEADER_LINES = [
  `apply (script): sh ${FIREWALLD_SCRIPT}  (replaces the permanent zone ${FIREWALLD_ZONE} and every permanent ipset ${FIREWALLD_IPSET_PREFIX}*, then reloads firewalld)`,
  `check: sh ${FIREWALLD_SCRIPT} --check  (as root; changes nothing here: runs the same commands through firewall-offline-cmd on a copy of /etc/firewalld, --system-config; firewalld need not run)`,
  `apply (files): rm -f /etc/firewalld/ipsets/${FIREWALLD_IPSET_PREFIX}*.xml; copy zones/ and ipsets/ into /etc/firewalld/; reload firewalld`,
  `zone ${FIREWALLD_ZONE} binds sources ${FIREWALLD_CATCH_ALL_SOURCES.join(' and ')}: firewalld classifies by source before interface, so every inbound and forwarded packet lands here, whatever interface it came in on`,
  "the interface's zone (or the default zone) is left unchanged but no longer decides: its services (public: ssh from anywhere, dhcpv6-client), masquerade and forward-ports stop applying; SSH comes only from the admin networks",
  `firewalld 1.x orders source zones by name: a source that a zone named before "${FIREWALLD_ZONE}" binds (block, dmz, drop, external, home, internal) is classified there instead`,
  'target DROP: new inbound connections no rule accepts are dropped; firewalld itself accepts loopback and established/related and drops invalid packets',
  "forward: intra-zone forwarding is on, so firewalld's forward reject never sits ahead of the CNI; forwarded (pod) traffic is left to the CNI and kube-proxy",
  "reload: firewalld rebuilds its own table inet firewalld; other nftables tables (kube-proxy's nftables mode, the CNI's) stay; while it rebuilds, new connections are dropped host-wide (established ones continue)",
  "iptables: firewalld before 2.0 (Debian 12 ships 1.3.3) flushes every iptables table on start and reload even with FirewallBackend=nftables, and 2.0 still does while direct rules exist (firewalld PR #1082): kube-proxy's iptables and ipvs rules, iptables-based CNIs and portmap lose theirs until they restore them",
  'the script refuses to reload where that flush would hit existing iptables rules, unless KUBEWALL_ALLOW_IPTABLES_FLUSH=yes; it refuses FirewallBackend=iptables outright',
  'FlushAllOnReload=yes (the default): a reload also drops runtime-only firewalld changes (made without the permanent option); kubewall leaves the setting as it is',
  "never touches: firewalld.conf (DefaultZone, FirewallBackend, FlushAllOnReload, IPv6_rpfilter), other zones, policies, services; other tables and chains only through firewalld's own reload, as above",
];

/**
 * firewalld: one zone of kubewall's own holding every source, its rules as
 * rich rules over ipsets, rendered as a `firewall-cmd --permanent` script and
 * as the XML files the same configuration is stored in.
 */
export const firewalldBackend: Backend = {
  name: 'firewalld',
  description: `a firewall-cmd --permanent script (and XML files) owning zone ${FIREWALLD_ZONE} and ipsets ${FIREWALLD_IPSET_PREFIX}*`,
  // firewalld accepts DNATed traffic (`ct status dnat accept`) before any zone sees it.
  capabilities: { filterBeforeDnat: false, addressSets: true, ipProtocols: IP_PROTOCOLS, acceptByDestination: false },
  install: firewalldInstall,
  hostReader: firewalldHostReader,
  apply: firewalldApply,
  async render(plan, context) {
    const [script, zoneXml, ipsetXml] = await Promise.all([
      context.templates.load('firewalld/kubewall.sh.hbs'),
      context.templates.load('firewalld/zone.xml.hbs'),
      context.templates.load('firewalld/ipset.xml.hbs'),
    ]);
    const header = buildHeaderLines(plan, 'firewalld', [...FIREWALLD_HEADER_LINES, ...context.warnings.map((w) => `warning: ${w}`)]);
    const config = buildFirewalldConfig(plan);
    const files: RenderedFile[] = [
      { name: FIREWALLD_SCRIPT, content: script.render(buildFirewalldScriptView(config, header)), mode: 0o755 },
      lazyRenderedFile(`zones/${config.zone.name}.xml`, 0o644, () => zoneXml.render(buildFirewalldZoneXmlView(config.zone, header))),
      ...config.ipsets.map((ipset) => lazyRenderedFile(`ipsets/${ipset.name}.xml`, 0o644, () => ipsetXml.render(buildFirewalldIpsetXmlView(ipset, header)))),
    ];
    return files;
  },
};
