// Writes schema/*.json from the zod schemas that validate input at run time,
// and the generated fast check for cluster files (scripts/cluster-validator.ts).
// Run with `npm run schema:update`; a test fails when the committed files drift.
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { PACKAGE_PATHS } from '../src/paths.js';
import { renderJsonSchemas } from '../src/schema/json-schema.js';
import { CLUSTER_VALIDATOR_FILE, renderClusterValidatorSource } from './cluster-validator.js';

for (const [name, text] of Object.entries(renderJsonSchemas())) {
  const file = path.join(PACKAGE_PATHS.schema, name);
  await writeFile(file, text);
  process.stdout.write(`wrote ${path.relative(process.cwd(), file)}\n`);
}

const validatorFile = path.join(PACKAGE_PATHS.root, CLUSTER_VALIDATOR_FILE);
await writeFile(validatorFile, renderClusterValidatorSource());
process.stdout.write(`wrote ${path.relative(process.cwd(), validatorFile)} (run npm run build to compile it)\n`);
