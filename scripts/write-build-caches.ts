// Run by `npm run build`: writes the build caches described in src/build-cache.ts
// (the shipped catalogue validated, the shipped templates precompiled).
import fg from 'fast-glob';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { BUILD_CACHE_FILES } from '../src/build-cache.js';
import { builtinCatalogueFiles, parseCatalogueFile, type CatalogueCache } from '../src/catalogue/load-catalogue.js';
import { PACKAGE_PATHS } from '../src/paths.js';
import { precompileTemplate } from '../src/render/precompile.js';

// Every shipped catalogue file, profiles included; conflicts between them are the tests' business.
const files: Record<string, CatalogueCache['files'][string]> = {};
for (const name of await builtinCatalogueFiles()) {
  const text = await readFile(path.join(PACKAGE_PATHS.catalogue, name), 'utf8');
  files[name] = { source: text, input: (await parseCatalogueFile(text, `catalogue/${name}`)).input };
}
await mkdir(path.dirname(BUILD_CACHE_FILES.catalogue), { recursive: true });
await writeFile(BUILD_CACHE_FILES.catalogue, JSON.stringify({ files } satisfies CatalogueCache));

// The shipped templates, precompiled with the options the engine uses.
const templateSpecs: Record<string, string> = {};
for (const file of (await fg('**/*.hbs', { cwd: PACKAGE_PATHS.templates })).sort()) {
  const source = await readFile(path.join(PACKAGE_PATHS.templates, file), 'utf8');
  templateSpecs[source] = precompileTemplate(source);
}
await writeFile(BUILD_CACHE_FILES.templates, JSON.stringify(templateSpecs));
