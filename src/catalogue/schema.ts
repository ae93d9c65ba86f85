import * as z from 'zod';
import { IdSchema, PeerClassSchema, PortsSchema, ProtocolSchema, RoleSchema } from '../input/schema-parts.js';

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
    source: SourceSchema,
  })
  .describe('One port catalogue entry.');

export const CatalogueFileSchema = z
  .strictObject({
    $schema: z.string().optional(),
    entries: z.array(CatalogueEntrySchema),
  })
  .describe('A kubewall port catalogue fragment.');

export type CatalogueEntryInput = z.infer<typeof CatalogueEntrySchema>;
export type CatalogueFileInput = z.infer<typeof CatalogueFileSchema>;
