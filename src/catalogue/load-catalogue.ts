import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { BUILD_CACHE_FILES, readBuildCache, sha256 } from '../build-cache.js';
import { KubewallError } from '../errors.js';
import { parseSourceDocument } from '../input/read-document.js';
import { readTextFile } from '../input/read-file.js';
import { PACKAGE_PATHS } from '../paths.js';
import { buildCatalogue, type Catalogue, type CatalogueFragment } from './catalogue.js';
import type { CatalogueEntryInput } from './schema.js';

export interface LoadCatalogueOptions {
  /** Extra fragments: files or globs (`ports.d/*.yaml`), relative to `cwd`. */
  readonly patterns?: readonly string[] | undefined;
  /** Leave out the catalogue shipped with kubewall (the seed). Default false. */
  readonly withoutBuiltin?: boolean | undefined;
  readonly cwd?: string | undefined;
}

const CATALOGUE_FILE = /\.(ya?ml|json)$/;

/** Parses and validates catalogue text; `file` is how messages name it. */
export async function parseCatalogueFragment(text: string, file: string): Promise<CatalogueFragment> {
  // zod and yaml load only when a catalogue file is really parsed (not for the cached built-in one).
  const [{ CatalogueFileSchema }, { validateDocument }] = await Promise.all([import('./schema.js'), import('../input/validate-document.js')]);
  const doc = parseSourceDocument(text, file, 'CATALOGUE');
  const parsed = validateDocument(CatalogueFileSchema, doc, 'CATALOGUE');
  return { file, entries: parsed.entries, locate: doc.locate };
}

/** Reads and validates one catalogue file. */
export async function readCatalogueFragment(file: string, displayName = file): Promise<CatalogueFragment> {
  return parseCatalogueFragment(await readTextFile(file, 'CATALOGUE', 'catalogue file'), displayName);
}

/** The shipped catalogue files, named relative to the catalogue folder, sorted. */
export async function builtinCatalogueFiles(): Promise<string[]> {
  return (await readdir(PACKAGE_PATHS.catalogue)).filter((name) => CATALOGUE_FILE.test(name)).sort();
}

/**
 * What `npm run build` stores for the shipped files: their validated entries
 * by content hash, so a plain `kubewall render` skips YAML and schema work.
 * A file whose hash differs (edited after the build) is parsed as usual.
 */
export interface CatalogueCache {
  readonly files: Readonly<Record<string, { readonly sha256: string; readonly entries: readonly CatalogueEntryInput[] }>>;
}

async function loadBuiltinFragments(): Promise<CatalogueFragment[]> {
  const [files, cache] = await Promise.all([builtinCatalogueFiles(), readBuildCache<CatalogueCache>(BUILD_CACHE_FILES.catalogue)]);
  return Promise.all(
    files.map(async (name) => {
      const display = `catalogue/${name}`;
      const text = await readTextFile(path.join(PACKAGE_PATHS.catalogue, name), 'CATALOGUE', 'catalogue file');
      const cached = cache?.files[name];
      if (cached && cached.sha256 === sha256(text)) {
        return { file: display, entries: cached.entries, locate: (p: readonly PropertyKey[]) => parseSourceDocument(text, display, 'CATALOGUE').locate(p) };
      }
      return parseCatalogueFragment(text, display);
    }),
  );
}

/**
 * Loads the shipped catalogue plus the user's fragments, found with
 * fast-glob. A pattern that matches nothing is an error: a typo in
 * `--catalogue` must not silently drop ports.
 */
export async function loadCatalogue(options: LoadCatalogueOptions = {}): Promise<Catalogue> {
  const cwd = options.cwd ?? process.cwd();
  const fragments: Promise<CatalogueFragment[]>[] = [options.withoutBuiltin ? Promise.resolve([]) : loadBuiltinFragments()];
  const patterns = options.patterns ?? [];
  if (patterns.length > 0) {
    const { default: fg } = await import('fast-glob');
    for (const pattern of patterns) {
      const matches = fg.isDynamicPattern(pattern) ? (await fg(pattern, { cwd, onlyFiles: true })).sort() : [pattern];
      if (matches.length === 0) {
        throw new KubewallError('CATALOGUE', `--catalogue ${JSON.stringify(pattern)}: no files match (expected YAML or JSON catalogue fragments, e.g. 'ports.d/*.yaml')`);
      }
      fragments.push(Promise.all(matches.map((file) => readCatalogueFragment(path.resolve(cwd, file), file))));
    }
  }
  return buildCatalogue((await Promise.all(fragments)).flat());
}
