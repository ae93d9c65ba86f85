import fg from 'fast-glob';
import path from 'node:path';
import { KubewallError } from '../errors.js';
import { parseSourceDocument, validateDocument } from '../input/read-document.js';
import { readTextFile } from '../input/read-file.js';
import { PACKAGE_PATHS } from '../paths.js';
import { buildCatalogue, type Catalogue, type CatalogueFragment } from './catalogue.js';
import { CatalogueFileSchema } from './schema.js';

export interface LoadCatalogueOptions {
  /** Extra fragments: files or globs (`ports.d/*.yaml`), relative to `cwd`. */
  readonly patterns?: readonly string[];
  /** Leave out the catalogue shipped with kubewall (the seed). Default false. */
  readonly withoutBuiltin?: boolean;
  readonly cwd?: string;
}

const CATALOGUE_FILES = '*.{yaml,yml,json}';

/** Reads and validates one catalogue file. */
export async function readCatalogueFragment(file: string, displayName = file): Promise<CatalogueFragment> {
  const text = await readTextFile(file, 'CATALOGUE', 'catalogue file');
  const doc = parseSourceDocument(text, displayName, 'CATALOGUE');
  const parsed = validateDocument(CatalogueFileSchema, doc, 'CATALOGUE');
  return { file: displayName, entries: parsed.entries, locate: doc.locate };
}

/** The shipped catalogue files, named relative to the package (`catalogue/kubernetes.yaml`). */
export async function builtinCatalogueFiles(): Promise<string[]> {
  const files = await fg(CATALOGUE_FILES, { cwd: PACKAGE_PATHS.catalogue, onlyFiles: true });
  return files.sort();
}

/**
 * Loads the shipped catalogue plus the user's fragments, found with
 * fast-glob. A pattern that matches nothing is an error: a typo in
 * `--catalogue` must not silently drop ports.
 */
export async function loadCatalogue(options: LoadCatalogueOptions = {}): Promise<Catalogue> {
  const cwd = options.cwd ?? process.cwd();
  const jobs: Promise<CatalogueFragment>[] = [];
  if (!options.withoutBuiltin) {
    for (const file of await builtinCatalogueFiles()) {
      jobs.push(readCatalogueFragment(path.join(PACKAGE_PATHS.catalogue, file), `catalogue/${file}`));
    }
  }
  for (const pattern of options.patterns ?? []) {
    const matches = fg.isDynamicPattern(pattern)
      ? (await fg(pattern, { cwd, onlyFiles: true })).sort()
      : [pattern];
    if (matches.length === 0) {
      throw new KubewallError('CATALOGUE', `--catalogue ${JSON.stringify(pattern)}: no files match (expected YAML or JSON catalogue fragments, e.g. 'ports.d/*.yaml')`);
    }
    for (const file of matches) jobs.push(readCatalogueFragment(path.resolve(cwd, file), file));
  }
  return buildCatalogue(await Promise.all(jobs));
}
