import * as z from 'zod';
import { CatalogueEntrySchema, CatalogueFileSchema } from '../catalogue/schema.js';
import { ClusterSchema } from '../cluster/schema.js';
import { IP_PROTOCOLS, PROTOCOLS } from '../model.js';

/**
 * The entry's refinement (ports for tcp/udp, none for IP protocols) has no
 * JSON Schema of its own; written out here so editors flag it too.
 */
const ENTRY_PORT_RULES = [
  { if: { properties: { protocols: { contains: { enum: [...PROTOCOLS] } } } }, then: { required: ['ports'] } },
  {
    if: { properties: { protocols: { contains: { enum: [...IP_PROTOCOLS] } } } },
    then: { not: { required: ['ports'] }, properties: { protocols: { items: { enum: [...IP_PROTOCOLS] } } } },
  },
];

/** The JSON Schemas shipped for editors, derived from the same zod schemas that validate at run time. */
export function renderJsonSchemas(): Record<string, string> {
  const render = (schema: z.ZodType, id: string, title: string) =>
    JSON.stringify(
      {
        $id: id,
        title,
        ...z.toJSONSchema(schema, {
          target: 'draft-2020-12',
          io: 'input',
          override: (ctx) => {
            if (ctx.zodSchema === (CatalogueEntrySchema as unknown)) ctx.jsonSchema.allOf = ENTRY_PORT_RULES;
          },
        }),
      },
      null,
      2,
    ) + '\n';
  return {
    'cluster.schema.json': render(ClusterSchema, 'https://kubewall.dev/schema/cluster.schema.json', 'kubewall cluster file'),
    'catalogue.schema.json': render(CatalogueFileSchema, 'https://kubewall.dev/schema/catalogue.schema.json', 'kubewall catalogue fragment'),
  };
}
