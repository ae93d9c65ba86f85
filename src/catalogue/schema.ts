import * as z from 'zod';
import { IdSchema, OverrideSchema, PeerClassSchema, PortsSchema, ProtocolSchema, RoleSchema } from '../input/schema-parts.js';

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
    purpose: z.string().min(1).max(80).describe('What listens on the port.'),
    protocols: z.array(ProtocolSchema).min(1),
    ports: PortsSchema,
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
    source: SourceSchema,
  })
  .describe('One port catalogue entry.');

export const ProfileHeaderSchema = z
  .strictObject({
    kind: z.enum(['distribution', 'cni', 'addon']),
    name: z.string().regex(/^[a-z0-9-]+$/),
    summary: z.string().min(1),
    modes: z.record(z.string().regex(/^[a-z0-9-]+$/), z.string()).optional().describe('Mode name: what it means.'),
    defaultModes: z.array(z.string()).optional(),
    defaultCni: z.string().optional().describe('Distributions: the CNI they ship with, used when none is chosen.'),
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
