import { KubewallError } from '../errors.js';
import { unknownValueMessage } from '../suggest.js';
import type { Backend } from './types.js';

/** The optional sides of a backend (`render` every backend has): diff's host reader, the fleet formats' install, apply. */
export const BACKEND_SIDES = ['hostReader', 'install', 'apply', 'audit'] as const;
export type BackendSide = (typeof BACKEND_SIDES)[number];

/** One line of the registry: the sides the backend declares, and how to load its module. */
export interface BackendEntry {
  readonly sides: readonly BackendSide[];
  /** Without the audit side: why (`render --audit` and `kubewall audit` say it). */
  readonly noAudit?: string;
  load(): Promise<Backend>;
}

/**
 * Every backend kubewall renders for; adding one is a folder of templates, a
 * module and a line here. A module is imported only when its backend is used,
 * so a render does not load the other backends' views, parsers and apply code;
 * the sides are declared here so that `apply` and `diff` know who supports
 * them without loading anyone (test/backends/registry.test.ts holds each
 * module to what its line declares).
 */
export const BACKEND_REGISTRY: Readonly<Record<string, BackendEntry>> = {
  nftables: { sides: ['hostReader', 'install', 'apply', 'audit'], load: async () => (await import('./nftables/index.js')).nftablesBackend },
  iptables: { sides: ['hostReader', 'install', 'apply', 'audit'], load: async () => (await import('./iptables/index.js')).iptablesBackend },
  firewalld: {
    sides: ['hostReader', 'install', 'apply'],
    noAudit:
      "what no rule of the zone accepts is dropped by the zone's target, and firewalld's rich rules can only accept, reject, drop or log: nothing records a packet in a set and lets it through (firewall-cmd --set-log-denied=all logs the drops instead)",
    load: async () => (await import('./firewalld/index.js')).firewalldBackend,
  },
  ufw: {
    sides: ['hostReader', 'install', 'apply'],
    noAudit:
      "the drop is ufw's default incoming policy, and ufw rules can only allow, deny, reject or limit: nothing records a packet in a set and lets it through (ufw logging on logs the blocked packets instead)",
    load: async () => (await import('./ufw/index.js')).ufwBackend,
  },
};

export const BACKEND_NAMES = Object.keys(BACKEND_REGISTRY);

/** The backends that declare `side`, in registry order. */
export function backendsWith(side: BackendSide): string[] {
  return BACKEND_NAMES.filter((name) => BACKEND_REGISTRY[name]!.sides.includes(side));
}

/** Refuses audit mode for a backend without the audit side, saying why. */
export function requireAudit(name: string): void {
  const entry = Object.hasOwn(BACKEND_REGISTRY, name) ? BACKEND_REGISTRY[name] : undefined;
  if (!entry) throw new KubewallError('USAGE', `unknown backend ${JSON.stringify(name)} (expected ${BACKEND_NAMES.join(', ')})`);
  if (!entry.sides.includes('audit')) {
    throw new KubewallError(
      'CAPABILITY',
      `audit mode is not available for the ${name} backend: ${entry.noAudit ?? 'it has no audit side'}; audit with --backend ${backendsWith('audit').join(' or --backend ')}`,
    );
  }
}

/** Loads a backend's module (once: the module cache keeps it). */
export async function getBackend(name: string): Promise<Backend> {
  const entry = Object.hasOwn(BACKEND_REGISTRY, name) ? BACKEND_REGISTRY[name] : undefined;
  if (!entry) {
    throw new KubewallError('USAGE', `--backend: ${unknownValueMessage('backend', name, BACKEND_NAMES)}`);
  }
  return entry.load();
}
