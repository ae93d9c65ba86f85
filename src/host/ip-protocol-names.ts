/**
 * Host tools print an IP protocol by the host's /etc/protocols name when it
 * has one (nft's `meta l4proto`, iptables-save's `-p`), and names differ
 * between distributions: 4 is `ipencap` on Debian (netbase), `ipv4` with
 * iana-etc (Fedora, RHEL, Arch). Without a name they print the number.
 * Only names for the IP protocols kubewall writes are mapped; `ipip` is 94
 * in /etc/protocols, never 4, so it is not one of them.
 */
const HOST_IP_PROTOCOL_NAMES: Readonly<Record<string, number>> = { ipencap: 4, ipv4: 4, esp: 50, vrrp: 112 };

/** A host's spelling of an IP protocol (`4`, `ipencap`, `esp`) → its IANA number, or undefined when it is none kubewall knows. */
export function hostIpProtocolNumber(text: string): number | undefined {
  if (/^\d{1,3}$/.test(text)) return Number(text) <= 255 ? Number(text) : undefined;
  return Object.hasOwn(HOST_IP_PROTOCOL_NAMES, text) ? HOST_IP_PROTOCOL_NAMES[text] : undefined;
}
