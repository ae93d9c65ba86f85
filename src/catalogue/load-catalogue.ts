import { showValue } from '../text/terminal.js';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { BUILD_CACHE_FILES, readBuildCache } from '../build-cache.js';
import { KubewallError, type KubewallErrorCode } from '../errors.js';
import { parseSourceDocument } from '../input/read-document.js';
import { readTextFile } from '../input/read-file.js';
import { PACKAGE_PATHS } from '../paths.js';
import { buildCatalogue, type Catalogue, type CatalogueFragment } from './catalogue.js';
import type { CatalogueFileInput } from './schema.js';

/** A profile choice and where it was made, so an unknown name is reported in the right words. */
export interface ProfileChoice {
  readonly value: string;
  /** `--cni` or `cluster.yaml:12:8: profiles.cni`. */
  readonly where: string;
  readonly code: KubewallErrorCode;
}

/** Which catalogue profiles to add: the distribution's, the CNI's (with modes) and add-ons' ports. */
export interface ProfileSelection {
  /** kubeadm (the default: the seed catalogue itself), k3s, rke2. */
  readonly distribution?: ProfileChoice | undefined;
  /** `calico`, `calico:vxlan`, `cilium:geneve+wireguard`, `none`; default: the distribution's CNI, else none. */
  readonly cni?: ProfileChoice | undefined;
  readonly addons?: readonly ProfileChoice[] | undefined;
}

export interface LoadCatalogueOptions {
  /** Extra fragments: files or globs (`ports.d/*.yaml`), relative to `cwd`. */
  readonly patterns?: readonly string[] | undefined;
  readonly profiles?: ProfileSelection | undefined;
  /** Leave out the catalogue shipped with kubewall (the seed). Default false. */
  readonly withoutBuiltin?: boolean | undefined;
  readonly cwd?: string | undefined;
}

const CATALOGUE_FILE = /\.(ya?ml|json)$/;
const PROFILE_KINDS = ['distribution', 'cni', 'addon'] as const;
type ProfileKind = (typeof PROFILE_KINDS)[number];
/** Profiles that add nothing: kubeadm is what the seed catalogue describes; none is no CNI ports. */
const IMPLICIT_PROFILES: Record<ProfileKind, string | undefined> = { distribution: 'kubeadm', cni: 'none', addon: undefined };

export interface ParsedFile {
  readonly input: CatalogueFileInput;
  readonly locate: (path: readonly PropertyKey[]) => string;
}

/** Validates a catalogue file's text (also used to build the cache). */
export async function parseCatalogueFile(text: string, file: string): Promise<ParsedFile> {
  // zod and yaml load only when a catalogue file is really parsed (not for the cached shipped ones).
  const [{ CatalogueFileSchema }, { validateDocument }] = await Promise.all([import('./schema.js'), import('../input/validate-document.js')]);
  const doc = parseSourceDocument(text, file, 'CATALOGUE');
  return { input: validateDocument(CatalogueFileSchema, doc, 'CATALOGUE'), locate: doc.locate };
}

function toFragment(file: string, parsed: ParsedFile, profile?: CatalogueFragment['profile']): CatalogueFragment {
  return { file, entries: parsed.input.entries, overrides: parsed.input.overrides, locate: parsed.locate, profile };
}

/** Parses and validates catalogue text; `file` is how messages name it. */
export async function parseCatalogueFragment(text: string, file: string): Promise<CatalogueFragment> {
  return toFragment(file, await parseCatalogueFile(text, file));
}

/** Reads and validates one catalogue file. */
export async function readCatalogueFragment(file: string, displayName = file): Promise<CatalogueFragment> {
  return parseCatalogueFragment(await readTextFile(file, 'CATALOGUE', 'catalogue file'), displayName);
}

/** The shipped catalogue files, relative to the catalogue folder (`kubernetes.yaml`, `profiles/cni/calico.yaml`), sorted. */
export async function builtinCatalogueFiles(): Promise<string[]> {
  const entries = readdirSync(PACKAGE_PATHS.catalogue, { recursive: true, encoding: 'utf8' });
  return entries.filter((name) => CATALOGUE_FILE.test(name)).map((name) => name.split(path.sep).join('/')).sort();
}

/**
 * What `npm run build` stores for the shipped files: each file validated, by
 * source text, so a plain `kubewall render` skips YAML and schema work. A
 * file whose text differs (edited after the build) is parsed as usual.
 */
export interface CatalogueCache {
  readonly files: Readonly<Record<string, { readonly source: string; readonly input: CatalogueFileInput }>>;
}

let cachePromise: Promise<CatalogueCache | undefined> | undefined;

/** Reads a shipped catalogue file (`profiles/cni/calico.yaml`), from the build cache when it is current. */
async function readShippedFile(name: string): Promise<ParsedFile & { display: string }> {
  cachePromise ??= readBuildCache<CatalogueCache>(BUILD_CACHE_FILES.catalogue);
  const display = `catalogue/${name}`;
  const text = await readTextFile(path.join(PACKAGE_PATHS.catalogue, name), 'CATALOGUE', 'catalogue file');
  const cached = (await cachePromise)?.files[name];
  if (cached && cached.source === text) {
    return { display, input: cached.input, locate: (p) => parseSourceDocument(text, display, 'CATALOGUE').locate(p) };
  }
  return { display, ...(await parseCatalogueFile(text, display)) };
}

/**
 * Every entry of every shipped profile, with the profile's kind, name, modes
 * and default modes (for `kubewall audit`: which flag would open a port).
 */
export async function shippedProfileEntries(): Promise<{ kind: ProfileKind; name: string; defaultModes: readonly string[]; entries: CatalogueFileInput['entries'] }[]> {
  const files = (await builtinCatalogueFiles()).filter((file) => /^profiles\/(distribution|cni|addon)\/[a-z0-9-]+\.ya?ml$/.test(file));
  return Promise.all(
    files.map(async (file) => {
      const [, kind, name] = /^profiles\/(distribution|cni|addon)\/([a-z0-9-]+)\.ya?ml$/.exec(file)!;
      const parsed = await readShippedFile(file);
      return { kind: kind as ProfileKind, name: name!, defaultModes: parsed.input.profile?.defaultModes ?? [], entries: parsed.input.entries };
    }),
  );
}

/** The profiles kubewall ships, by kind: `{ cni: ['calico', 'canal', ...], ... }`. */
export async function availableProfiles(): Promise<Record<ProfileKind, string[]>> {
  const files = await builtinCatalogueFiles();
  const out = { distribution: [], cni: [], addon: [] } as Record<ProfileKind, string[]>;
  for (const file of files) {
    const match = /^profiles\/(distribution|cni|addon)\/([a-z0-9-]+)\.ya?ml$/.exec(file);
    if (match) out[match[1] as ProfileKind].push(match[2]!);
  }
  for (const kind of PROFILE_KINDS) {
    const implicit = IMPLICIT_PROFILES[kind];
    if (implicit && !out[kind].includes(implicit)) out[kind].push(implicit);
    out[kind].sort();
  }
  return out;
}

async function loadProfile(kind: ProfileKind, choice: ProfileChoice, available: Record<ProfileKind, string[]>): Promise<CatalogueFragment | undefined> {
  const [name = '', modeText] = choice.value.split(':');
  if (!available[kind].includes(name)) {
    throw new KubewallError(choice.code, `${choice.where}: unknown ${kind} ${showValue(name)} (expected ${available[kind].join(', ')})`);
  }
  if (name === IMPLICIT_PROFILES[kind]) {
    if (modeText !== undefined) throw new KubewallError(choice.code, `${choice.where}: ${kind} ${name} has no modes (got ${showValue(choice.value)})`);
    return undefined;
  }
  const file = await readShippedFile(`profiles/${kind}/${name}.yaml`);
  const header = file.input.profile;
  if (!header) throw new KubewallError('CATALOGUE', `${file.display}: not a profile (expected a profile: section)`);
  const known = Object.keys(header.modes ?? {});
  const modes = modeText === undefined ? (header.defaultModes ?? []) : modeText.split('+').filter((m) => m !== '');
  const unknown = modes.filter((mode) => !known.includes(mode));
  if (unknown.length > 0 || (modeText !== undefined && modes.length === 0)) {
    throw new KubewallError(
      choice.code,
      `${choice.where}: unknown mode ${showValue(unknown[0] ?? modeText)} for ${kind} ${name} (expected ${known.length > 0 ? known.map((m) => `${name}:${m}`).join(', ') : `${name} without modes`}; join modes with +, e.g. ${name}:${known.slice(0, 2).join('+')})`,
    );
  }
  const notes = (header.notes ?? [])
    .filter((note) => !note.modes || note.modes.some((m) => modes.includes(m)))
    .map((note) => `${kind} ${name}: ${note.text}`);
  const label = `${kind} ${name}${modes.length > 0 ? ` (modes: ${modes.join(', ')})` : ''}`;
  return { ...toFragment(file.display, file, { label, modes, notes }), overridesIfPresent: header.cniOverrides };
}

/**
 * Said on stderr and in every rendered header when no CNI was chosen: a
 * default-drop input policy without the CNI's ports silently breaks pod
 * networking between nodes (encapsulated packets are addressed to the node).
 */
export const NO_CNI_WARNING =
  'no CNI chosen: no overlay or CNI port is open, so pod traffic between nodes is dropped if your CNI encapsulates (VXLAN, Geneve, IP-in-IP, WireGuard) or peers over BGP; choose it with --cni NAME (calico, canal, cilium, flannel) or profiles.cni in the cluster file, or say --cni none if your CNI needs no host ports';

interface LoadedProfiles {
  readonly fragments: CatalogueFragment[];
  /** False when neither the user nor the distribution named a CNI (`none` counts as named). */
  readonly cniChosen: boolean;
}

/** The fragments of the selected profiles: distribution, then CNI (default: the distribution's), then add-ons. */
async function loadProfiles(selection: ProfileSelection): Promise<LoadedProfiles> {
  const wanted = selection.distribution !== undefined || selection.cni !== undefined || (selection.addons?.length ?? 0) > 0;
  if (!wanted) return { fragments: [], cniChosen: false };
  const available = await availableProfiles();
  const fragments: CatalogueFragment[] = [];
  const distribution = selection.distribution ? await loadProfile('distribution', selection.distribution, available) : undefined;
  if (distribution) fragments.push(distribution);
  const distributionCni = distribution ? (await readShippedFile(`profiles/distribution/${selection.distribution!.value}.yaml`)).input.profile?.defaultCni : undefined;
  const cniChoice =
    selection.cni ?? (distributionCni ? { value: distributionCni, where: `${distribution!.file}: profile.defaultCni`, code: 'CATALOGUE' as const } : undefined);
  const cni = cniChoice ? await loadProfile('cni', cniChoice, available) : undefined;
  if (cni) fragments.push(cni);
  const seen = new Map<string, ProfileChoice>();
  for (const addon of selection.addons ?? []) {
    // Blame the user's list (the flag or the cluster file), not the shipped profile whose ids would then collide.
    const first = seen.get(addon.value);
    if (first) throw new KubewallError(addon.code, `${addon.where}: add-on ${showValue(addon.value)} is listed twice (first at ${first.where}); list each add-on once`);
    seen.set(addon.value, addon);
    const fragment = await loadProfile('addon', addon, available);
    if (fragment) fragments.push(fragment);
  }
  return { fragments, cniChosen: cniChoice !== undefined };
}

/**
 * Loads the shipped catalogue, the selected profiles and the user's
 * fragments (found with fast-glob). A pattern that matches nothing is an
 * error: a typo in `--catalogue` must not silently drop ports.
 */
export async function loadCatalogue(options: LoadCatalogueOptions = {}): Promise<Catalogue> {
  const cwd = options.cwd ?? process.cwd();
  const base = options.withoutBuiltin
    ? Promise.resolve([])
    : builtinCatalogueFiles().then((files) =>
        Promise.all(files.filter((name) => !name.includes('/')).map(async (name) => {
          const file = await readShippedFile(name);
          return toFragment(file.display, file);
        })),
      );
  const profiles = loadProfiles(options.profiles ?? {});
  const fragments: Promise<CatalogueFragment[]>[] = [base, profiles.then((p) => p.fragments)];
  const patterns = options.patterns ?? [];
  if (patterns.length > 0) {
    const { default: fg } = await import('fast-glob');
    for (const pattern of patterns) {
      if (pattern.trim() === '') throw new KubewallError('USAGE', `--catalogue: empty pattern (expected a file or glob of YAML or JSON catalogue fragments, e.g. 'ports.d/*.yaml')`);
      const matches = fg.isDynamicPattern(pattern) ? (await fg(pattern, { cwd, onlyFiles: true })).sort() : [pattern];
      if (matches.length === 0) {
        throw new KubewallError('CATALOGUE', `--catalogue ${showValue(pattern)}: no files match (expected YAML or JSON catalogue fragments, e.g. 'ports.d/*.yaml')`);
      }
      fragments.push(Promise.all(matches.map((file) => readCatalogueFragment(path.resolve(cwd, file), file))));
    }
  }
  const catalogue = buildCatalogue((await Promise.all(fragments)).flat());
  if ((await profiles).cniChosen || options.withoutBuiltin) return catalogue;
  return { ...catalogue, notes: [NO_CNI_WARNING, ...(catalogue.notes ?? [])] };
}
