import { getBackend, requireAudit } from '../backends/registry.js';
import type { BackendOptions } from '../backends/types.js';
import { shippedProfileEntries } from '../catalogue/load-catalogue.js';
import type { Catalogue } from '../catalogue/catalogue.js';
import { guardReadOnly } from '../host/read-only.js';
import type { CommandRunner } from '../host/types.js';
import { parsePortSpec } from '../ports.js';
import type { Plan } from '../plan/types.js';
import { explainRecords, type AuditFinding, type ProfileCandidate } from './explain.js';
import { AUDIT_API_VERSION, type AuditRecord } from './types.js';

/** Where the records come from: the live host through a runner (guarded here), or a saved dump. */
export type AuditSource = { readonly kind: 'live'; readonly runner: CommandRunner } | { readonly kind: 'saved'; readonly text: string; readonly origin: string };

export interface AuditReport {
  readonly apiVersion: typeof AUDIT_API_VERSION;
  readonly backend: string;
  readonly roles: readonly string[];
  /** `live` or the --from file. */
  readonly source: string;
  /** The records, most packets first, each with its explanation. */
  readonly findings: readonly AuditFinding[];
  /** What the reader could not find (no audit sets: the audit render is not applied). */
  readonly notes: readonly string[];
}

/**
 * The entries of shipped profiles the plan did not select, with the flag
 * that selects each: what `explainRecords` offers when no loaded entry has a
 * port. Entries already in the catalogue (selected) are left out.
 */
export async function profileCandidates(catalogue: Catalogue): Promise<ProfileCandidate[]> {
  const loaded = new Set(catalogue.entries.map((e) => e.id));
  const out: ProfileCandidate[] = [];
  for (const profile of await shippedProfileEntries()) {
    for (const entry of profile.entries) {
      if (loaded.has(entry.id)) continue;
      const ports = entry.ports === undefined ? [] : parsePortSpec(entry.ports);
      if (typeof ports === 'string') continue;
      const mode = entry.modes && !entry.modes.some((m) => profile.defaultModes.includes(m)) ? `:${entry.modes[0]}` : '';
      const flag = profile.kind === 'addon' ? `--addon ${profile.name}` : `--${profile.kind} ${profile.name}${profile.kind === 'cni' ? mode : ''}`;
      out.push({
        flag,
        profile: `${profile.kind} ${profile.name}${mode === '' ? '' : ` (mode ${mode.slice(1)})`}`,
        entry: entry.id,
        purpose: entry.purpose,
        protocols: entry.protocols,
        ports,
        roles: entry.roles,
        peers: entry.peers,
      });
    }
  }
  return out;
}

/** Most packets first, then by source, protocol and port: a stable order. */
function byPackets(a: AuditRecord, b: AuditRecord): number {
  return (b.packets ?? 0) - (a.packets ?? 0) || a.source.localeCompare(b.source) || a.protocol.localeCompare(b.protocol) || (a.port ?? 0) - (b.port ?? 0);
}

/** Reads the recorded would-be drops (read-only) and explains each against the plan. */
export async function runAudit(plan: Plan, catalogue: Catalogue, backendName: string, source: AuditSource, options: BackendOptions = {}): Promise<AuditReport> {
  requireAudit(backendName);
  const audit = (await getBackend(backendName)).audit!;
  let text: string;
  let origin: string;
  const notes: string[] = [];
  if (source.kind === 'live') {
    const gathered = await audit.gather(guardReadOnly(source.runner), options);
    text = gathered.text;
    origin = 'live';
    notes.push(...gathered.notes);
  } else {
    text = source.text;
    origin = source.origin;
  }
  const parsed = audit.parse(text, origin === 'live' ? audit.commands.join(', ') : origin);
  notes.push(...parsed.notes);
  const candidates = await profileCandidates(catalogue);
  const findings = explainRecords([...parsed.records].sort(byPackets), { plan, catalogue: catalogue.entries, candidates });
  return { apiVersion: AUDIT_API_VERSION, backend: backendName, roles: plan.roles, source: origin, findings, notes };
}
