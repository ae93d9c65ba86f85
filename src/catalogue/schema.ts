import * as z from 'zod';
import { CatalogueProtocolSchema, IdSchema, OverrideSchema, PeerClassSchema, PortsSchema, RoleSchema } from '../input/schema-parts.js';
import { isIpProtocol, LOCAL_DESTINATIONS } from '../model.js';

export const SourceSchema = z
  .strictObject({
    document: z.string().min(1).describe('The document the entry was taken from.'),
    section: z.string().min(1).describe('The table or section inside that document.'),
    url: z.string().optional(),
  })
  .describe('Provenance: where this entry comes from, so a reviewer can check it.');

export const CatalogueEntrySchema = z
  .strictObject({
    id: IdSchema.describe('Unique id, used by overrides and in rule comments.'),
    purpose: z.string().min(1).max(80).describe('What listens on the port (or speaks the IP protocol).'),
    protocols: z
      .array(CatalogueProtocolSchema)
      .min(1)
      .describe('tcp and/or udp with `ports`; or IP protocols (ipip, esp, vrrp) in an entry of their own, without `ports`.'),
    ports: PortsSchema.optional().describe('Required for tcp and udp; absent for IP protocols, which have no ports.'),
    roles: z.array(RoleSchema).min(1).describe('The node roles that serve this port.'),
    peers: z.array(PeerClassSchema).min(1).describe('Who may connect.'),
    usedBy: z.string().min(1).describe('The "Used by" column as the source words it.'),
    dnatByKubeProxy: z
      .boolean()
      .optional()
      .describe('kube-proxy DNATs this traffic before INPUT, so it must be filtered before DNAT (NodePorts).'),
    modes: z
      .array(z.string().regex(/^[a-z0-9-]+$/))
      .min(1)
      .optional()
      .describe('Profiles only: the entry applies when one of these modes is chosen (calico:vxlan).'),
    destination: z
      .enum(LOCAL_DESTINATIONS)
      .optional()
      .describe('Match the destination address too: node-local-dns is the cluster file\'s nodeLocalDNS (default 169.254.20.10), an address local to every node.'),
    source: SourceSchema,
  })
  .superRefine((entry, ctx) => {
    const ip = entry.protocols.filter(isIpProtocol);
    const ported = entry.protocols.filter((p) => !isIpProtocol(p));
    if (ip.length > 0 && ported.length > 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['protocols'],
        input: entry.protocols,
        message: `${ported.join(', ')} take ports and ${ip.join(', ')} has none: give the IP protocol an entry of its own (expected either tcp/udp or IP protocols)`,
      });
      return;
    }
    if (ip.length > 0 && entry.ports !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['ports'], input: entry.ports, message: `IP protocol ${ip.join(', ')} has no ports (remove ports)` });
    }
    if (ip.length > 0 && entry.dnatByKubeProxy) {
      ctx.addIssue({ code: 'custom', path: ['dnatByKubeProxy'], input: true, message: `kube-proxy DNATs only tcp, udp and sctp ports, not IP protocol ${ip.join(', ')} (remove dnatByKubeProxy)` });
    }
    if (ported.length > 0 && entry.ports === undefined) {
      ctx.addIssue({ code: 'custom', path: ['ports'], input: undefined, message: `missing required key "ports" for ${ported.join(', ')} (expected a port, a range or a list of those)` });
    }
  })
  .describe('One catalogue entry: ports on tcp/udp, or IP protocols without ports, and who may reach them.');

export const ProfileHeaderSchema = z
  .strictObject({
    kind: z.enum(['distribution', 'cni', 'addon']),
    name: z.string().regex(/^[a-z0-9-]+$/),
    summary: z.string().min(1),
    modes: z.record(z.string().regex(/^[a-z0-9-]+$/), z.string()).optional().describe('Mode name: what it means.'),
    defaultModes: z.array(z.string()).optional(),
    defaultCni: z.string().optional().describe('Distributions: the CNI they ship with, used when none is chosen.'),
    cniOverrides: z
      .record(IdSchema, OverrideSchema)
      .optional()
      .describe('Distributions: changes to CNI entries, applied when the chosen CNI has that entry (RKE2 runs flannel VXLAN on 4789).'),
    notes: z
      .array(z.strictObject({ modes: z.array(z.string()).optional(), text: z.string().min(1) }))
      .optional()
      .describe('What a user must know about this profile; shown as plan warnings.'),
  })
  .describe('Makes a catalogue file a selectable profile (catalogue/profiles/<kind>/<name>.yaml).');

export const CatalogueFileSchema = z
  .strictObject({
    $schema: z.string().optional(),
    profile: ProfileHeaderSchema.optional(),
    entries: z.array(CatalogueEntrySchema),
    overrides: z.record(IdSchema, OverrideSchema).optional().describe('Changes to entries defined in other files.'),
  })
  .describe('A kubewall port catalogue fragment.');

export type CatalogueEntryInput = z.infer<typeof CatalogueEntrySchema>;
export type CatalogueFileInput = z.infer<typeof CatalogueFileSchema>;
export type ProfileHeaderInput = z.infer<typeof ProfileHeaderSchema>;
