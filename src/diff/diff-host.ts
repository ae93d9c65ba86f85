import { requireExpressible } from '../backends/capabilities.js';
import { getBackend } from '../backends/registry.js';
import type { Backend, BackendOptions } from '../backends/types.js';
import { KubewallError } from '../errors.js';
import { guardReadOnly } from '../host/read-only.js';
import { readSavedDumpText } from '../host/saved-dump.js';
import type { CommandRunner, HostReader, HostUnread, RawHostState } from '../host/types.js';
import type { Plan } from '../plan/types.js';
import { diffRulesets } from './diff-rulesets.js';
import type { DiffReport } from './format-diff.js';
import { normalizePlan } from './normalize-plan.js';
import type { NormalizedRuleset } from './types.js';

/** Where the host's state comes from: the live host through a runner, a saved dump, or the file holding one. */
export type HostSource =
  | { readonly kind: 'live'; readonly runner: CommandRunner }
  | { readonly kind: 'saved'; readonly text: string; readonly origin: string }
  | { readonly kind: 'saved-file'; readonly path: string; readonly origin: string };

/** The raw state from a saved source: the reader's own file reading when it has one (and takes the file), else the whole text. */
function fromSavedSource(reader: HostReader, source: Exclude<HostSource, { kind: 'live' }>): RawHostState {
  if (source.kind === 'saved') return reader.fromSaved(source.text, source.origin);
  return reader.fromSavedFile?.(source.path, source.origin) ?? reader.fromSaved(readSavedDumpText(source.path), source.origin);
}

export async function getHostReader(backendName: string): Promise<HostReader> {
  const backend = await getBackend(backendName);
  if (!backend.hostReader) {
    throw new KubewallError('USAGE', `diff cannot read the ${backend.name} backend's host state yet (it renders, but has no host reader)`);
  }
  return backend.hostReader;
}

/**
 * Diffs a plan against a host: gathers (read-only, through the guarded
 * runner) or takes a saved dump, parses, normalizes both sides, compares.
 */
export async function diffHost(plan: Plan, backendName: string, source: HostSource, options: BackendOptions = {}): Promise<DiffReport> {
  return diffWithReader(plan, await getBackend(backendName), await getHostReader(backendName), source, options);
}

/** The desired side without what the host's dump did not hold (see `HostState.unread`). */
export function omitUnread(desired: NormalizedRuleset, unread: HostUnread | undefined): NormalizedRuleset {
  if (!unread) return desired;
  const families = new Set(unread.families ?? []);
  const details = new Set(unread.chainDetails ?? []);
  return {
    ...desired,
    chains: desired.chains.map((chain) => ({ ...chain, details: Object.fromEntries(Object.entries(chain.details).filter(([key]) => !details.has(key))) })),
    rules: desired.rules.filter((rule) => rule.family === null || !families.has(rule.family)),
    sets: unread.sets ? [] : desired.sets.filter((set) => !families.has(set.family)),
  };
}

/** `diffHost` with the backend and reader given, not looked up: the seam tests use. */
export async function diffWithReader(
  plan: Plan,
  backend: Pick<Backend, 'name' | 'capabilities'>,
  reader: HostReader,
  source: HostSource,
  options: BackendOptions = {},
): Promise<DiffReport> {
  // What render refuses (ufw and IP-in-IP) diff refuses too, before reading the host.
  requireExpressible(plan, backend.name, backend.capabilities);
  const raw = source.kind === 'live' ? await reader.gather(guardReadOnly(source.runner), options) : fromSavedSource(reader, source);
  const host = await reader.parse(raw);
  const desired = omitUnread(reader.normalizePlan ? reader.normalizePlan(plan, backend.capabilities) : normalizePlan(plan, backend.capabilities, host.ruleset.scope), host.unread);
  return { backend: backend.name, roles: plan.roles, source: raw.source, result: diffRulesets(desired, host.ruleset), warnings: host.warnings };
}
