import * as z from 'zod';
import { invalidHostAddress, ipv4MappedRefusal, isIpv4Mapped, parseNetwork } from '../addresses.js';
import { isHostAddress } from './refined-checks.js';
import { ADDRESS_PEER_CLASSES, CATALOGUE_PROTOCOLS, IP_PROTOCOL_INFO, IP_PROTOCOLS, PEER_CLASSES, PROTOCOLS, ROLES } from '../model.js';
import { parsePortSpec } from '../ports.js';

const portItem = z.union([z.number().int(), z.string()]);

/** `6443`, `"2379-2380"` or a list of those; checked with the same parser the planner uses. */
export const PortsSchema = z
  .union([portItem, z.array(portItem).min(1)])
  .superRefine((value, ctx) => {
    const parsed = parsePortSpec(value);
    if (typeof parsed === 'string') ctx.addIssue({ code: 'custom', message: parsed, input: value });
  })
  .describe('A port (6443), a range ("30000-32767") or a list of those; ports are 1-65535.');

export const RoleSchema = z.enum(ROLES).describe('A node role.');
export const PeerClassSchema = z.enum(PEER_CLASSES).describe('Who may connect (the catalogue\'s "Used by").');
export const AddressPeerClassSchema = z.enum(ADDRESS_PEER_CLASSES);
export const ProtocolSchema = z.enum(PROTOCOLS);
export const CatalogueProtocolSchema = z
  .enum(CATALOGUE_PROTOCOLS)
  .describe(
    `tcp or udp (with ports), or an IP protocol without ports: ${IP_PROTOCOLS.map((p) => `${p} (${IP_PROTOCOL_INFO[p].number})`).join(', ')}.`,
  );

export const HostAddressSchema = z
  .string()
  // Only checked here (ipVersion: see src/addresses.ts for its speed); the planner
  // parses an address only when a plan uses its peer class.
  .superRefine((value, ctx) => {
    if (!isHostAddress(value)) ctx.addIssue({ code: 'custom', message: isIpv4Mapped(value) ? ipv4MappedRefusal(value) : invalidHostAddress(value), input: value });
  })
  .describe('An IPv4 or IPv6 host address, without prefix.');

export const NetworkSchema = z
  .string()
  .superRefine((value, ctx) => {
    const parsed = parseNetwork(value);
    if (typeof parsed === 'string') ctx.addIssue({ code: 'custom', message: parsed, input: value });
  })
  .describe('An IPv4/IPv6 address or CIDR with host bits zero (10.0.0.0/24, fd00::/64).');

export const IdSchema = z
  .string()
  .regex(/^[a-z0-9](?:[a-z0-9-]{0,46}[a-z0-9])?$/, {
    message: 'invalid id (expected lowercase letters, digits and "-", at most 48 characters, e.g. "kube-apiserver")',
  });

export const OverrideSchema = z
  .strictObject({
    ports: PortsSchema.optional().describe('Replace the entry\'s ports (API server on 443, etcd on custom ports...).'),
    peers: z.array(PeerClassSchema).min(1).optional().describe('Replace who may connect.'),
    addPeers: z
      .array(PeerClassSchema)
      .min(1)
      .optional()
      .describe('Let these peers connect too (metrics-server reaching the kubelet from the pod network).'),
    usedBy: z.string().min(1).optional().describe('Who the added peers are, for the record (rule comments, plan).'),
  })
  .describe('Changes to one catalogue entry, keyed by its id.');

export const ProfileSelectionSchema = z
  .strictObject({
    distribution: z.string().optional().describe('kubeadm (default), k3s, rke2.'),
    cni: z.string().optional().describe('A CNI and its modes: calico, calico:vxlan, cilium:geneve+wireguard, flannel, canal, none.'),
    addons: z.array(z.string()).optional().describe('metrics-server, metallb, keepalived.'),
  })
  .describe('Catalogue profiles: the distribution\'s, the CNI\'s and add-ons\' ports. Command-line flags take precedence.');
