import * as z from 'zod';
import { CatalogueFileSchema } from '../catalogue/schema.js';
import { ClusterSchema } from '../cluster/schema.js';

/** The JSON Schemas shipped for editors, derived from the same zod schemas that validate at run time. */
export function renderJsonSchemas(): Record<string, string> {
  const render = (schema: z.ZodType, id: string, title: string) =>
    JSON.stringify({ $id: id, title, ...z.toJSONSchema(schema, { target: 'draft-2020-12', io: 'input' }) }, null, 2) + '\n';
  return {
    'cluster.schema.json': render(ClusterSchema, 'https://kubewall.dev/schema/cluster.schema.json', 'kubewall cluster file'),
    'catalogue.schema.json': render(CatalogueFileSchema, 'https://kubewall.dev/schema/catalogue.schema.json', 'kubewall catalogue fragment'),
  };
}
