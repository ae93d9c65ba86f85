// Run by `npm run build`: writes the build caches described in src/build-cache.ts
// (the shipped catalogue validated, the shipped templates precompiled).
import fg from 'fast-glob';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { buildCatalogue } from '../src/catalogue/catalogue.js';
import { BUILD_CACHE_FILES, sha256 } from '../src/build-cache.js';
import { builtinCatalogueFiles, parseCatalogueFragment, type CatalogueCache } from '../src/catalogue/load-catalogue.js';
import { PACKAGE_PATHS } from '../src/paths.js';
import { precompileTemplate } from '../src/render/template-engine.js';

const files: Record<string, CatalogueCache['files'][string]> = {};
const fragments = [];
for (const name of await builtinCatalogueFiles()) {
  const text = await readFile(path.join(PACKAGE_PATHS.catalogue, name), 'utf8');
  const fragment = await parseCatalogueFragment(text, `catalogue/${name}`);
  fragments.push(fragment);
  files[name] = { sha256: sha256(text), entries: fragment.entries };
}
buildCatalogue(fragments); // the shipped files must not conflict with each other
await mkdir(path.dirname(BUILD_CACHE_FILES.catalogue), { recursive: true });
await writeFile(BUILD_CACHE_FILES.catalogue, JSON.stringify({ files } satisfies CatalogueCache));

// The shipped templates, precompiled with the options the engine uses.
const templateSpecs: Record<string, string> = {};
for (const file of (await fg('**/*.hbs', { cwd: PACKAGE_PATHS.templates })).sort()) {
  const source = await readFile(path.join(PACKAGE_PATHS.templates, file), 'utf8');
  templateSpecs[sha256(source)] = precompileTemplate(source);
}
await writeFile(BUILD_CACHE_FILES.templates, JSON.stringify(templateSpecs));
