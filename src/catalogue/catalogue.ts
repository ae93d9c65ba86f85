import { KubewallError } from '../errors.js';
import { isIpProtocol, ROLES, type IpProtocol, type LocalDestination, type PeerClass, type PortRange, type Protocol, type Role } from '../model.js';
import { formatPortRanges, parsePortSpec, rangesOverlap, type PortSpec } from '../ports.js';
import type { CatalogueEntryInput } from './schema.js';

export interface EntrySource {
  readonly document: string;
  readonly section: string;
  readonly url?: string | undefined;
}

/**
 * One validated catalogue entry: a port (range) that some roles serve, or IP
 * protocols without ports they speak (IP-in-IP, ESP, VRRP), and who may reach it.
 */
export interface CatalogueEntry {
  readonly id: string;
  readonly purpose: string;
  /** Protocols with ports; empty for an IP-protocol entry. */
  readonly protocols: readonly Protocol[];
  /** Empty for an IP-protocol entry. */
  readonly ports: readonly PortRange[];
  /** IP protocols without ports; empty for a port entry (the schema keeps the two kinds apart). */
  readonly ipProtocols: readonly IpProtocol[];
  readonly roles: readonly Role[];
  readonly peers: readonly PeerClass[];
  readonly usedBy: string;
  readonly dnatByKubeProxy: boolean;
  /** The rule also matches this destination (an address local to every node), else any. */
  readonly destination: LocalDestination | null;
  readonly source: EntrySource;
  /** Where the entry was defined (and overridden), e.g. `catalogue/kubernetes.yaml: entries[0]`. */
  readonly origin: string;
  /** The profile that added it (`cni calico`), if any. */
  readonly profile?: string | undefined;
}

export interface Catalogue {
  readonly entries: readonly CatalogueEntry[];
  /** The files the entries came from, in load order. */
  readonly files: readonly string[];
  /** The selected profiles, e.g. `cni calico (modes: vxlan)`. */
  readonly profiles?: readonly string[];
  /** What the selected profiles say a user must know; the planner repeats them as warnings. */
  readonly notes?: readonly string[];
}

/** A parsed catalogue file, before it joins the others. */
export interface CatalogueFragment {
  readonly file: string;
  readonly entries: readonly CatalogueEntryInput[];
  readonly locate: (path: readonly PropertyKey[]) => string;
  /** Changes this file makes to entries defined elsewhere (profiles). */
  readonly overrides?: EntryOverrides | undefined;
  /** Changes to entries that apply only when another profile brings them (a distribution's CNI ports). */
  readonly overridesIfPresent?: EntryOverrides | undefined;
  /** For a profile: its label and the modes chosen; entries with `modes` apply only for those. */
  readonly profile?: { readonly label: string; readonly modes: readonly string[]; readonly notes: readonly string[] } | undefined;
}

// `where` is a function: locating a path re-reads the file with positions, which only an error needs.
function portsOrThrow(spec: PortSpec, where: () => string, code: 'CATALOGUE' | 'CLUSTER'): PortRange[] {
  const parsed = parsePortSpec(spec);
  if (typeof parsed === 'string') throw new KubewallError(code, `${where()}: ${parsed}`);
  return parsed;
}

/**
 * Joins fragments into one catalogue; a duplicate id is an error naming both
 * places. Profile entries apply only for their modes; the overrides that
 * fragments carry (add-ons widening an entry) apply once every entry is known.
 */
export function buildCatalogue(fragments: readonly CatalogueFragment[]): Catalogue {
  const byId = new Map<string, CatalogueEntry>();
  for (const fragment of fragments) {
    fragment.entries.forEach((input, index) => {
      if (input.modes && fragment.profile && !input.modes.some((mode) => fragment.profile!.modes.includes(mode))) return;
      const origin = `${fragment.file}: entries[${index}]`;
      const previous = byId.get(input.id);
      if (previous) {
        throw new KubewallError(
          'CATALOGUE',
          `${fragment.locate(['entries', index, 'id'])}: entries[${index}].id: duplicate catalogue id "${input.id}", already defined at ${previous.origin} (give it another id, or change the existing entry with an override)`,
        );
      }
      byId.set(input.id, {
        id: input.id,
        purpose: input.purpose,
        protocols: [...new Set(input.protocols.filter((p): p is Protocol => !isIpProtocol(p)))].sort(),
        ports:
          input.ports === undefined
            ? []
            : portsOrThrow(input.ports, () => `${fragment.locate(['entries', index, 'ports'])}: entries[${index}].ports`, 'CATALOGUE'),
        ipProtocols: [...new Set(input.protocols.filter(isIpProtocol))].sort(),
        roles: ROLES.filter((role) => input.roles.includes(role)),
        peers: [...new Set(input.peers)],
        usedBy: input.usedBy,
        dnatByKubeProxy: input.dnatByKubeProxy ?? false,
        destination: input.destination ?? null,
        source: input.source,
        origin,
        profile: fragment.profile?.label,
      });
    });
  }
  let catalogue: Catalogue = {
    entries: [...byId.values()],
    files: fragments.map((f) => f.file),
    profiles: fragments.flatMap((f) => (f.profile ? [f.profile.label] : [])),
    notes: fragments.flatMap((f) => f.profile?.notes ?? []),
  };
  assertNoConflicts(catalogue);
  for (const fragment of fragments) {
    if (fragment.overrides) catalogue = applyOverrides(catalogue, fragment.overrides, fragment.locate, fragment.file, 'CATALOGUE');
    if (fragment.overridesIfPresent) {
      const present = Object.fromEntries(Object.entries(fragment.overridesIfPresent).filter(([id]) => byId.has(id)));
      catalogue = applyOverrides(catalogue, present, (p) => fragment.locate(['profile', 'cniOverrides', ...p.slice(1)]), fragment.file, 'CATALOGUE');
    }
  }
  return catalogue;
}

/** Changes to entries, keyed by id, as written in a cluster file. */
export type EntryOverrides = Readonly<
  Record<
    string,
    {
      ports?: PortSpec | undefined;
      peers?: readonly PeerClass[] | undefined;
      addPeers?: readonly PeerClass[] | undefined;
      usedBy?: string | undefined;
    }
  >
>;

/**
 * Applies a cluster file's overrides (API server on 443, another NodePort
 * range, NodePorts only from load balancers...) and re-checks conflicts.
 */
export function applyOverrides(
  catalogue: Catalogue,
  overrides: EntryOverrides,
  locate: (path: readonly PropertyKey[]) => string,
  sourceName = 'the cluster file',
  code: 'CLUSTER' | 'CATALOGUE' = 'CLUSTER',
): Catalogue {
  const known = new Set(catalogue.entries.map((e) => e.id));
  for (const id of Object.keys(overrides)) {
    if (!known.has(id)) {
      throw new KubewallError(
        code,
        `${locate(['overrides', id])}: overrides.${id}: unknown catalogue entry "${id}" (expected one of ${[...known].sort().join(', ')})`,
      );
    }
  }
  const entries = catalogue.entries.map((entry) => {
    const override = overrides[entry.id];
    if (!override) return entry;
    if (override.ports !== undefined && entry.ipProtocols.length > 0) {
      throw new KubewallError(
        code,
        `${locate(['overrides', entry.id, 'ports'])}: overrides.${entry.id}.ports: entry "${entry.id}" is IP protocol ${entry.ipProtocols.join(', ')}, which has no ports (override only peers, addPeers or usedBy)`,
      );
    }
    const peers = [...new Set([...(override.peers ?? entry.peers), ...(override.addPeers ?? [])])];
    const changed = override.peers !== undefined || override.addPeers !== undefined;
    const who = override.usedBy ?? [...(override.peers ?? []), ...(override.addPeers ?? [])].join(', ');
    return {
      ...entry,
      ports:
        override.ports === undefined
          ? entry.ports
          : portsOrThrow(override.ports, () => `${locate(['overrides', entry.id, 'ports'])}: overrides.${entry.id}.ports`, code),
      peers,
      usedBy: !changed
        ? entry.usedBy
        : override.peers !== undefined
          ? `${who} (${code === 'CLUSTER' ? 'cluster' : 'profile'} override; catalogue: ${entry.usedBy})`
          : `${entry.usedBy}; ${who}`,
      origin: `${entry.origin}, overridden in ${sourceName}: overrides.${entry.id}`,
    };
  });
  const result = { ...catalogue, entries };
  assertNoConflicts(result);
  return result;
}

function describe(entry: CatalogueEntry, protocol: Protocol | IpProtocol): string {
  if (isIpProtocol(protocol)) return `"${entry.id}" (${entry.origin}) IP protocol ${protocol}`;
  return `"${entry.id}" (${entry.origin}) ports ${formatPortRanges(entry.ports)}/${protocol}`;
}

/** `6443/tcp`, `2379-2380/tcp`, `7946/tcp+udp` or `vrrp`: what an entry opens, in one word. */
export function describeEntryTraffic(entry: CatalogueEntry): string {
  const parts = entry.protocols.length > 0 ? [`${formatPortRanges(entry.ports)}/${entry.protocols.join('+')}`] : [];
  return [...parts, ...entry.ipProtocols].join(' ');
}

/**
 * Two entries may not claim overlapping ports on one protocol for one role:
 * one of them would silently widen or narrow the other's peers.
 */
export function assertNoConflicts(catalogue: Catalogue): void {
  const problems: string[] = [];
  const seen = new Set<string>();
  for (const role of ROLES) {
    const entries = catalogue.entries.filter((e) => e.roles.includes(role));
    for (let i = 0; i < entries.length; i++) {
      for (let j = i + 1; j < entries.length; j++) {
        const a = entries[i]!;
        const b = entries[j]!;
        for (const protocol of [...a.protocols, ...a.ipProtocols]) {
          if (isIpProtocol(protocol) ? !b.ipProtocols.includes(protocol) : !b.protocols.includes(protocol)) continue;
          // An IP protocol has no ports: two entries for one protocol on one role always overlap.
          const overlap = isIpProtocol(protocol) || a.ports.some((ra) => b.ports.some((rb) => rangesOverlap(ra, rb)));
          const key = `${a.id}\0${b.id}\0${protocol}`;
          if (!overlap || seen.has(key)) continue;
          seen.add(key);
          problems.push(
            `catalogue conflict for role ${role}: ${describe(a, protocol)} overlaps ${describe(b, protocol)} (move one of them with an override, or remove one)`,
          );
        }
      }
    }
  }
  if (problems.length > 0) throw new KubewallError('CATALOGUE', problems.join('\n'));
}

/** The entries a node with these roles serves (their union), in catalogue order. */
export function entriesForRoles(catalogue: Catalogue, roles: readonly Role[]): CatalogueEntry[] {
  return catalogue.entries.filter((entry) => entry.roles.some((role) => roles.includes(role)));
}
